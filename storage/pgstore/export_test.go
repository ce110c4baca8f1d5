package pgstore

// DueQuery exposes dueQuery to the tests of the query plans.
var DueQuery = dueQuery
