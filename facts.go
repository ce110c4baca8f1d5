package replay

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/storage"
)

// Facts are folded in batch by batch and must come out the same whatever the
// batch boundaries and whatever the order in which the windows' batches
// arrive: everything order-dependent is placed by event timestamp, and what
// must survive between batches lives in the session's Opaque state.

// Bounds of the facts, so a hostile session cannot grow its metadata without
// limit. Past them the facts stop growing; counts keep counting.
const (
	maxPages         = 1000 // page runs in Pages
	maxErrorMessages = 5    // ErrorMessages: the first, by timestamp
	maxMessageRunes  = 300  // each error message is cut to this
	maxEventTags     = 200  // distinct custom event tags
	maxTagBytes      = 100  // longer custom event tags are ignored
	maxAttrs         = 64   // distinct attrs keys
	maxAttrBytes     = 1024 // attrs keys and values longer than this are cut
	maxWindowIDs     = 1000 // WindowIDs listed (and Windows counted)
	maxRageWindows   = 16   // windows with a rage-click burst in progress
	maxActiveRuns    = 64   // open active-time runs; older ones are closed
)

// activeGap is the longest gap between two user-input events that counts as
// active time; longer gaps are left out, as rrweb's skip-inactive does (it
// uses the same 10 s threshold).
const activeGap = 10 * time.Second

// Reserved custom event tags sent by recorder.js. They feed Pages and
// Errors and are not counted in Events, which lists the application's own
// tags (window.replay.event).
const (
	tagPageview = "$pageview"
	tagError    = "$error"
)

// factState is the part of the facts that must survive between batches but
// is not a fact itself. It is stored as JSON in Session.Opaque.
type factState struct {
	V int `json:"v"`
	// PageTimes holds the first and last timestamp (ms) of each run of
	// Pages, parallel to Session.Pages.
	PageTimes [][2]float64 `json:"pt,omitempty"`
	// ErrorTimes holds the timestamp of each of Session.ErrorMessages.
	ErrorTimes []float64 `json:"et,omitempty"`
	// ViewportTime is the timestamp of the viewport fact.
	ViewportTime float64 `json:"vt,omitempty"`
	// Active holds the open runs of user input as [first, last+activeGap]
	// in ms, sorted and disjoint; ActiveClosed is the active ms of runs
	// closed to bound the list, and ActiveFloor the end of the last
	// closed run (input before it is no longer placed).
	Active       [][2]float64 `json:"ar,omitempty"`
	ActiveClosed float64      `json:"ac,omitempty"`
	ActiveFloor  float64      `json:"af,omitempty"`
	// Rage holds the click burst in progress per window.
	Rage map[string]*rageBurst `json:"rb,omitempty"`
	// UA is true once a User-Agent was read.
	UA bool `json:"ua,omitempty"`
	// Seqs holds, per window, the runs [first, last] of batch seqs whose
	// facts are counted, sorted and disjoint (factseqs.go).
	Seqs map[string][][2]int `json:"sq,omitempty"`
}

// rageBurst is a run of clicks close in time and space to its first click.
type rageBurst struct {
	T0    float64 `json:"t"`
	X0    float64 `json:"x"`
	Y0    float64 `json:"y"`
	HasXY bool    `json:"p,omitempty"`
	N     int     `json:"n"`
}

const factStateVersion = 1

// loadFactState reads the state kept in s.Opaque. A missing or unreadable
// state starts afresh, fitted to the facts already in s.
func loadFactState(s *storage.Session) *factState {
	st := &factState{}
	if len(s.Opaque) > 0 {
		if err := json.Unmarshal(s.Opaque, st); err != nil || st.V != factStateVersion {
			st = &factState{}
		}
	}
	st.V = factStateVersion
	for w, b := range st.Rage {
		if b == nil {
			delete(st.Rage, w)
		}
	}
	if len(st.PageTimes) != len(s.Pages) {
		// Pages of unknown time sort before every new one, in their order.
		st.PageTimes = make([][2]float64, len(s.Pages))
	}
	if len(st.ErrorTimes) != len(s.ErrorMessages) {
		st.ErrorTimes = make([]float64, len(s.ErrorMessages))
	}
	return st
}

func (st *factState) save(s *storage.Session) {
	b, err := json.Marshal(st)
	if err == nil {
		s.Opaque = b
	}
}

// updateFacts folds a batch into the session's facts, with st the state
// loadFactState read of s. The events are already masked: URLs and error
// messages are scrubbed.
func (r *Recorder) updateFacts(s *storage.Session, st *factState, b *Batch, from Client, now time.Time) {
	st.addSeq(b.Window, b.Seq, !slices.Contains(s.WindowIDs, b.Window))
	s.LastSeen = now
	s.Ended = false
	s.EventCount += len(b.Events)
	s.Bytes += int64(b.Bytes)
	if !slices.Contains(s.WindowIDs, b.Window) && len(s.WindowIDs) < maxWindowIDs {
		s.WindowIDs = append(s.WindowIDs, b.Window)
	}
	s.Windows = len(s.WindowIDs)
	for _, k := range slices.Sorted(maps.Keys(b.Attrs)) {
		if _, have := s.Attrs[k]; !have && len(s.Attrs) >= maxAttrs {
			continue
		}
		if s.Attrs == nil {
			s.Attrs = make(map[string]string)
		}
		s.Attrs[truncateBytes(k, maxAttrBytes)] = truncateBytes(b.Attrs[k], maxAttrBytes)
	}
	if !st.UA && from.UserAgent != "" {
		st.UA = true
		c := parseUserAgent(from.UserAgent)
		s.Device, s.OS, s.Browser = c.Device, c.OS, c.Browser
	}

	for i := range b.Events {
		e := &b.Events[i]
		ts := e.Timestamp
		if math.IsNaN(ts) || math.IsInf(ts, 0) {
			continue
		}
		t := e.Time()
		if s.Start.IsZero() || t.Before(s.Start) {
			s.Start = t
		}
		if t.After(s.End) {
			s.End = t
		}
		r.eventFacts(s, st, e, b.Window)
	}
	if !s.Start.IsZero() {
		s.DurationMs = s.End.Sub(s.Start).Milliseconds()
	}
	if len(s.Pages) > 0 {
		s.EntryURL = s.Pages[0]
	}
	s.ActiveMs = st.activeMs()
	st.save(s)
}

// eventFacts folds one event into the facts. It reads the event's tree,
// which masking left masked, or when it has none its Data (masked too).
// Events that do not have the shape the facts read are skipped.
func (r *Recorder) eventFacts(s *storage.Session, st *factState, e *Event, window string) {
	ts := e.Timestamp
	switch e.Type {
	case Meta, Custom, Plugin:
	case IncrementalSnapshot:
		source, err := e.Source()
		if err != nil {
			return
		}
		if source >= SourceMouseMove && source <= SourceInput {
			st.addActive(ts)
		}
		if source != SourceMouseInteraction && source != SourceViewportResize && source != SourceLog {
			return // the facts read nothing else of incremental snapshots
		}
	default:
		return // nor of other events
	}
	data, err := e.readTree()
	if err != nil {
		return
	}
	switch e.Type {
	case Meta:
		m, err := treeAs[MetaData](data)
		if err != nil {
			return
		}
		if m.Href != "" {
			addPage(s, st, ts, m.Href)
		}
		if m.Width > 0 || m.Height > 0 {
			setViewport(s, st, ts, m.Width, m.Height)
		}
	case Custom:
		tag, ok := data.Get("tag").(string)
		if !ok {
			return
		}
		payload, _ := data.Get("payload").(*jsonx.Object)
		switch tag {
		case tagPageview:
			if href, _ := payload.Get("href").(string); href != "" {
				addPage(s, st, ts, strings.Clone(href))
			}
		case tagError:
			msg, _ := payload.Get("message").(string)
			if msg == "" {
				msg = "Error"
			}
			addError(s, st, ts, msg)
		default:
			if tag == "" || len(tag) > maxTagBytes {
				return
			}
			if s.Events[tag] == 0 && len(s.Events) >= maxEventTags {
				return
			}
			if s.Events == nil {
				s.Events = make(map[string]int)
			}
			s.Events[strings.Clone(tag)]++
		}
	case Plugin:
		if plugin, _ := data.Get("plugin").(string); plugin == ConsolePlugin {
			if msg, ok := consoleError(data.Get("payload")); ok {
				addError(s, st, ts, msg)
			}
		}
	case IncrementalSnapshot:
		switch source, _ := sourceOf(data); source {
		case SourceMouseInteraction:
			m, err := treeAs[MouseInteractionData](data)
			if err == nil && m.Type == Click {
				s.Clicks++
				if st.click(window, ts, m.X, m.Y, r.opts.RageClick) {
					s.RageClicks++
				}
			}
		case SourceViewportResize:
			if m, err := treeAs[ViewportResizeData](data); err == nil {
				setViewport(s, st, ts, m.Width, m.Height)
			}
		case SourceLog:
			if msg, ok := consoleError(data); ok {
				addError(s, st, ts, msg)
			}
		}
	}
}

// consoleError returns the message of a console record (a decoded
// ConsolePayload) at level error: its arguments, each decoded from the JSON
// string the plugin made of it, joined by spaces.
func consoleError(payload any) (string, bool) {
	p, err := treeAs[ConsolePayload](payload)
	if err != nil || p.Level != "error" {
		return "", false
	}
	var parts []string
	for _, s := range p.Payload {
		// A logged string is JSON text of a string; show it unquoted.
		if strings.HasPrefix(s, `"`) {
			if inner, err := jsonx.Decode([]byte(s)); err == nil {
				s = inner.(string)
			}
		}
		parts = append(parts, s)
		if len(parts) > 8 {
			break
		}
	}
	msg := strings.Join(parts, " ")
	if msg == "" {
		msg = "console error"
	}
	return msg, true
}

// addPage places a visit of href at ts among the runs of pages: a run is
// consecutive visits of one URL (a checkout's repeated Meta, or a
// $pageview and the Meta of the same load, count once).
func addPage(s *storage.Session, st *factState, ts float64, href string) {
	i, _ := slices.BinarySearchFunc(st.PageTimes, ts, func(pt [2]float64, t float64) int {
		if pt[0] <= t {
			return -1
		}
		return 1
	}) // i: first run that starts after ts
	if i > 0 && ts <= st.PageTimes[i-1][1] {
		// Inside run i-1.
		if s.Pages[i-1] == href {
			return
		}
		if len(s.Pages)+2 > maxPages {
			return
		}
		// Split it around the new visit.
		p, pt := s.Pages[i-1], st.PageTimes[i-1]
		s.Pages = slices.Insert(s.Pages, i, href, p)
		st.PageTimes[i-1] = [2]float64{pt[0], pt[0]}
		st.PageTimes = slices.Insert(st.PageTimes, i, [2]float64{ts, ts}, [2]float64{pt[1], pt[1]})
	} else if i > 0 && s.Pages[i-1] == href {
		st.PageTimes[i-1][1] = ts
	} else if i < len(s.Pages) && s.Pages[i] == href {
		st.PageTimes[i][0] = ts
	} else {
		if len(s.Pages) >= maxPages {
			return
		}
		s.Pages = slices.Insert(s.Pages, i, href)
		st.PageTimes = slices.Insert(st.PageTimes, i, [2]float64{ts, ts})
	}
	// Merge neighbours that became one run.
	for j := 1; j < len(s.Pages); j++ {
		if s.Pages[j] == s.Pages[j-1] {
			st.PageTimes[j-1][1] = max(st.PageTimes[j-1][1], st.PageTimes[j][1])
			s.Pages = slices.Delete(s.Pages, j, j+1)
			st.PageTimes = slices.Delete(st.PageTimes, j, j+1)
			j--
		}
	}
}

// addError counts an error and keeps its message when it is among the first
// maxErrorMessages by timestamp.
func addError(s *storage.Session, st *factState, ts float64, msg string) {
	s.Errors++
	msg = strings.Clone(truncateRunes(msg, maxMessageRunes)) // not the event's JSON
	i, _ := slices.BinarySearchFunc(st.ErrorTimes, ts, func(t, x float64) int {
		if t <= x {
			return -1
		}
		return 1
	})
	if i >= maxErrorMessages {
		return
	}
	s.ErrorMessages = slices.Insert(s.ErrorMessages, i, msg)
	st.ErrorTimes = slices.Insert(st.ErrorTimes, i, ts)
	if len(s.ErrorMessages) > maxErrorMessages {
		s.ErrorMessages = s.ErrorMessages[:maxErrorMessages]
		st.ErrorTimes = st.ErrorTimes[:maxErrorMessages]
	}
}

// setViewport keeps the latest viewport by timestamp.
func setViewport(s *storage.Session, st *factState, ts, w, h float64) {
	if ts < st.ViewportTime || w < 0 || h < 0 || w > 1e6 || h > 1e6 {
		return
	}
	st.ViewportTime = ts
	s.Viewport = storage.Viewport{W: int(w), H: int(h)}
}

// addActive adds a user-input event at ts (ms) to the runs of input. A run
// is [first, last+activeGap]; events less than activeGap apart share one.
func (st *factState) addActive(ts float64) {
	gap := float64(activeGap.Milliseconds())
	if ts < st.ActiveFloor {
		return
	}
	run := [2]float64{ts, ts + gap}
	// i: first run that starts after ts.
	i, _ := slices.BinarySearchFunc(st.Active, ts, func(r [2]float64, t float64) int {
		if r[0] <= t {
			return -1
		}
		return 1
	})
	if i > 0 && st.Active[i-1][1] >= ts {
		i--
		st.Active[i][1] = max(st.Active[i][1], run[1])
	} else {
		st.Active = slices.Insert(st.Active, i, run)
	}
	for i+1 < len(st.Active) && st.Active[i+1][0] <= st.Active[i][1] {
		st.Active[i][1] = max(st.Active[i][1], st.Active[i+1][1])
		st.Active = slices.Delete(st.Active, i+1, i+2)
	}
	for len(st.Active) > maxActiveRuns {
		r := st.Active[0]
		st.ActiveClosed += r[1] - r[0] - gap
		st.ActiveFloor = r[1]
		st.Active = st.Active[1:]
	}
}

// activeMs is the sum of the gaps between user-input events, gaps of more
// than activeGap left out.
func (st *factState) activeMs() int64 {
	gap := float64(activeGap.Milliseconds())
	sum := st.ActiveClosed
	for _, r := range st.Active {
		sum += max(r[1]-r[0]-gap, 0)
	}
	return int64(max(sum, 0))
}

// click folds a click of window at ts into the window's burst and reports
// whether it made the burst a rage click: the burst reached rc.Count
// clicks, all within rc.Window of its first click and within rc.Radius
// pixels of it. Each burst counts once; a click that does not fit starts a
// new burst. Clicks of one window are expected in timestamp order (rrweb
// emits them so and a window's batches arrive in seq order).
func (st *factState) click(window string, ts float64, x, y *float64, rc RageClick) bool {
	if st.Rage == nil {
		st.Rage = make(map[string]*rageBurst)
	}
	b := st.Rage[window]
	hasXY := x != nil && y != nil
	var cx, cy float64
	if hasXY {
		cx, cy = *x, *y
	}
	fits := b != nil && ts >= b.T0 && ts-b.T0 <= float64(rc.Window.Milliseconds()) && hasXY == b.HasXY &&
		(!hasXY || math.Hypot(cx-b.X0, cy-b.Y0) <= rc.Radius)
	if fits {
		b.N++
	} else {
		if b == nil && len(st.Rage) >= maxRageWindows {
			// Forget the burst that started first.
			var oldest string
			for w, ob := range st.Rage {
				if oldest == "" || ob.T0 < st.Rage[oldest].T0 {
					oldest = w
				}
			}
			delete(st.Rage, oldest)
		}
		b = &rageBurst{T0: ts, X0: cx, Y0: cy, HasXY: hasXY, N: 1}
		st.Rage[window] = b
	}
	return b.N == rc.Count
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
