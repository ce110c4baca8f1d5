package pgstore

// DueQuery exposes dueQuery to the tests of the query plans.
var DueQuery = dueQuery

// CountQuery exposes countQuery to the tests of the query plans.
var CountQuery = countQuery
