package replay

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/sessionreplay/replay/internal/jsonx"
)

// This file checks the Data of events: the fields the pipeline reads must
// have the types rrweb gives them. Paths in errors are relative to the event
// ("data.adds[3].node.id"); Batch.Validate puts "events[i]" in front.

// validate checks one event.
func (e *Event) validate() error {
	if math.IsNaN(e.Timestamp) || math.IsInf(e.Timestamp, 0) {
		return &ValidationError{Path: "timestamp", Msg: "want a number"}
	}
	p := jsonx.NewParser(e.Data)
	if p.Kind() != "object" {
		return &ValidationError{Path: "data", Msg: "want an object"}
	}
	var err error
	switch e.Type {
	case FullSnapshot:
		err = checkObject(p, fullSnapshotRules, fullSnapshotSpecial)
	case IncrementalSnapshot:
		err = checkIncremental(p)
	case Meta:
		err = checkObject(p, metaRules, nil)
	case Custom:
		err = checkObject(p, customRules, nil)
	case Plugin:
		err = checkPlugin(p)
	default:
		err = p.Skip()
	}
	if err == nil {
		err = p.End()
	}
	var se *jsonx.SyntaxError
	if errors.As(err, &se) {
		return &ValidationError{Path: "data", Msg: "invalid JSON: " + se.Error()}
	}
	prefixPath(err, "data")
	return err
}

// rule says what a field must hold: a set of allowed JSON types, and
// whether it must be there.
type rule uint8

const (
	num rule = 1 << iota
	integer
	str
	boolean
	null
	object
	array
	required
)

// fieldRules are the rules for the fields of one object; fields without a
// rule may hold anything.
type fieldRules map[string]rule

// want describes r for an error message.
func (r rule) want() string {
	var s string
	switch {
	case r&integer != 0:
		s = "an integer"
	case r&num != 0:
		s = "a number"
	case r&str != 0:
		s = "a string"
	case r&boolean != 0:
		s = "a boolean"
	case r&object != 0:
		s = "an object"
	case r&array != 0:
		s = "an array"
	}
	if r&null != 0 {
		s += " or null"
	}
	return s
}

// check reads the next value, reporting a ValidationError on key when it
// breaks r.
func (r rule) check(p *jsonx.Parser, key string) error {
	var ok bool
	switch p.Kind() {
	case "number":
		if r&integer != 0 {
			f, err := p.Number()
			if err != nil {
				return err
			}
			if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return &ValidationError{Path: key, Msg: "want " + r.want()}
			}
			return nil
		}
		ok = r&num != 0
	case "string":
		ok = r&str != 0
	case "boolean":
		ok = r&boolean != 0
	case "null":
		ok = r&null != 0
	case "object":
		ok = r&object != 0
	case "array":
		ok = r&array != 0
	}
	if err := p.Skip(); err != nil || ok {
		return err
	}
	return &ValidationError{Path: key, Msg: "want " + r.want()}
}

// checker checks a value the parser is at, reading it.
type checker func(p *jsonx.Parser) error

// checkObject reads an object, checking its fields against rules, or, for
// the fields in special, with their checker. It reports missing required
// fields.
func checkObject(p *jsonx.Parser, rules fieldRules, special map[string]checker) error {
	if p.Kind() != "object" {
		if err := p.Skip(); err != nil {
			return err
		}
		return &ValidationError{Msg: "want an object"}
	}
	var buf [8]string
	seen := buf[:0] // required fields seen
	err := p.Object(func(key string) error {
		r, ok := rules[key]
		if r&required != 0 {
			// Of a key given twice, JSON.parse keeps the last and
			// encoding/json merges; refuse rather than guess.
			if slices.Contains(seen, key) {
				return &ValidationError{Path: key, Msg: "given twice"}
			}
			seen = append(seen, key)
		}
		if c := special[key]; c != nil {
			err := c(p)
			prefixPath(err, key)
			return err
		}
		if !ok {
			return p.Skip()
		}
		return r.check(p, key)
	})
	if err != nil {
		return err
	}
	if len(seen) == requiredCount(rules) {
		return nil
	}
	missing := ""
	for key, r := range rules { // the first missing key by name, for stable errors
		if r&required != 0 && !slices.Contains(seen, key) && (missing == "" || key < missing) {
			missing = key
		}
	}
	return &ValidationError{Path: missing, Msg: "missing, want " + rules[missing].want()}
}

// requiredCount counts the required fields of rules.
func requiredCount(rules fieldRules) int {
	n := 0
	for _, r := range rules {
		if r&required != 0 {
			n++
		}
	}
	return n
}

// arrayOf returns a checker for an array whose elements pass elem.
func arrayOf(elem checker) checker {
	return func(p *jsonx.Parser) error {
		if p.Kind() != "array" {
			if err := p.Skip(); err != nil {
				return err
			}
			return &ValidationError{Msg: "want an array"}
		}
		return p.Array(func(i int) error {
			err := elem(p)
			if err != nil {
				prefixPath(err, "["+strconv.Itoa(i)+"]")
			}
			return err
		})
	}
}

// objectOf returns a checker for an object following rules.
func objectOf(rules fieldRules) checker {
	return func(p *jsonx.Parser) error { return checkObject(p, rules, nil) }
}

// stringOf checks a string.
func stringOf(p *jsonx.Parser) error {
	_, err := p.Text()
	if err == jsonx.ErrWrongType {
		return &ValidationError{Msg: "want a string"}
	}
	return err
}

var (
	metaRules           = fieldRules{"href": str | required, "width": num, "height": num}
	customRules         = fieldRules{"tag": str | required}
	fullSnapshotRules   = fieldRules{"node": object | required, "initialOffset": object}
	fullSnapshotSpecial = map[string]checker{
		"node":          topNode,
		"initialOffset": objectOf(fieldRules{"left": num, "top": num}),
	}
)

func topNode(p *jsonx.Parser) error { return checkNode(p, 0) }

// checkChildNodes checks the children of a node at depth.
func checkChildNodes(p *jsonx.Parser, depth int) error {
	if p.Kind() != "array" {
		return array.check(p, "childNodes")
	}
	for i := 0; ; i++ {
		more, err := p.Element(i)
		if err != nil || !more {
			return err
		}
		if err := checkNode(p, depth+1); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) && ve.Msg != deepMsg {
				prefixPath(err, "childNodes["+strconv.Itoa(i)+"]")
			}
			return err
		}
	}
}

// checkAttributes checks an element's attributes (in a serialized node or
// an attribute change): an object whose values are strings, numbers,
// booleans or null. rrweb sends nothing else, but for one shape: an
// attribute change of style may be an object of CSS properties, each a
// string, false (removed) or [value, priority] (see checkStyleObject). The
// masker would not know how to mask anything else, so it is refused,
// naming the attribute.
func checkAttributes(p *jsonx.Parser) error {
	if p.Kind() != "object" {
		return object.check(p, "")
	}
	return p.Object(func(key string) error {
		switch p.Kind() {
		case "object":
			if key == "style" {
				return checkStyleObject(p)
			}
			fallthrough
		case "array":
			if err := p.Skip(); err != nil {
				return err
			}
			return &ValidationError{Path: key, Msg: "want a string, number, boolean or null"}
		}
		return p.Skip()
	})
}

// checkStyleObject checks the style of an rrweb attribute change given as
// properties: {"color": "red", "width": false, "top": ["0", "important"]}.
func checkStyleObject(p *jsonx.Parser) error {
	return p.Object(func(prop string) error {
		switch p.Kind() {
		case "string", "boolean", "null":
			return p.Skip()
		case "array":
			n := 0
			err := p.Array(func(int) error {
				if n++; n > 2 || p.Kind() != "string" {
					if err := p.Skip(); err != nil {
						return err
					}
					return &ValidationError{Path: "style." + prop, Msg: "want [value, priority] strings"}
				}
				return p.Skip()
			})
			return err
		}
		if err := p.Skip(); err != nil {
			return err
		}
		return &ValidationError{Path: "style." + prop, Msg: "want a string, false or [value, priority]"}
	})
}

var deepMsg = fmt.Sprintf("nodes nested deeper than %d", MaxNodeDepth)

// checkNode checks a serialized node and its children, nested at most
// MaxNodeDepth deep.
func checkNode(p *jsonx.Parser, depth int) error {
	if depth >= MaxNodeDepth {
		return &ValidationError{Msg: deepMsg}
	}
	if p.Kind() != "object" {
		if err := p.Skip(); err != nil {
			return err
		}
		return &ValidationError{Msg: "want an object"}
	}
	var sawID, sawType, sawTag bool
	typ := -1
	err := func() error {
		for n := 0; ; n++ {
			key, more, err := p.Member(n)
			if err != nil || !more {
				return err
			}
			switch key {
			case "id":
				sawID = true
				err = integer.check(p, key)
			case "type":
				sawType = true
				typ, err = p.Integer()
				if err == jsonx.ErrWrongType {
					err = &ValidationError{Path: key, Msg: "want an integer"}
				}
			case "tagName":
				sawTag = true
				err = str.check(p, key)
			case "attributes":
				err = checkAttributes(p)
				prefixPath(err, key)
			case "textContent":
				err = (str | null).check(p, key)
			case "name", "publicId", "systemId":
				err = str.check(p, key)
			case "rootId":
				err = integer.check(p, key)
			case "childNodes":
				err = checkChildNodes(p, depth)
			default:
				err = p.Skip()
			}
			if err != nil {
				return err
			}
		}
	}()
	switch {
	case err != nil:
		return err
	case !sawID:
		return &ValidationError{Path: "id", Msg: "missing, want an integer"}
	case !sawType:
		return &ValidationError{Path: "type", Msg: "missing, want an integer"}
	case typ == int(ElementNode) && !sawTag:
		return &ValidationError{Path: "tagName", Msg: "missing, want a string"}
	}
	return nil
}

// The rules for each incremental source; sources not listed pass.
var (
	sourceOnly     = fieldRules{"source": integer | required}
	positionsRules = withSource(fieldRules{"positions": array | required})
	positions      = map[string]checker{"positions": arrayOf(objectOf(fieldRules{
		"x": num, "y": num, "id": integer, "timeOffset": num}))}

	mutationRules = withSource(fieldRules{"texts": array, "attributes": array, "removes": array, "adds": array})
	mutation      = map[string]checker{
		"texts": arrayOf(objectOf(fieldRules{"id": integer | required, "value": str | null})),
		"attributes": arrayOf(func(p *jsonx.Parser) error {
			return checkObject(p, fieldRules{"id": integer | required, "attributes": object | required},
				map[string]checker{"attributes": checkAttributes})
		}),
		"removes": arrayOf(objectOf(fieldRules{"parentId": integer | required, "id": integer | required})),
		"adds": arrayOf(func(p *jsonx.Parser) error {
			return checkObject(p, fieldRules{"parentId": integer | required, "nextId": integer | null,
				"previousId": integer | null, "node": object | required},
				map[string]checker{"node": topNode})
		}),
	}

	selectionRules = withSource(fieldRules{"ranges": array | required})
	selection      = map[string]checker{"ranges": arrayOf(objectOf(fieldRules{
		"start": integer | required, "startOffset": integer, "end": integer | required, "endOffset": integer}))}

	sourceRules = withSources(map[Source]fieldRules{
		SourceMouseInteraction:  {"type": integer | required, "id": integer | required, "x": num, "y": num, "pointerType": integer},
		SourceScroll:            {"id": integer | required, "x": num, "y": num},
		SourceViewportResize:    {"width": num | required, "height": num | required},
		SourceInput:             {"id": integer | required, "text": str | required, "isChecked": boolean, "userTriggered": boolean},
		SourceMediaInteraction:  {"type": integer | required, "id": integer | required},
		SourceStyleSheetRule:    {"id": integer, "styleId": integer},
		SourceStyleDeclaration:  {"id": integer, "styleId": integer},
		SourceCanvasMutation:    {"id": integer | required, "type": integer},
		SourceAdoptedStyleSheet: {"id": integer | required, "styleIds": array},
	})
)

// withSources adds the source field to the rules of every source.
func withSources(m map[Source]fieldRules) map[Source]fieldRules {
	for s, r := range m {
		m[s] = withSource(r)
	}
	return m
}

func checkIncremental(p *jsonx.Parser) error {
	// rrweb writes the source first; find it without reading the rest.
	source, err := findSource(p.Input())
	if err != nil {
		return err
	}
	var rules fieldRules
	var special map[string]checker
	switch s := Source(source); s {
	case SourceMutation:
		rules, special = mutationRules, mutation
	case SourceMouseMove, SourceTouchMove, SourceDrag:
		rules, special = positionsRules, positions
	case SourceSelection:
		rules, special = selectionRules, selection
	default:
		rules = sourceRules[s]
	}
	if rules == nil {
		rules = sourceOnly
	}
	return checkObject(p, rules, special)
}

// errStop ends a walk over an object early.
var errStop = errors.New("stop")

// findSource returns the integer value of the first "source" key of the
// object data. (checkObject then makes sure it is the only one.)
func findSource(data []byte) (int, error) {
	p := jsonx.NewParser(data)
	source, found := 0, false
	err := p.Object(func(key string) error {
		if key != "source" {
			return p.Skip()
		}
		if p.Kind() != "number" {
			if err := p.Skip(); err != nil {
				return err
			}
			return &ValidationError{Path: "source", Msg: "want a number"}
		}
		s, err := p.Integer()
		if err == jsonx.ErrWrongType {
			return &ValidationError{Path: "source", Msg: "want an integer"}
		}
		source, found = s, err == nil
		if err != nil {
			return err
		}
		return errStop
	})
	switch {
	case found:
		return source, nil
	case err != nil:
		return 0, err
	}
	return 0, &ValidationError{Path: "source", Msg: "missing, want an integer"}
}

var pluginRules = fieldRules{"plugin": str | required}

// withSource adds the source field to the rules of a source.
func withSource(r fieldRules) fieldRules {
	r = maps.Clone(r)
	r["source"] = integer | required
	return r
}

var consoleSpecial = map[string]checker{"trace": arrayOf(stringOf), "payload": arrayOf(stringOf)}

func checkPlugin(p *jsonx.Parser) error {
	var plugin string
	var payload []byte
	err := checkObject(p, pluginRules, map[string]checker{
		"plugin": func(p *jsonx.Parser) error {
			s, err := p.Text()
			if err == jsonx.ErrWrongType {
				return &ValidationError{Msg: "want a string"}
			}
			plugin = s
			return err
		},
		"payload": func(p *jsonx.Parser) error {
			raw, err := p.Raw()
			payload = raw
			return err
		},
	})
	if err != nil || plugin != ConsolePlugin || payload == nil {
		return err
	}
	err = checkObject(jsonx.NewParser(payload), fieldRules{"level": str | required, "trace": array, "payload": array}, consoleSpecial)
	prefixPath(err, "payload")
	return err
}
