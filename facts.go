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

// consolePlugin is the plugin name of rrweb's console recorder.
const consolePlugin = "rrweb/console@1"

// The incremental snapshot sources the facts read (rrweb IncrementalSource).
const (
	factMouseMove        = 1
	factMouseInteraction = 2
	factViewportResize   = 4
	factInput            = 5
	factLog              = 11 // legacy console recording
	factClick            = 2  // MouseInteraction type Click
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

// updateFacts folds a batch into the session's facts. The events are
// already masked: URLs and error messages are scrubbed.
func (r *Recorder) updateFacts(s *storage.Session, b *Batch, from Client, now time.Time) {
	st := loadFactState(s)
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

	rc := r.opts.RageClick
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
		switch e.Type {
		case Meta:
			var m struct {
				Href   string  `json:"href"`
				Width  float64 `json:"width"`
				Height float64 `json:"height"`
			}
			if jsonx.DecodeStrict(e.Data, &m) != nil {
				continue
			}
			if m.Href != "" {
				addPage(s, st, ts, m.Href)
			}
			if m.Width > 0 || m.Height > 0 {
				setViewport(s, st, ts, m.Width, m.Height)
			}
		case Custom:
			var c struct {
				Tag     string          `json:"tag"`
				Payload json.RawMessage `json:"payload"`
			}
			if jsonx.DecodeStrict(e.Data, &c) != nil {
				continue
			}
			switch c.Tag {
			case tagPageview:
				var p struct {
					Href string `json:"href"`
				}
				if jsonx.DecodeStrict(c.Payload, &p) == nil && p.Href != "" {
					addPage(s, st, ts, p.Href)
				}
			case tagError:
				var p struct {
					Message string `json:"message"`
				}
				_ = jsonx.DecodeStrict(c.Payload, &p)
				if p.Message == "" {
					p.Message = "Error"
				}
				addError(s, st, ts, p.Message)
			default:
				if c.Tag == "" || len(c.Tag) > maxTagBytes {
					continue
				}
				if s.Events[c.Tag] == 0 && len(s.Events) >= maxEventTags {
					continue
				}
				if s.Events == nil {
					s.Events = make(map[string]int)
				}
				s.Events[c.Tag]++
			}
		case Plugin:
			var p struct {
				Plugin  string          `json:"plugin"`
				Payload json.RawMessage `json:"payload"`
			}
			if jsonx.DecodeStrict(e.Data, &p) == nil && p.Plugin == consolePlugin {
				if msg, ok := consoleError(p.Payload); ok {
					addError(s, st, ts, msg)
				}
			}
		case IncrementalSnapshot:
			source, err := e.Source()
			if err != nil {
				continue
			}
			src := int(source)
			if src >= factMouseMove && src <= factInput {
				st.addActive(ts)
			}
			switch src {
			case factMouseInteraction:
				var m struct {
					Type int      `json:"type"`
					X    *float64 `json:"x"`
					Y    *float64 `json:"y"`
				}
				if jsonx.DecodeStrict(e.Data, &m) == nil && m.Type == factClick {
					s.Clicks++
					if st.click(b.Window, ts, m.X, m.Y, rc) {
						s.RageClicks++
					}
				}
			case factViewportResize:
				var m struct {
					Width  float64 `json:"width"`
					Height float64 `json:"height"`
				}
				if jsonx.DecodeStrict(e.Data, &m) == nil {
					setViewport(s, st, ts, m.Width, m.Height)
				}
			case factLog:
				if msg, ok := consoleError(e.Data); ok {
					addError(s, st, ts, msg)
				}
			}
		}
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

// consoleError returns the message of a console record at level error:
// its arguments, each decoded from the JSON string the plugin made of it,
// joined by spaces.
func consoleError(payload []byte) (string, bool) {
	var p struct {
		Level   string            `json:"level"`
		Payload []json.RawMessage `json:"payload"`
	}
	if jsonx.DecodeStrict(payload, &p) != nil || p.Level != "error" {
		return "", false
	}
	var parts []string
	for _, raw := range p.Payload {
		var s string
		if jsonx.DecodeStrict(raw, &s) != nil {
			parts = append(parts, string(raw))
			continue
		}
		var inner string
		if jsonx.DecodeStrict([]byte(s), &inner) == nil {
			s = inner
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
	msg = truncateRunes(msg, maxMessageRunes)
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
