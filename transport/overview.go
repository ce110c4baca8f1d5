package transport

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// The overview: GET /v1/sites/{site}/overview?<the list's filters>&step=S
// counts the sessions the list would show per hour, day or week of their
// Start, split by state, with those that have errors counted too. See the
// package documentation for the answer.

// overviewFallbackMax bounds the sessions the handler pages through when the
// store cannot count (it does not implement storage.Counter).
const overviewFallbackMax = 10000

// Overview is the answer of GET /v1/sites/{site}/overview: the sessions of
// a site per bucket of their Start (see the package documentation). It is
// plain data, safe to share once returned.
type Overview struct {
	From    time.Time        `json:"from"` // Start of the first bucket
	To      time.Time        `json:"to"`   // end of the last bucket
	Step    string           `json:"step"` // hour, day or week
	StepMs  int64            `json:"stepMs"`
	Buckets []storage.Bucket `json:"buckets"`
	// Complete is false when the handler counted by paging through the
	// store's list and stopped at its bound: the counts are a lower bound.
	Complete bool `json:"complete"`
}

// The times an overview may start and end at.
var (
	minOverviewTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxOverviewTime = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

var overviewSteps = map[string]time.Duration{
	"hour": time.Hour,
	"day":  24 * time.Hour,
	"week": 7 * 24 * time.Hour,
}

// overviewRange completes the range and step of an overview. Without to,
// it is now; without from, 14 days before to (48 hours with step hour).
// Without step, hour for ranges up to 48 hours, else day. A range the
// handler chose is widened to whole steps (UTC); one the client gave is
// kept as it is, the last bucket ending at to.
func overviewRange(q *storage.Query, step string, now time.Time) (string, error) {
	chosen := q.From.IsZero()
	if q.To.IsZero() {
		q.To = now
	}
	if q.From.IsZero() {
		span := 14 * 24 * time.Hour
		if step == "hour" {
			span = 48 * time.Hour
		}
		q.From = q.To.Add(-span)
	}
	if !q.To.After(q.From) {
		return "", &QueryError{"to", "want a time after from"}
	}
	for _, t := range []struct {
		name string
		t    time.Time
	}{{"from", q.From}, {"to", q.To}} {
		if t.t.Before(minOverviewTime) || t.t.After(maxOverviewTime) {
			return "", &QueryError{t.name, "want a time from 1970 to 9998 (the range is 14 days before to without from)"}
		}
	}
	if step == "" {
		step = "day"
		if q.To.Sub(q.From) <= 48*time.Hour {
			step = "hour"
		}
	}
	d, ok := overviewSteps[step]
	if !ok {
		return "", &QueryError{"step", "want hour, day or week"}
	}
	if chosen {
		q.From = q.From.UTC().Truncate(d)
		if t := q.To.UTC().Truncate(d); t.Before(q.To) {
			q.To = t.Add(d)
		}
	}
	if _, err := storage.CheckOverview(*q, d); err != nil {
		return "", &QueryError{"from", "the range holds too many buckets of a " + step + "; narrow it or use a larger step"}
	}
	return step, nil
}

// overview answers GET /v1/sites/{site}/overview.
func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	site, ok := pathSite(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	q, err := ParseQuery(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q.Site, q.Cursor, q.Limit = site, "", 0
	step, err := overviewRange(&q, v.Get("step"), time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := h.rec.Site(r.Context(), site); err != nil {
		h.fail(w, r, site, err)
		return
	}
	d := overviewSteps[step]
	ans := Overview{From: q.From, To: q.To, Step: step, StepMs: d.Milliseconds(), Complete: true}
	if c, ok := h.rec.Store().(storage.Counter); ok {
		ans.Buckets, err = c.Count(r.Context(), q, d)
	} else {
		ans.Buckets, ans.Complete, err = h.countByListing(r, q, d)
	}
	if err != nil {
		if errors.Is(err, storage.ErrInvalidOverview) {
			writeError(w, http.StatusBadRequest, "from: "+err.Error())
			return
		}
		h.fail(w, r, site, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// countByListing counts the sessions of q by paging through the list, for
// stores that cannot count, up to overviewFallbackMax sessions: complete is
// false when it stopped there.
func (h *handler) countByListing(r *http.Request, q storage.Query, step time.Duration) (buckets []storage.Bucket, complete bool, err error) {
	buckets, err = storage.CountSessions(q, step, func(func(*storage.Session) bool) {})
	if err != nil {
		return nil, false, err
	}
	q.Limit = 500
	seen := 0
	for {
		page, err := h.rec.Sessions(r.Context(), q)
		if err != nil {
			return nil, false, err
		}
		for i := range page.Sessions {
			storage.AddToBucket(buckets, q.From, step, &page.Sessions[i])
		}
		seen += len(page.Sessions)
		if page.Next == "" {
			return buckets, true, nil
		}
		if seen >= overviewFallbackMax {
			return buckets, false, nil
		}
		q.Cursor = page.Next
	}
}

// Overview counts the sessions of site that match q (q.Site, Cursor and
// Limit are ignored) per hour, day or week of their Start: step is "hour",
// "day", "week" or "" (the handler chooses). See the package documentation
// for the defaults of a zero q.From or q.To.
func (c *Client) Overview(ctx context.Context, site string, q storage.Query, step string) (Overview, error) {
	v := queryValues(q)
	v.Del("cursor")
	v.Del("limit")
	if step != "" {
		v.Set("step", step)
	}
	var o Overview
	err := c.do(ctx, http.MethodGet, "/v1/sites/"+url.PathEscape(site)+"/overview", v, nil, true,
		func(r io.Reader) error { return json.NewDecoder(r).Decode(&o) })
	return o, err
}
