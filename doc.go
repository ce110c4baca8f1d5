// Package replay gives a Go web application session replay: browsers record
// with rrweb and send their events to handlers the application mounts
// (package transport); a [Recorder] masks what the site's privacy policy
// protects, keeps the facts of every visit, decides which visits to keep, and
// stores them in a [storage.Store] of the application's choice.
//
// # The pipeline
//
// [Recorder.Ingest] runs each batch of events through six steps, in order:
//
//  1. Validate: the batch must be rrweb-shaped; errors name the field
//     ([ValidationError]).
//  2. Mask: the site's [Policy] is enforced on every event, before anything
//     is stored.
//  3. Facts: the session's summary (pages, errors, clicks, device, ...) is
//     brought up to date.
//  4. Target: the site's rules decide whether the session is kept, dropped,
//     or still pending.
//  5. Encode: the events become one compressed chunk.
//  6. Store: the chunk is appended, once, under (site, session, window, seq)
//     and the session's metadata is written.
//
// [Recorder.Sweep] ends idle sessions, resolves the ones still pending and
// deletes those past their retention.
//
// # Sites
//
// Everything a site owner would change is data: [LoadSites] reads the JSON
// document of API.md, and [Site] holds the same as Go values.
package replay
