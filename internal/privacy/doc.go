// Package privacy is the engine that masks recorded events by a site's
// privacy policy before anything of them is stored.
//
// [Compile] checks a [Policy] and makes a [Masker] of it. A [Mirror] is the
// server's copy of one window's DOM: [Mirror.MaskBatch] masks the events of
// one batch in place with it (and keeps it current for the next batch), and
// [Mirror.ApplyStored] rebuilds it from events as they were stored.
// [Masker.MaskHTML] masks an HTML document by the same rules, and
// [Masker.ScrubAttrs] runs the scrub detectors over session attributes.
// The root package's documentation describes, per event type, what is
// masked, scrubbed, dropped or refused.
//
// A Masker is immutable and safe for concurrent use; a Mirror is used by
// one goroutine at a time.
package privacy
