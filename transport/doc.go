// Package transport puts a [replay.Recorder] on HTTP: [NewHandler] serves the
// wire contract of API.md (ingest, config, recorder.js, the read API and the
// dashboard), and [Client] speaks it from Go, for tools and tests.
//
// The endpoints, relative to where the handler is mounted:
//
//	POST   /v1/ingest                              batches from browsers (public)
//	GET    /v1/config?site=S&session=ID            recording options (public)
//	GET    /v1/recorder.js                         the browser recorder (public)
//	GET    /v1/dashboard-config                    asset URLs of the dashboard (public)
//	GET    /v1/sites/{site}/sessions?filters       list sessions (authorized)
//	GET    /v1/sites/{site}/sessions/{id}          one session (authorized)
//	GET    /v1/sites/{site}/overview?filters&step  sessions per hour, day or week (authorized)
//	GET    /v1/sites/{site}/sessions/{id}/events   its events, for rrweb-player (authorized)
//	GET    /v1/sites/{site}/sessions/{id}/views    who read its events, and when (authorized)
//	DELETE /v1/sites/{site}/sessions/{id}          delete it (authorized)
//	GET    /                                       the dashboard
//
// Every error answer has the body {"error": "<what is wrong, naming the
// field>"} and the status API.md gives it.
//
// # Mounting
//
// The handler's paths start at its root, so the host chooses the prefix:
//
//	mux.Handle("/replay/", http.StripPrefix("/replay", transport.NewHandler(rec, opts)))
//
// Strip the prefix without its trailing slash, as above: the handler then
// sees "/v1/ingest" and "/" for the dashboard. The handler never answers
// with a redirect, so no answer sends a client outside the mount point;
// paths that are not clean ("//x", "/a/../b", a trailing slash) are 404.
// Host pages load the recorder with one tag:
//
//	<script src="/replay/v1/recorder.js" data-site="demo" defer></script>
//
// # Who viewed a replay
//
// Each successful read of a session's events (GET .../events) is recorded
// with the principal the [Authorizer] named and the server's time:
// Authorizers that implement [PrincipalAuthorizer] (such as [PrincipalFunc]
// and [BearerToken], whose principal is always [BearerPrincipal]) name one,
// others are recorded with "". GET .../views answers
//
//	{"views": [{"principal": "alice", "at": "2026-03-01T12:00:00.123Z"}, ...], "durable": true}
//
// oldest first. The log is kept by the store when it implements
// [storage.ViewLog] (memstore does), else in the handler's memory
// ("durable": false: lost on restart, not shared between processes, bounded
// to the newest 100 views of the last 10 000 sessions viewed). Deleting a
// session deletes its views. The endpoint answers GET only: clients cannot
// write the log, only reading events adds to it.
//
// # Overview
//
// GET /v1/sites/{site}/overview takes the filters of the session list
// (limit and cursor aside) and counts the sessions they select per bucket of
// their Start, for the chart above the dashboard's list:
//
//	{"from": "2026-03-01T00:00:00Z", "to": "2026-03-15T00:00:00Z", "step": "day", "stepMs": 86400000,
//	 "buckets": [{"start": "2026-03-01T00:00:00Z", "kept": 12, "pending": 3, "errors": 2}, ...],
//	 "complete": true}
//
// Every bucket from "from" to "to" is there, empty ones too; errors counts
// the sessions of the bucket that had an error. step is hour, day or week;
// without it, hour for ranges up to 48 hours, else day. Without to it is
// now, without from 14 days (48 hours for step=hour) before to; a range
// the handler chose is widened to whole steps in UTC, one the client gave
// is kept (the dashboard sends its reader's local days). At most
// [storage.MaxBuckets] buckets; times from 1970 to 9998. The store counts
// when it implements [storage.Counter] (memstore does); otherwise the
// handler pages through the store's list, up to 10 000 sessions, and answers
// "complete": false when it stopped there.
//
// # Security
//
// Ingest and config are public: browsers of any visitor call them. Their
// answers carry CORS headers only for the origins the site lists; a request
// with an Origin header that is not listed is refused with 403, and requests
// without one (servers, tools) are not checked. Bodies are bounded on the
// wire ([Options].MaxBodyBytes) and after decompression
// ([Options].MaxDecodedBytes), so a gzip bomb costs at most the limit; a
// per-client rate limit is available ([Options].IngestRate).
//
// # Memory under load
//
// The decoded limit of one body, [DefaultMaxDecodedBytes], is the wire
// contract's 100 MiB. recorder.js sends far less: it flushes a batch as soon
// as it holds 512 KiB of events, so a batch is 512 KiB plus its last event,
// which may be a full snapshot with the page's stylesheets inlined (a few MB
// on heavy pages); a host that takes only recorder.js batches may set
// [Options].MaxDecodedBytes to 16 MiB.
// Across requests, the decoded bytes being handled at once are bounded by
// [Options].MaxInFlightBytes ([DefaultMaxInFlightBytes], 32 MiB): a body
// is counted before it is inflated (by the size its gzip trailer claims,
// checked once inflated) until its answer is written, and a body that does
// not fit is answered 503 with Retry-After: 1, which recorder.js honours by
// sending it again a second later. The handler's memory peaks at about ten
// times the bytes in flight (the body, its copy, the decoded and masked
// events, the stored chunk; measured with internal/load on the recorded
// corpus: 64 browsers, 430 MB peak RSS at 32 MiB, 820 MB at 128 MiB).
//
// Batches of a session that was dropped or deleted are refused from the
// envelope alone: the site and session, which recorder.js writes first, are
// read and the events are neither decoded nor validated, only counted for
// the answer.
//
// The read API has no anonymous default: without an [Authorizer] it answers
// 403. [BearerToken] compares tokens in constant time. Tokens travel in the
// Authorization header only, never in URLs.
//
// Recorded pages are hostile content. The dashboard is served with a strict
// Content-Security-Policy (scripts from the handler itself and exactly the
// configured rrweb-player URL, no plugins, no base URL, no framing),
// nosniff, no referrer and X-Frame-Options DENY; rrweb-player rebuilds the
// recorded page in a sandboxed iframe without scripts. The rrweb and
// rrweb-player URLs default to versions pinned on jsDelivr; hosts that
// cannot depend on a CDN serve the files themselves and set the URLs in
// [Options].
package transport
