package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sessionreplay/replay/storage"
)

// Targeting decides which sessions of a site are kept. Its JSON form is the
// "targeting" object of API.md; the grammar of conditions is in the package
// documentation (# Targeting).
//
// A Targeting value is read-only once the site that holds it is in use.
type Targeting struct {
	// Rules keep the sessions for which any of them holds. No rules: every
	// session is kept.
	Rules []Rule
	// IdleTimeout ends a session when no batch arrived for this long
	// (server clock); 0 means 30 minutes.
	IdleTimeout time.Duration
	// MaxDuration ends a session this long after its first batch (server
	// clock); 0 means 4 hours.
	MaxDuration time.Duration
	// MaxPendingBytes bounds the stored bytes of the site's pending
	// sessions; past it the oldest pending sessions are dropped first.
	// 0 means DefaultMaxPendingBytes. With a store that implements
	// [storage.PendingCounter] the bound holds for every Recorder sharing
	// the store together; otherwise each Recorder counts for itself.
	MaxPendingBytes int64
}

// Defaults of Targeting.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultMaxDuration     = 4 * time.Hour
	DefaultMaxPendingBytes = 256 << 20
)

// Rule keeps the sessions for which When holds. Name is what the session's
// matchedRules and the read API's rule filter show. A Rule is a plain value;
// like the Targeting that holds it, it must not change once in use.
type Rule struct {
	Name string
	When Cond
}

// Cond is a rule condition. Exactly one field is set; a zero field is
// "not set" (so {"error": false} is refused: write {"not": {"error": true}}).
//
// Conditions combine with All, Any and Not. Each leaf is either decided at the
// start of a session (Device, OS, Browser, Sample) or can still become true
// while the session is live (Error, Visited, Event, MinDuration, RageClick,
// Attr); a live session for which such a leaf is false is "not yet" decided.
// A Cond is a plain value, read concurrently once its site is in use and
// never changed by the Recorder.
type Cond struct {
	All []Cond // every condition holds; at least one
	Any []Cond // at least one condition holds; at least one
	Not *Cond  // the condition fails

	Error       bool              // a JS error happened ($error event or console error)
	Visited     string            // a page matched this glob (see storage.MatchURL)
	Event       string            // a custom event with this tag happened
	Device      string            // desktop, mobile, tablet or bot (case-insensitive)
	OS          string            // exact, case-insensitive ("iOS", "Android", "Windows", "macOS", "Linux")
	Browser     string            // exact, case-insensitive ("Chrome", "Safari", "Firefox", "Edge")
	Sample      float64           // in (0, 1]: this fraction of sessions, by a hash of the session id
	MinDuration time.Duration     // the session lasted at least this long (event timestamps)
	RageClick   bool              // a rage click happened (see Options.RageClick)
	Attr        map[string]string // every attribute has exactly this value
}

// condition keys, in the order of the grammar.
var condKeys = []string{"all", "any", "not", "error", "visited", "event", "device", "os", "browser",
	"sample", "minDuration", "rageClick", "attr"}

// Devices are the values of the device fact and condition.
var devices = []string{"desktop", "mobile", "tablet", "bot"}

// targetError is a configuration error at a path such as
// "rules[2].when.all[1]". Its message reads "path: msg".
type targetError struct {
	path string
	msg  string
}

func (e *targetError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.path + ": " + e.msg
}

// errAt returns an error at path; under prefixes the path of err when err
// is itself a targetError.
func errAt(path string, err error) error {
	te, ok := err.(*targetError)
	if !ok {
		return &targetError{path: path, msg: err.Error()}
	}
	switch {
	case te.path == "":
		return &targetError{path: path, msg: te.msg}
	case path == "":
		return te
	case strings.HasPrefix(te.path, "["):
		return &targetError{path: path + te.path, msg: te.msg}
	}
	return &targetError{path: path + "." + te.path, msg: te.msg}
}

// targetingError prefixes an error of Targeting.UnmarshalJSON with
// "targeting", joining paths with a dot: `targeting.rules[2].when: ...`.
func targetingError(err error) error {
	var te *targetError
	if errors.As(err, &te) && te.path != "" {
		return fmt.Errorf("targeting.%w", err)
	}
	return fmt.Errorf("targeting: %w", err)
}

func errorf(path, format string, args ...any) error {
	return &targetError{path: path, msg: fmt.Sprintf(format, args...)}
}

// UnmarshalJSON reads the JSON form: {"rules": [...], "idleTimeout": "30m",
// "maxDuration": "4h", "maxPendingBytes": 268435456}. Unknown keys are
// errors, and every error names its path, as in
// `rules[2].when.all[1]: unknown condition "visit"`.
func (t *Targeting) UnmarshalJSON(b []byte) error {
	fields, err := objectFields(b)
	if err != nil {
		return err
	}
	var out Targeting
	for _, f := range fields {
		switch f.key {
		case "rules":
			var raws []json.RawMessage
			if err := json.Unmarshal(f.val, &raws); err != nil {
				return errorf("rules", "want an array of rules")
			}
			for i, raw := range raws {
				r, err := parseRule(raw)
				if err != nil {
					return errAt(fmt.Sprintf("rules[%d]", i), err)
				}
				out.Rules = append(out.Rules, r)
			}
		case "idleTimeout", "maxDuration":
			var s string
			if err := json.Unmarshal(f.val, &s); err != nil {
				return errorf(f.key, "want a Go duration string such as \"30m\"")
			}
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return errorf(f.key, "%q is not a positive Go duration", s)
			}
			if f.key == "idleTimeout" {
				out.IdleTimeout = d
			} else {
				out.MaxDuration = d
			}
		case "maxPendingBytes":
			var n int64
			if err := json.Unmarshal(f.val, &n); err != nil || n <= 0 {
				return errorf(f.key, "want a positive integer number of bytes")
			}
			out.MaxPendingBytes = n
		default:
			return errorf(f.key, "unknown field (want rules, idleTimeout, maxDuration or maxPendingBytes)")
		}
	}
	*t = out
	return nil
}

// MarshalJSON writes the JSON form that UnmarshalJSON reads.
func (t Targeting) MarshalJSON() ([]byte, error) {
	type rule struct {
		Name string `json:"name"`
		When Cond   `json:"when"`
	}
	j := struct {
		Rules           []rule `json:"rules"`
		IdleTimeout     string `json:"idleTimeout,omitempty"`
		MaxDuration     string `json:"maxDuration,omitempty"`
		MaxPendingBytes int64  `json:"maxPendingBytes,omitempty"`
	}{Rules: []rule{}, MaxPendingBytes: t.MaxPendingBytes}
	for _, r := range t.Rules {
		j.Rules = append(j.Rules, rule(r))
	}
	if t.IdleTimeout > 0 {
		j.IdleTimeout = t.IdleTimeout.String()
	}
	if t.MaxDuration > 0 {
		j.MaxDuration = t.MaxDuration.String()
	}
	return json.Marshal(j)
}

func parseRule(b []byte) (Rule, error) {
	fields, err := objectFields(b)
	if err != nil {
		return Rule{}, err
	}
	var r Rule
	var haveWhen bool
	for _, f := range fields {
		switch f.key {
		case "name":
			if err := json.Unmarshal(f.val, &r.Name); err != nil {
				return Rule{}, errorf("name", "want a string")
			}
		case "when":
			c, err := parseCond(f.val)
			if err != nil {
				return Rule{}, errAt("when", err)
			}
			r.When, haveWhen = c, true
		default:
			return Rule{}, errorf(f.key, "unknown field (want name and when)")
		}
	}
	if !haveWhen {
		return Rule{}, errorf("when", "missing")
	}
	return r, nil
}

// UnmarshalJSON reads a condition of the grammar, naming the path of what
// is wrong (`all[1]: unknown condition "visit"`).
func (c *Cond) UnmarshalJSON(b []byte) error {
	v, err := parseCond(b)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

func parseCond(b []byte) (Cond, error) {
	fields, err := objectFields(b)
	if err != nil {
		return Cond{}, err
	}
	if len(fields) != 1 {
		return Cond{}, errorf("", "want an object with exactly one condition, got %d keys", len(fields))
	}
	key, val := fields[0].key, fields[0].val
	var c Cond
	list := func() ([]Cond, error) {
		var raws []json.RawMessage
		if err := json.Unmarshal(val, &raws); err != nil {
			return nil, errorf(key, "want an array of conditions")
		}
		if len(raws) == 0 {
			return nil, errorf(key, "want at least one condition")
		}
		out := make([]Cond, len(raws))
		for i, raw := range raws {
			if out[i], err = parseCond(raw); err != nil {
				return nil, errAt(fmt.Sprintf("%s[%d]", key, i), err)
			}
		}
		return out, nil
	}
	str := func() (string, error) {
		var s string
		if err := json.Unmarshal(val, &s); err != nil {
			return "", errorf(key, "want a string")
		}
		return s, nil
	}
	isTrue := func() error {
		var v bool
		if err := json.Unmarshal(val, &v); err != nil || !v {
			return errorf(key, "want true (to negate, write {\"not\": {%q: true}})", key)
		}
		return nil
	}
	switch key {
	case "all":
		c.All, err = list()
	case "any":
		c.Any, err = list()
	case "not":
		var inner Cond
		if inner, err = parseCond(val); err != nil {
			err = errAt("not", err)
		}
		c.Not = &inner
	case "error":
		err, c.Error = isTrue(), true
	case "rageClick":
		err, c.RageClick = isTrue(), true
	case "visited":
		c.Visited, err = str()
	case "event":
		c.Event, err = str()
	case "device":
		c.Device, err = str()
	case "os":
		c.OS, err = str()
	case "browser":
		c.Browser, err = str()
	case "sample":
		if json.Unmarshal(val, &c.Sample) != nil {
			err = errorf(key, "want a number in (0, 1]")
		}
	case "minDuration":
		var s string
		if s, err = str(); err == nil {
			if c.MinDuration, err = time.ParseDuration(s); err != nil {
				err = errorf(key, "%q is not a Go duration such as \"30s\"", s)
			}
		}
	case "attr":
		if json.Unmarshal(val, &c.Attr) != nil {
			err = errorf(key, "want an object of strings")
		}
	default:
		return Cond{}, errorf("", "unknown condition %q (want one of %s)", key, strings.Join(condKeys, ", "))
	}
	if err != nil {
		return Cond{}, err
	}
	// The JSON form and the Go form share one set of value checks.
	if err := c.check(); err != nil {
		return Cond{}, err
	}
	return c, nil
}

// MarshalJSON writes the JSON form of the grammar.
func (c Cond) MarshalJSON() ([]byte, error) {
	var v any
	switch {
	case c.All != nil:
		v = map[string]any{"all": c.All}
	case c.Any != nil:
		v = map[string]any{"any": c.Any}
	case c.Not != nil:
		v = map[string]any{"not": c.Not}
	case c.Error:
		v = map[string]any{"error": true}
	case c.Visited != "":
		v = map[string]any{"visited": c.Visited}
	case c.Event != "":
		v = map[string]any{"event": c.Event}
	case c.Device != "":
		v = map[string]any{"device": c.Device}
	case c.OS != "":
		v = map[string]any{"os": c.OS}
	case c.Browser != "":
		v = map[string]any{"browser": c.Browser}
	case c.Sample != 0:
		v = map[string]any{"sample": c.Sample}
	case c.MinDuration != 0:
		v = map[string]any{"minDuration": c.MinDuration.String()}
	case c.RageClick:
		v = map[string]any{"rageClick": true}
	case c.Attr != nil:
		v = map[string]any{"attr": c.Attr}
	default:
		return nil, fmt.Errorf("replay: empty condition")
	}
	return json.Marshal(v)
}

// check validates one condition, not its children: exactly one field is set
// and its value is usable. Errors are at the condition's key.
func (c *Cond) check() error {
	set := 0
	for _, b := range []bool{c.All != nil, c.Any != nil, c.Not != nil, c.Error, c.Visited != "",
		c.Event != "", c.Device != "", c.OS != "", c.Browser != "", c.Sample != 0,
		c.MinDuration != 0, c.RageClick, c.Attr != nil} {
		if b {
			set++
		}
	}
	switch {
	case set == 0:
		return errorf("", "empty condition (want one of %s)", strings.Join(condKeys, ", "))
	case set > 1:
		return errorf("", "%d conditions in one object; combine them with all or any", set)
	case c.All != nil && len(c.All) == 0:
		return errorf("all", "want at least one condition")
	case c.Any != nil && len(c.Any) == 0:
		return errorf("any", "want at least one condition")
	case c.Visited != "" && !strings.HasPrefix(c.Visited, "/") && !strings.HasPrefix(c.Visited, "*") &&
		!strings.Contains(c.Visited, "://"):
		return errorf("visited", "%q: want a path glob starting with / or * (\"/checkout*\"), or a URL glob with a scheme", c.Visited)
	case c.Device != "" && !slices.Contains(devices, strings.ToLower(c.Device)):
		return errorf("device", "%q: want one of %s", c.Device, strings.Join(devices, ", "))
	case c.Sample != 0 && (!(c.Sample > 0 && c.Sample <= 1) || math.IsNaN(c.Sample)):
		return errorf("sample", "%v: want a fraction in (0, 1]", c.Sample)
	case c.MinDuration < 0:
		return errorf("minDuration", "%v: want a positive duration", c.MinDuration)
	case c.Attr != nil && len(c.Attr) == 0:
		return errorf("attr", "want at least one attribute")
	}
	return nil
}

// field is one key of a JSON object, in document order.
type field struct {
	key string
	val json.RawMessage
}

// objectFields returns the keys of a JSON object in document order.
func objectFields(b []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errorf("", "want an object")
	}
	var out []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errorf("", "want an object")
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, errorf("", "want an object")
		}
		out = append(out, field{key: tok.(string), val: val})
	}
	return out, nil
}

// outcome is three-valued: a condition holds, fails, or cannot be decided
// yet because the session is live.
type outcome int8

const (
	notYet outcome = iota
	holds
	fails
)

func (o outcome) String() string {
	switch o {
	case holds:
		return "holds"
	case fails:
		return "fails"
	}
	return "not yet"
}

type decision int

const (
	undecided decision = iota
	keep
	drop
)

func (d decision) String() string {
	switch d {
	case keep:
		return "keep"
	case drop:
		return "drop"
	}
	return "undecided"
}

// ruleSet is compiled Targeting: read-only, shared by every request of a site.
type ruleSet struct {
	t     Targeting
	names []string
	conds []*node
}

// node is a compiled condition.
type node struct {
	kind  string // a key of condKeys
	kids  []*node
	str   string
	f     float64
	d     int64 // minDuration in ms
	attrs map[string]string
}

// compile validates the targeting and builds its rule set. Errors name the
// path below "targeting", as in `rules[2].when.all[1]: empty condition`.
func (t *Targeting) compile() (*ruleSet, error) {
	rs := &ruleSet{t: *t}
	switch {
	case t.IdleTimeout < 0:
		return nil, errorf("idleTimeout", "must not be negative")
	case t.MaxDuration < 0:
		return nil, errorf("maxDuration", "must not be negative")
	case t.MaxPendingBytes < 0:
		return nil, errorf("maxPendingBytes", "must not be negative")
	}
	seen := make(map[string]bool, len(t.Rules))
	for i, r := range t.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		switch {
		case r.Name == "":
			return nil, errorf(path+".name", "missing")
		case len(r.Name) > 100 || !utf8.ValidString(r.Name) || strings.ContainsFunc(r.Name, func(c rune) bool { return c < ' ' || c == 0x7f }):
			return nil, errorf(path+".name", "%q: want at most 100 printable characters", r.Name)
		case seen[r.Name]:
			return nil, errorf(path+".name", "%q appears twice", r.Name)
		}
		seen[r.Name] = true
		n, err := compileCond(&r.When, 0)
		if err != nil {
			return nil, errAt(path+".when", err)
		}
		rs.names = append(rs.names, r.Name)
		rs.conds = append(rs.conds, n)
	}
	return rs, nil
}

// maxCondDepth bounds the nesting of conditions.
const maxCondDepth = 32

func compileCond(c *Cond, depth int) (*node, error) {
	if depth > maxCondDepth {
		return nil, errorf("", "conditions nested deeper than %d", maxCondDepth)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	list := func(key string, cs []Cond) (*node, error) {
		n := &node{kind: key}
		for i := range cs {
			k, err := compileCond(&cs[i], depth+1)
			if err != nil {
				return nil, errAt(fmt.Sprintf("%s[%d]", key, i), err)
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	}
	switch {
	case c.All != nil:
		return list("all", c.All)
	case c.Any != nil:
		return list("any", c.Any)
	case c.Not != nil:
		k, err := compileCond(c.Not, depth+1)
		if err != nil {
			return nil, errAt("not", err)
		}
		return &node{kind: "not", kids: []*node{k}}, nil
	case c.Error:
		return &node{kind: "error"}, nil
	case c.Visited != "":
		return &node{kind: "visited", str: c.Visited}, nil
	case c.Event != "":
		return &node{kind: "event", str: c.Event}, nil
	case c.Device != "":
		return &node{kind: "device", str: c.Device}, nil
	case c.OS != "":
		return &node{kind: "os", str: c.OS}, nil
	case c.Browser != "":
		return &node{kind: "browser", str: c.Browser}, nil
	case c.Sample != 0:
		return &node{kind: "sample", f: c.Sample}, nil
	case c.MinDuration != 0:
		return &node{kind: "minDuration", d: c.MinDuration.Milliseconds()}, nil
	case c.RageClick:
		return &node{kind: "rageClick"}, nil
	default:
		return &node{kind: "attr", attrs: c.Attr}, nil
	}
}

// facts is what a condition is evaluated on.
type facts struct {
	s *storage.Session
	// ended: the session is closed, so what did not happen never will.
	ended bool
	// startOnly: only the start facts are known (GET /v1/config); every
	// other leaf is not yet decided.
	startOnly bool
}

// visited reports whether a page of f matches n's glob.
func (n *node) visited(f *facts) bool {
	for _, p := range f.s.Pages {
		if storage.MatchURL(n.str, p) {
			return true
		}
	}
	return false
}

// evalKids evaluates the kids of an "all" (decisive = fails, rest =
// holds) or an "any" (the other way round): decisive as soon as a kid is,
// else notYet when a kid is not yet decided, else rest.
func (n *node) evalKids(f *facts, decisive, rest outcome) outcome {
	out := rest
	for _, k := range n.kids {
		switch k.eval(f) {
		case decisive:
			return decisive
		case notYet:
			out = notYet
		}
	}
	return out
}

// eval evaluates n three-valued.
func (n *node) eval(f *facts) outcome {
	switch n.kind {
	case "all":
		return n.evalKids(f, fails, holds)
	case "any":
		return n.evalKids(f, holds, fails)
	case "not":
		switch n.kids[0].eval(f) {
		case holds:
			return fails
		case fails:
			return holds
		}
		return notYet
	case "device":
		return decided(strings.EqualFold(f.s.Device, n.str))
	case "os":
		return decided(strings.EqualFold(f.s.OS, n.str))
	case "browser":
		return decided(strings.EqualFold(f.s.Browser, n.str))
	case "sample":
		if f.s.ID == "" {
			return notYet
		}
		return decided(sampled(f.s.ID, n.f))
	}
	if f.startOnly {
		return notYet
	}
	var ok bool
	switch n.kind {
	case "error":
		ok = f.s.Errors > 0
	case "visited":
		ok = n.visited(f)
	case "event":
		ok = f.s.Events[n.str] > 0
	case "minDuration":
		ok = f.s.DurationMs >= n.d
	case "rageClick":
		ok = f.s.RageClicks > 0
	case "attr":
		ok = true
		for k, v := range n.attrs {
			if got, have := f.s.Attrs[k]; !have || got != v {
				ok = false
				break
			}
		}
	}
	if ok {
		return holds
	}
	if f.ended {
		return fails
	}
	return notYet
}

func decided(ok bool) outcome {
	if ok {
		return holds
	}
	return fails
}

// sampled reports whether session id falls in the first rate of the hash
// space. The hash is FNV-1a 64 of the id, finished with a 64-bit mixer so
// that every bit depends on every byte; it has no seed, so every process and
// every restart gives the same answer. Rates are compared with 2^-53
// granularity, far finer than the 1e-4 the grammar promises.
func sampled(id string, rate float64) bool {
	return sampleHash(id) < rate
}

// sampleHash maps a session id to [0, 1).
func sampleHash(id string) float64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := h.Sum64()
	// fmix64 of MurmurHash3.
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return float64(x>>11) / (1 << 53)
}

// evaluate returns the outcome of every rule, in rule order.
func (rs *ruleSet) evaluate(f *facts) []outcome {
	out := make([]outcome, len(rs.conds))
	for i, n := range rs.conds {
		out[i] = n.eval(f)
	}
	return out
}

// decide turns rule outcomes into a decision: keep when one holds, drop
// when all fail, else undecided. No rules: keep.
func decide(outs []outcome) decision {
	if len(outs) == 0 {
		return keep
	}
	all := true
	for _, o := range outs {
		switch o {
		case holds:
			return keep
		case notYet:
			all = false
		}
	}
	if all {
		return drop
	}
	return undecided
}

func (rs *ruleSet) idleTimeout() time.Duration {
	if rs.t.IdleTimeout > 0 {
		return rs.t.IdleTimeout
	}
	return DefaultIdleTimeout
}

func (rs *ruleSet) maxDuration() time.Duration {
	if rs.t.MaxDuration > 0 {
		return rs.t.MaxDuration
	}
	return DefaultMaxDuration
}

func (rs *ruleSet) maxPendingBytes() int64 {
	if rs.t.MaxPendingBytes > 0 {
		return rs.t.MaxPendingBytes
	}
	return DefaultMaxPendingBytes
}

// target evaluates the rules on the session's facts and records the outcome
// in the session: its state (pending, kept, dropped) and matchedRules, which
// lists every rule that held at some point, in rule order after the names
// listed earlier. A kept session stays kept. ended means the session is
// closed: conditions that did not happen never will.
func (r *Recorder) target(rs *ruleSet, s *storage.Session, ended bool) decision {
	if s.State == storage.StateDropped {
		return drop
	}
	outs := rs.evaluate(&facts{s: s, ended: ended})
	for i, o := range outs {
		if o == holds && !slices.Contains(s.MatchedRules, rs.names[i]) {
			s.MatchedRules = append(s.MatchedRules, rs.names[i])
		}
	}
	d := decide(outs)
	if s.State == storage.StateKept {
		d = keep
	}
	key := storage.Key{Site: s.Site, Session: s.ID}
	switch d {
	case keep:
		if s.State != storage.StateKept {
			r.tstate.count(key.Site, func(c *SiteStats) { c.Kept++ })
		}
		s.State = storage.StateKept
		r.tstate.forgetPending(key)
	case drop:
		r.tstate.noteDropped(key)
		r.tstate.forgetPending(key)
		r.tstate.count(key.Site, func(c *SiteStats) { c.Dropped++ })
	default:
		s.State = storage.StatePending
	}
	return d
}
