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
//  5. Encode: the events become one compressed chunk; with a store that
//     keeps assets, its large repeated values are stored once per site
//     (see # Assets).
//  6. Store: the chunk is appended, once, under (site, session, window, seq)
//     and the session's metadata is written.
//
// [Recorder.Sweep] ends idle sessions, resolves the ones still pending and
// deletes those past their retention.
//
// # Assets
//
// When the store implements [storage.AssetStore], the large values of the
// masked events that repeat across a site's sessions (style sheets in
// _cssText and style rules, data URLs, big text, and the DOM trees of
// snapshots once those are cut out) are stored once per site under a
// SHA-256 over the site and the content, and chunks reference them.
// Reading restores them, verifying each hash: [Recorder.Events] returns
// byte for byte what it returned before assets, and chunks written before
// them still read. An asset lives as long as a session that uses it: the
// store frees it with the last one ([Recorder.Delete], retention, drops),
// so deleting a session leaves none of its own data behind. A site may
// store at most [Options].AssetBudget bytes of new assets an hour; beyond
// it values stay inline. Minified style sheets are cached per site and
// policy ([Options].StyleCache), so a style sheet seen before costs a hash
// and a lookup; [SiteStats] counts hits, misses and assets. Decoding keeps
// the unescaped text of the sheets it has seen lately too (16 MiB per
// process, each entry checked against the bytes it came from), so a sheet
// every visit sends is unescaped once.
//
// # Events
//
// [DecodeBatch] reads an ingest body into a [Batch] of rrweb 2.x [Event]s in
// one pass ([DecodeBatchOwned] without copying a body the caller hands
// over, as the HTTP handler does); [Batch.Validate] checks the ids and, by event type and
// incremental [Source], the fields of the rrweb event model, written once
// in one table that the typed data structs are held to; every error is a
// [*ValidationError] whose path names the field
// ("events[12].data.source: want an integer"). Decoding is lossless: an
// event's Data stays the JSON it arrived as, and unknown event types,
// sources and keys at any level pass through untouched (what masking then
// keeps of them is in the Privacy section). Events packed by
// @rrweb/packer are unpacked on the way in ([UnpackEvent]), with the
// inflated size bounded. The typed accessors ([Event.Meta],
// [Event.Mutation], [Event.Input], [Event.Console], ...) decode Data for
// reading, matching keys exactly as browsers do. A batch holds at most
// [MaxBatchEvents] events and DOM nodes nest at most [MaxNodeDepth] deep.
//
// # Sites
//
// Everything a site owner would change is data: [LoadSites] reads the JSON
// document of API.md, and [Site] holds the same as Go values.
//
// # Privacy
//
// The server never trusts the browser to have masked: every event is masked
// by the site's [Policy] before anything of it is stored, pending sessions
// included, whatever rrweb's options were on the page. [DefaultPolicy] is
// strict: every input masked, the text of .rr-mask and [data-private]
// elements masked, iframe, frame, object, embed and .rr-block blocked, card
// numbers scrubbed.
//
// What the masker does not understand is refused, masked, scrubbed or
// dropped, never stored as sent. Per event type:
//
//	every event            top-level keys other than type, data, timestamp,
//	                       delay (a number) and v ("v1", the packer's mark)
//	                       are dropped
//	FullSnapshot           masked: text, input values, text-carrying
//	                       attributes, checked and selected state, by the
//	                       rules below; blocked elements emptied; URLs
//	                       scrubbed; refused: attribute values that are
//	                       objects or arrays
//	Mutation (source 0)    adds, texts and attribute changes as snapshots;
//	                       dropped: adds under blocked or unknown parents,
//	                       text and attribute changes inside blocked
//	                       elements; refused: attribute values that are
//	                       objects or arrays
//	Input (source 5)       text masked (or scrubbed when the element is not
//	                       masked); isChecked false when masked
//	CanvasMutation (9)     dropped for a canvas in a blocked, masked or
//	                       unsure place or one the mirror does not know;
//	                       else every string argument scrubbed
//	Log (source 11)        scrubbed like console records
//	sources 1-4, 6-8, 10,  kept: pointer and scroll positions, node ids,
//	12-16                  sizes, media state, CSS, fonts, selections,
//	                       custom element names
//	Meta                   href scrubbed as a URL
//	Custom                 payload scrubbed ($pageview href as a URL)
//	Plugin console@1       each argument and trace line scrubbed
//	anything else          other plugins, other sources, DomContentLoaded,
//	                       Load, Asset and unknown types: every string
//	                       (object keys included) and number scrubbed; an
//	                       object that names (by a key id, ...Id, ids or
//	                       ...Ids) a node in a blocked, masked or unsure
//	                       place, or a masked input, is dropped, and so is
//	                       the event when its data does
//
// Guaranteed, for every event the Recorder stores:
//
//   - Input values (Input events, "value" in snapshots and attribute
//     changes, textarea text, contenteditable text) are masked when
//     MaskAllInputs or MaskInputTypes select the element, when it is
//     inside a MaskTextSelector match, and always for password inputs
//     (also after a show-password toggle changed the type), for inputs
//     whose autocomplete is cc-*, current-password or new-password, and
//     inside blocked elements. Masked values keep their length as '*'
//     (text keeps its whitespace), as rrweb does.
//   - Of a masked select, the choice is masked and the menu kept: the
//     select's value, the "selected" state of its options and its Input
//     events are masked, so a replay shows the menu with its default; the
//     options' labels and values are page content and stay (masked only
//     inside a MaskTextSelector match).
//   - The checked state of a masked input (a checkbox or radio answers as
//     much as a text does) is hidden: "checked" is removed from snapshots,
//     set to null (removed) in attribute changes, and Input events say
//     isChecked false; "selected" on the options of a masked select
//     likewise. Unmasked inputs keep their state.
//   - Text nodes, text changes and the attributes that carry text (title,
//     placeholder, alt, aria-label, label, value, data-*, any rr_* the page
//     chose, ...) inside a MaskTextSelector match are masked, unless
//     UnmaskSelector matches, whatever the selectors read: the mirror
//     matches on the page's values, the store gets the masked ones. An
//     element whose stored attributes thus differ from what the selectors
//     read is marked unsure (everything below it masked, a block kept)
//     until the next full snapshot, so that a mirror rebuilt from the
//     stored chunks never masks less; with sibling selectors, its parent
//     too. class, id, type, name, role, lang, autocomplete and
//     contenteditable are kept as they are, and so are the rr_* attributes
//     rrweb writes itself (sizes, scroll offsets, media state, a dialog's
//     mode).
//   - A BlockSelector match is stored as an empty placeholder: tag, class and
//     rrweb's rr_width/rr_height only. Whatever is later added inside it is
//     dropped, including attached iframe documents; text and attribute
//     changes inside it are dropped and its Input events masked.
//   - rr_dataURL (a canvas's or an inlined image's pixels) is dropped in a
//     blocked, masked or unsure place, and so are canvas mutations there.
//   - Selectors are CSS, evaluated with cascadia over a per-window mirror of
//     the DOM, and re-evaluated when attributes change or nodes move,
//     position-dependent ones (:first-child, :nth-*, +, ~, also inside a
//     descendant chain) included: past the bound on siblings built for
//     matching, the subtree is masked in full. A node id the mirror does
//     not know (a gap in the batches, a node it could not hold) is masked,
//     and an add under an unknown parent is dropped.
//   - Scrub detectors (card numbers that pass the Luhn check, email
//     addresses, named regular expressions) run over text not otherwise
//     masked, unmasked input values, URLs, custom event payloads ($error
//     message and stack included), console plugin records (each argument
//     stays valid JSON), canvas arguments and everything of the events not
//     modelled. ScrubQueryParams values become "***" in every URL seen:
//     Meta and $pageview hrefs, href, src, action, srcset attributes.
//   - Session attrs (replay.identify) go through the scrub detectors, keys
//     and values, before they reach the session's metadata; the value of
//     "userId" is kept as it is, because the host sets it on purpose and the
//     read API filters on it. Do not put a secret in userId.
//   - The mirror survives restarts and several processes: masked events
//     carry the server's rr_mask marker on the elements the selectors
//     matched, so a mirror rebuilt from the stored chunks masks the next
//     batch as the one that masked the previous batch would have (or
//     more), as long as no batch of the window since its last full
//     snapshot is missing.
//   - Gaps fail closed, until the next full snapshot. When a batch below
//     the one being masked is missing (lost, or overtaken: a pagehide
//     beacon can arrive before a keepalive fetch of a lower seq), the
//     mirror may have missed a change, and the batch is masked as if the
//     policy selected everything up to its first FullSnapshot: every text
//     node, text change, Input value, checked state and text-carrying
//     attribute (the CSS and script text of snapshots and adds excepted),
//     structure kept. What it touches is marked unsure, so it stays masked
//     even once the missing batch arrives. A FullSnapshot rebuilds the
//     mirror from the whole page: from there on masking is normal again,
//     in the same batch, in later batches, and in mirrors rebuilt from the
//     stored chunks after a restart or in another process. A batch that
//     arrives late is masked with a mirror of the chunks below it only.
//   - Node ids and the structure are kept; events are dropped only as the
//     table says.
//
// Not guaranteed:
//
//   - Text that no selector selects is stored as the page showed it (only the
//     scrub detectors run on it), and so are the page's URLs apart from the
//     named query parameters. The <title> is text like any other.
//   - Text already stored before an element started to match a selector
//     stays as it was stored; only later changes are masked.
//   - Images (src URLs, rr_dataURL outside masked places), canvas frames
//     outside masked places, fonts, CSS (_cssText, style attributes and
//     rules, including content: strings) and the network plugin's bodies
//     are not inspected beyond the scrub detectors; CSS is only minified,
//     and keeps every rule (empty ones too) in order, since rrweb's
//     StyleSheetRule and StyleDeclaration events address rules by index.
//   - :has, :contains, :matches and :empty are refused, because the server
//     keeps no text.
//   - A page can still send a value inside a field the policy does not name
//     (a free-text div, a data attribute of an unmasked element); choose
//     selectors for what the site shows.
//
// [Policy.MaskHTML] masks HTML handed to the library by the same rules,
// with golang.org/x/net/html, and minifies it.
//
// # Targeting
//
// A site's [Targeting] decides on the server which sessions are kept, and
// re-decides with every batch. A session is kept when any rule holds;
// without rules every session is kept. Rules are JSON (the "targeting"
// object of a site) or the same as Go values ([Rule], [Cond]):
//
//	{"all": [c, ...]}          every condition holds     Cond{All: []Cond{...}}
//	{"any": [c, ...]}          at least one holds        Cond{Any: []Cond{...}}
//	{"not": c}                 c fails                   Cond{Not: &c}
//	{"error": true}            a JS error happened: a "$error" custom event
//	                           or a console error of rrweb's console plugin
//	{"visited": "/checkout*"}  a page's path matched (the whole URL when the
//	                           glob has a scheme); "*" matches anything, "/"
//	                           included; the rest is literal
//	{"event": "signup"}        a custom event with this exact tag
//	{"device": "mobile"}       desktop, mobile, tablet or bot
//	{"os": "iOS"}              exact, case-insensitive, never a substring
//	{"browser": "Safari"}      exact, case-insensitive, never a substring
//	{"sample": 0.05}           5 % of sessions, by a fixed 64-bit hash of the
//	                           session id: the same id always gets the same
//	                           answer, in every process
//	{"minDuration": "30s"}     the events span at least this long
//	{"rageClick": true}        3 clicks within 1 s inside 30 px ([RageClick])
//	{"attr": {"plan": "pro"}}  the batches' attrs have exactly these values
//
// Evaluation is three-valued: a condition holds, fails, or is not yet
// decided. Device, OS, browser and sample are known from the session's
// start. The others can still become true while the session is live, so
// while it is live their "false" is "not yet", and so is "not" of them. A
// session is pending while no rule holds and some rule is not yet decided;
// it is kept as soon as one rule holds (matchedRules then lists every rule
// that held, and grows as more do) and dropped as soon as every rule fails:
// its chunks are deleted, the batch is answered record false, and later
// batches are refused ([Recorder.Refuses] tells without decoding events).
// A session ends when no batch came for the idle timeout (30 minutes by
// default) or it outlived the maximum duration (4 hours): [Recorder.Sweep]
// then evaluates the rules with the session closed, where what did not
// happen never will, and keeps or deletes it.
//
// When every rule already fails given what is known at the start, GET
// /v1/config answers record false ([Recorder.Config]) and the browser never
// records. Pending data is bounded per site (maxPendingBytes, 256 MiB by
// default): past the bound the oldest pending sessions are dropped first
// and counted in [Recorder.Stats].
//
// Worked examples with the two rules of the demo:
//
//	"targeting": {"rules": [
//	  {"name": "errors", "when": {"error": true}},
//	  {"name": "abandoned checkout", "when": {"all": [
//	    {"visited": "/checkout*"}, {"not": {"visited": "/thanks*"}}]}}],
//	 "idleTimeout": "30m"}
//
// With these rules:
//
//   - A visit whose second batch carries a "$error" event: pending after
//     the first batch, kept with matchedRules ["errors"] after the second;
//     the first batch stays stored.
//   - A visit that reaches /checkout/pay and leaves: "not visited
//     /thanks*" cannot be known while it is live, so it stays pending;
//     30 minutes after its last batch Sweep keeps it with matchedRules
//     ["abandoned checkout"].
//   - A visit that goes on to /thanks: "abandoned checkout" now fails
//     for good, "errors" is still open; if no error comes, Sweep deletes it
//     when it ends.
//   - {"all": [{"device": "mobile"}, {"sample": 0.05}]} keeps 5 % of mobile
//     sessions; a desktop browser or a session outside the sample is told
//     record false by /v1/config before it sends anything.
//
// Facts are the same whatever the batch boundaries and whatever the order in
// which a session's windows (page loads, tabs) send: pages are ordered by
// event time, the first five error messages are the first by time, and
// active time (the gaps between user-input events of sources 1-5, gaps of
// 10 s or more left out) is computed over all windows together. The
// reserved tags "$pageview" and "$error" feed pages and errors and are not
// counted among the custom events.
package replay
