package privacy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// Policy is the privacy policy the engine enforces. Its fields are those
// of the root package's Policy, which documents them and converts to it.
type Policy struct {
	MaskAllInputs    bool
	MaskInputTypes   []string
	UnmaskSelector   string
	MaskTextSelector string
	BlockSelector    string
	Scrub            []string
	ScrubPatterns    map[string]string
	ScrubQueryParams []string
}

// The bits a mirror node carries. The first four come from the policy's
// selectors and the password rule, and are written into the stored events
// (the rr_mask attribute) so that a mirror rebuilt from stored chunks knows
// them; the others are derived from the stored tag and attributes.
const (
	bBlock    uint16 = 1 << iota // matches blockSelector
	bText                        // matches maskTextSelector
	bUnmask                      // matches unmaskSelector
	bPw                          // is or was a password (or a card / password autocomplete)
	bField                       // textarea or contenteditable: its text is its value
	bRaw                         // style or script: its text is never masked
	bTypeMask                    // MaskAllInputs or MaskInputTypes selects it
	bTextarea                    // a textarea
	bElem                        // an element
	bUnsure                      // the server could not evaluate the selectors: mask all below
	bSelect                      // a select: its options are the menu, its value the choice

	markerBits = bBlock | bText | bUnmask | bPw | bUnsure
)

// markerLetters spell the marker bits in the rr_mask attribute.
var markerLetters = []struct {
	bit    uint16
	letter byte
}{{bBlock, 'b'}, {bText, 't'}, {bUnmask, 'u'}, {bPw, 'p'}, {bUnsure, 'x'}}

// markerAttr is the attribute through which the stored events carry the
// marker bits of an element. rrweb's rebuild never sets rr_* attributes on
// the replayed DOM.
const markerAttr = "rr_mask"

func markerString(bits uint16) string {
	var b []byte
	for _, l := range markerLetters {
		if bits&l.bit != 0 {
			b = append(b, l.letter)
		}
	}
	return string(b)
}

func markerBitsOf(v any) uint16 {
	s, _ := v.(string)
	var bits uint16
	for _, l := range markerLetters {
		if strings.IndexByte(s, l.letter) >= 0 {
			bits |= l.bit
		}
	}
	return bits
}

// Masker is a compiled Policy. It is immutable and safe for concurrent use.
type Masker struct {
	p                        Policy
	maskTypes                map[string]bool
	block, text, unmask      cascadia.SelectorGroup
	read                     map[string]bool // attributes the selectors read (see keeps)
	ancestorSens, siblingSen bool            // selectors with combinators / sibling-dependent ones
	// structural is set when a selector may read more of the tree than
	// the element itself: it has a combinator or a pseudo-class (:root
	// and :lang read the ancestors too). Without, an element matches
	// alone as it matches in its tree, and no tree is built.
	structural bool
	scrub      scrubber
	// css processes a _cssText value; nil means minifyCSSText. The
	// Recorder sets it to its per-site cache of processed style sheets.
	css func(string) string
}

// CSSText processes the style sheet of a _cssText attribute.
func (m *Masker) CSSText(s string) string {
	if m.css != nil {
		return m.css(s)
	}
	return MinifyCSS(s)
}

// inputTypes are the values MaskInputTypes accepts.
var inputTypes = map[string]bool{
	"text": true, "password": true, "email": true, "tel": true, "number": true, "search": true,
	"url": true, "date": true, "datetime-local": true, "month": true, "week": true, "time": true,
	"color": true, "range": true, "hidden": true, "file": true, "checkbox": true, "radio": true,
	"textarea": true, "select": true, "contenteditable": true,
}

// isAlwaysKept reports whether k is one of the attributes the mirror keeps
// whatever the selectors say.
func isAlwaysKept(k string) bool {
	switch k {
	case "class", "id", "type", "name", "autocomplete", "contenteditable", "data-rr-is-password", "lang", "role":
		return true
	}
	return false
}

// hidesContent reports whether context c (which includes the element) hides
// what its elements show: blocked, masked text, unsure or unknown.
func hidesContent(c ctx) bool {
	return !c.known || c.block || c.unsure || c.text && !c.unmask
}

var attrNameRE = regexp.MustCompile(`\[\s*([^\s~|^$*!=\]]+)`)

// Compile checks the policy and prepares it for use. Errors name the field,
// as in `maskTextSelector: invalid CSS selector "..."`.
func Compile(p *Policy) (*Masker, error) {
	m := &Masker{p: *p, maskTypes: map[string]bool{}, read: map[string]bool{}}
	for i, t := range p.MaskInputTypes {
		t = strings.ToLower(strings.TrimSpace(t))
		if !inputTypes[t] {
			return nil, fmt.Errorf("maskInputTypes[%d]: unknown input type %q", i, p.MaskInputTypes[i])
		}
		m.maskTypes[t] = true
	}
	for _, f := range []struct {
		name string
		src  string
		dst  *cascadia.SelectorGroup
	}{
		{"unmaskSelector", p.UnmaskSelector, &m.unmask},
		{"maskTextSelector", p.MaskTextSelector, &m.text},
		{"blockSelector", p.BlockSelector, &m.block},
	} {
		if strings.TrimSpace(f.src) == "" {
			continue
		}
		g, err := cascadia.ParseGroup(f.src)
		if err != nil {
			return nil, fmt.Errorf("%s: invalid CSS selector %q: %v", f.name, f.src, err)
		}
		canon := strings.ToLower(g.String())
		for _, bad := range []string{":has(", ":haschild(", ":contains", ":matches", ":empty"} {
			if strings.Contains(canon, bad) {
				return nil, fmt.Errorf("%s: %q: %s is not supported (the server keeps no text to match)", f.name, f.src, strings.TrimSuffix(bad, "("))
			}
		}
		for _, sub := range attrNameRE.FindAllStringSubmatch(canon, -1) {
			m.read[sub[1]] = true
		}
		if strings.Contains(canon, "#") {
			m.read["id"] = true
		}
		if strings.Contains(canon, ":link") {
			m.read["href"] = true
		}
		if strings.Contains(canon, ":checked") || strings.Contains(canon, ":enabled") || strings.Contains(canon, ":disabled") {
			m.read["checked"], m.read["selected"], m.read["disabled"] = true, true, true
		}
		for _, sel := range g {
			s := strings.ToLower(sel.String())
			// A combinator reads the ancestors, and so do :lang() (the
			// language is inherited) and :root (the parent is a document).
			if strings.Contains(s, " ") || strings.Contains(s, ":lang(") || strings.Contains(s, ":root") {
				m.ancestorSens = true
			}
			if strings.Contains(s, " + ") || strings.Contains(s, " ~ ") || strings.Contains(s, ":nth") ||
				strings.Contains(s, ":first") || strings.Contains(s, ":last") || strings.Contains(s, ":only") ||
				strings.Contains(s, ":enabled") || strings.Contains(s, ":disabled") {
				m.siblingSen = true
			}
			if strings.ContainsAny(s, ": ") {
				m.structural = true
			}
		}
		*f.dst = g
	}
	if len(p.ScrubPatterns) > 0 {
		for _, name := range slices.Sorted(maps.Keys(p.ScrubPatterns)) {
			if name == "card" || name == "email" || name == "" {
				return nil, fmt.Errorf("scrubPatterns.%s: the name is reserved", name)
			}
			re, err := regexp.Compile(p.ScrubPatterns[name])
			if err != nil {
				return nil, fmt.Errorf("scrubPatterns.%s: invalid regular expression: %v", name, err)
			}
			if re.MatchString("") {
				return nil, fmt.Errorf("scrubPatterns.%s: the expression matches the empty string", name)
			}
		}
	}
	for i, name := range p.Scrub {
		switch name {
		case "card":
			m.scrub.card = true
		case "email":
			m.scrub.email = true
		default:
			src, ok := p.ScrubPatterns[name]
			if !ok {
				return nil, fmt.Errorf("scrub[%d]: unknown detector %q (want card, email or a name in scrubPatterns)", i, name)
			}
			m.scrub.patterns = append(m.scrub.patterns, regexp.MustCompile(src))
		}
	}
	for i, q := range p.ScrubQueryParams {
		q = strings.ToLower(strings.TrimSpace(q))
		if q == "" {
			return nil, fmt.Errorf("scrubQueryParams[%d]: empty name", i)
		}
		if m.scrub.params == nil {
			m.scrub.params = map[string]bool{}
		}
		m.scrub.params[q] = true
	}
	return m, nil
}

// RecordOptions are the rrweb record() options that make the browser mask
// as the policy asks. The server enforces the policy again whatever the
// browser does; unmaskSelector and the scrub settings have no rrweb
// equivalent and are passed for recorder.js to use if it can.
func (m *Masker) RecordOptions() map[string]any {
	types := map[string]bool{"password": true}
	for t := range m.maskTypes {
		types[t] = true
	}
	if m.p.MaskAllInputs {
		for _, t := range []string{"color", "date", "datetime-local", "email", "month", "number", "range",
			"search", "tel", "text", "time", "url", "week", "textarea", "select"} {
			types[t] = true
		}
	}
	delete(types, "contenteditable")
	opts := map[string]any{
		"maskAllInputs":    m.p.MaskAllInputs,
		"maskInputOptions": types,
		"maskTextClass":    "rr-mask",
		"blockClass":       "rr-block",
		"inlineImages":     false,
		"recordCanvas":     false,
		"collectFonts":     false,
	}
	if m.p.MaskTextSelector != "" {
		opts["maskTextSelector"] = m.p.MaskTextSelector
	}
	if m.p.BlockSelector != "" {
		opts["blockSelector"] = m.p.BlockSelector
	}
	if m.p.UnmaskSelector != "" {
		opts["unmaskSelector"] = m.p.UnmaskSelector
	}
	return opts
}

// keeps reports whether the mirror keeps attribute k (lower-cased): the
// selectors or the rules read it.
func (m *Masker) keeps(k string) bool {
	return isAlwaysKept(k) || len(m.read) > 0 && m.read[k]
}

// selfBits evaluates the selectors on an element of a tree built for
// matching.
func (m *Masker) selfBits(n *html.Node) uint16 {
	var bits uint16
	if m.block != nil && m.block.Match(n) {
		bits |= bBlock
	}
	if m.text != nil && m.text.Match(n) {
		bits |= bText
	}
	if m.unmask != nil && m.unmask.Match(n) {
		bits |= bUnmask
	}
	return bits
}

// attrLookup reads an attribute of an element being classified.
type attrLookup func(name string) (string, bool)

// derivedAttrs are the attributes derivedBits reads, each with whether the
// element has it.
type derivedAttrs struct {
	typ, contentEditable, autocomplete string
	hasType, hasCE, hasPw, hasAC       bool
}

// The attributes derivedBits reads.
const (
	daType = 1 << iota
	daContentEditable
	daPassword
	daAutocomplete
)

// derivedKey tells which of the attributes derivedBits reads name is, or 0.
func derivedKey(name string) uint8 {
	switch name {
	case "type":
		return daType
	case "contenteditable":
		return daContentEditable
	case "data-rr-is-password":
		return daPassword
	case "autocomplete":
		return daAutocomplete
	}
	return 0
}

func (d *derivedAttrs) set(key uint8, v string, ok bool) {
	switch key {
	case daType:
		d.typ, d.hasType = v, ok
	case daContentEditable:
		d.contentEditable, d.hasCE = v, ok
	case daPassword:
		d.hasPw = ok
	case daAutocomplete:
		d.autocomplete, d.hasAC = v, ok
	}
}

// lookupDerived reads the attributes derivedBits reads with attr.
func lookupDerived(attr attrLookup) derivedAttrs {
	var d derivedAttrs
	for _, k := range []uint8{daType, daContentEditable, daPassword, daAutocomplete} {
		var name string
		switch k {
		case daType:
			name = "type"
		case daContentEditable:
			name = "contenteditable"
		case daPassword:
			name = "data-rr-is-password"
		case daAutocomplete:
			name = "autocomplete"
		}
		v, ok := attr(name)
		d.set(k, v, ok)
	}
	return d
}

// derivedBits are the bits that follow from an element's tag and its
// (never masked) type, autocomplete and contenteditable attributes.
func (m *Masker) derivedBits(tag string, a derivedAttrs) uint16 {
	bits := bElem
	typ := a.typ
	if typ != "" {
		typ = strings.ToLower(strings.TrimSpace(typ))
	}
	switch tag {
	case "input":
		if typ == "" {
			typ = "text"
		}
		switch typ {
		case "password":
			bits |= bPw
		case "submit", "button", "reset", "image":
		default: // checkbox and radio included: their Input text is their value
			if m.p.MaskAllInputs || m.maskTypes[typ] {
				bits |= bTypeMask
			}
		}
	case "textarea":
		bits |= bField | bTextarea
		if m.p.MaskAllInputs || m.maskTypes["textarea"] {
			bits |= bTypeMask
		}
	case "select":
		bits |= bSelect
		if m.p.MaskAllInputs || m.maskTypes["select"] {
			bits |= bTypeMask
		}
	case "style", "script":
		bits |= bRaw
	}
	if a.hasCE && !strings.EqualFold(strings.TrimSpace(a.contentEditable), "false") && tag != "textarea" && tag != "select" {
		bits |= bField
		if m.p.MaskAllInputs || m.maskTypes["contenteditable"] {
			bits |= bTypeMask
		}
	}
	if a.hasPw {
		bits |= bPw
	}
	if a.hasAC && sensitiveAutocomplete(a.autocomplete) {
		bits |= bPw
	}
	return bits
}

func sensitiveAutocomplete(ac string) bool {
	for _, tok := range strings.Fields(strings.ToLower(ac)) {
		if strings.HasPrefix(tok, "cc-") || tok == "current-password" || tok == "new-password" {
			return true
		}
	}
	return false
}

// ctx is what an element's ancestors (and itself) say about it.
type ctx struct {
	known         bool // every ancestor up to a document is known
	block         bool // inside a blocked element
	text          bool // inside an element matching maskTextSelector
	unmask        bool // inside an element matching unmaskSelector
	unsure        bool // inside an element the server could not evaluate
	raw           bool // inside style or script
	field         bool // inside a textarea or contenteditable
	fieldMasked   bool // … whose value is masked
	fieldTextarea bool // … which is a textarea
	choiceMasked  bool // inside a select whose value is masked
}

var rootCtx = ctx{known: true}

// enter returns the context of an element with these bits inside c.
func (c ctx) enter(bits uint16) ctx {
	c.block = c.block || bits&bBlock != 0
	c.text = c.text || bits&bText != 0
	c.unmask = c.unmask || bits&bUnmask != 0
	c.unsure = c.unsure || bits&bUnsure != 0
	c.raw = c.raw || bits&bRaw != 0
	if bits&bField != 0 {
		c.field = true
		c.fieldMasked = inputMasked(bits, c)
		c.fieldTextarea = bits&bTextarea != 0
	}
	if bits&bSelect != 0 {
		c.choiceMasked = inputMasked(bits, c)
	}
	return c
}

// inputMasked reports whether the value of an element with these bits, in
// context c (which includes the element), is masked.
func inputMasked(bits uint16, c ctx) bool {
	switch {
	case !c.known, c.unsure, c.block, bits&bPw != 0:
		return true
	case c.unmask:
		return false
	case c.text:
		return true
	}
	return bits&bTypeMask != 0
}

// textMasked reports whether text is masked in context c, and how: input
// style (every character) for a textarea's value, text style otherwise.
func textMasked(c ctx) (masked, inputStyle bool) {
	switch {
	case !c.known, c.unsure && !c.raw:
		return true, false
	case c.raw:
		return false, false
	case c.field && c.fieldMasked:
		return true, c.fieldTextarea
	case c.text && !c.unmask:
		return true, false
	}
	return false, false
}

// maskText masks or scrubs the text of a text or comment node.
func (m *Masker) maskText(c ctx, s string) string {
	masked, inputStyle := textMasked(c)
	switch {
	case masked && inputStyle:
		return maskInputValue(s)
	case masked:
		return maskTextValue(s)
	case c.raw:
		return s
	}
	return m.scrub.text(s)
}

// isTextAttr reports whether k is an attribute that carries text a person
// may read.
func isTextAttr(k string) bool {
	switch k {
	case "placeholder", "title", "alt", "label", "content", "summary",
		"abbr", "aria-label", "aria-description", "aria-valuetext",
		"aria-placeholder", "aria-roledescription", "aria-braillelabel", "value":
		return true
	}
	return false
}

// isURLAttr reports whether k is an attribute that holds a URL.
func isURLAttr(k string) bool {
	switch k {
	case "href", "src", "action", "formaction", "poster", "cite",
		"background", "data", "xlink:href", "ping", "rr_src", "longdesc":
		return true
	}
	return false
}

// isRRWebAttr reports whether k is one of the attributes rrweb itself
// writes that carry no text from the page: sizes, scroll offsets, media
// state and a dialog's mode. They are kept as they are; any other rr_*
// attribute is the page's own and is masked like text. rr_src is a URL
// (scrubbed), rr_dataURL image data (kept, see the package doc) and
// _cssText a style sheet (minified).
func isRRWebAttr(k string) bool {
	switch k {
	case "rr_width", "rr_height", "rr_dataurl", "rr_scrollleft", "rr_scrolltop",
		"rr_mediastate", "rr_mediacurrenttime", "rr_mediaplaybackrate", "rr_mediamuted",
		"rr_medialoop", "rr_mediavolume", "rr_open_mode":
		return true
	}
	return false
}

// isPlaceholderAttr reports whether k is an attribute that survives on a
// blocked element.
func isPlaceholderAttr(k string) bool {
	switch k {
	case "class", "rr_width", "rr_height", markerAttr:
		return true
	}
	return false
}

// maskAttr masks one string attribute of an element with bits in context c
// (which includes the element). It returns the new value and whether the
// attribute stays.
func (m *Masker) maskAttr(tag string, bits uint16, c ctx, key, val string) (string, bool) {
	key = lower(key)
	switch {
	case c.block:
		return val, bits&bBlock != 0 && isPlaceholderAttr(key)
	case key == markerAttr:
		return val, false // only the server writes it
	case key == "_cssText" || key == "_csstext":
		return m.CSSText(val), true
	case key == "rr_dataurl" && hidesContent(c):
		return "", false // a canvas or image of a masked region: its pixels may show the text
	case key == "style" || isRRWebAttr(key):
		return val, true
	case key == "srcdoc":
		out, err := m.MaskHTML(val)
		return out, err == nil
	case key == "srcset":
		return m.srcset(val), true
	case isURLAttr(key):
		return m.scrub.url(val), true
	case isAlwaysKept(key):
		return val, true // what the rules read; no text of the page
	case key == "value" && (tag == "input" || tag == "textarea" || tag == "select"):
		if inputMasked(bits, c) {
			return maskInputValue(val), true
		}
		return m.scrub.text(val), true
	case key == "value" && c.field && c.fieldMasked: // an element inside a masked field
		return maskInputValue(val), true
	case isTextAttr(key) || strings.HasPrefix(key, "data-") || strings.HasPrefix(key, "rr_"):
		if !c.known || c.unsure || c.text && !c.unmask || bits&bPw != 0 {
			return maskTextValue(val), true
		}
		return m.scrub.text(val), true
	}
	return val, true
}

// hidesState reports whether attribute key of an element with bits in
// context c (which includes it) is a state the policy hides: checked on an
// input whose value is masked (a checkbox or radio answers a question as
// much as a text does), selected on an option of a masked select (the
// options themselves, their labels and values, are the page's menu and
// stay; which one the user chose is the secret).
func hidesState(tag string, bits uint16, c ctx, key string) bool {
	switch {
	case len(key) == 7 && strings.EqualFold(key, "checked"):
		return tag == "input" && inputMasked(bits, c)
	case len(key) == 8 && strings.EqualFold(key, "selected"):
		return c.choiceMasked || c.field && c.fieldMasked
	}
	return false
}

func (m *Masker) srcset(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = m.scrub.url(p)
	}
	return strings.Join(parts, ",")
}
