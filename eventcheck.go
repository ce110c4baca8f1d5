package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/sessionreplay/replay/internal/jsonx"
)

// This file checks the Data of events against the schema (schema.go): the
// fields the pipeline reads must have the types rrweb gives them. Data is
// decoded once, into the event's tree, which the steps after validation
// read. Paths in errors are relative to the event ("data.adds[3].node.id");
// Batch.Validate puts "events[i]" in front.
//
// Of a key given twice, the tree keeps the last value, as JSON.parse does
// in the player; everything after validation reads the tree, so what is
// checked is what is masked, stored and replayed.

// validate checks one event, decoding its Data into e.tree unless it is
// decoded already.
func (e *Event) validate() error {
	if math.IsNaN(e.Timestamp) || math.IsInf(e.Timestamp, 0) {
		return &ValidationError{Path: "timestamp", Msg: "want a number"}
	}
	data, err := e.dataTree()
	if err != nil {
		return err
	}
	err = checkData(e.Type, data)
	prefixPath(err, "data")
	return err
}

// dataTree returns e's Data decoded, decoding it into e.tree the first
// time. Errors are ValidationErrors on "data".
func (e *Event) dataTree() (*jsonx.Object, error) {
	if t := e.decoded(); t != nil {
		return t, nil
	}
	o, err := decodeTree(e.Data)
	if err != nil {
		return nil, err
	}
	e.setTree(o)
	return o, nil
}

// readTree returns e's Data decoded, from e.tree when it is set, without
// keeping it: for the methods that only read an event.
func (e *Event) readTree() (*jsonx.Object, error) {
	if t := e.decoded(); t != nil {
		return t, nil
	}
	return decodeTree(e.Data)
}

// decodeTree decodes the Data of an event, which must be a JSON object.
// Errors are ValidationErrors on "data".
func decodeTree(data []byte) (*jsonx.Object, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, &ValidationError{Path: "data", Msg: "want an object"}
	}
	v, err := jsonx.Decode(data)
	if err != nil {
		var se *jsonx.SyntaxError
		if errors.As(err, &se) {
			return nil, &ValidationError{Path: "data", Msg: "invalid JSON: " + se.Error()}
		}
		return nil, &ValidationError{Path: "data", Msg: err.Error()}
	}
	o, ok := v.(*jsonx.Object)
	if !ok { // unreachable: the text starts with '{'
		return nil, &ValidationError{Path: "data", Msg: "want an object"}
	}
	return o, nil
}

// checkData checks the data of an event of type typ against its shape.
func checkData(typ EventType, data *jsonx.Object) error {
	var s *shape
	switch typ {
	case IncrementalSnapshot:
		source, err := sourceOf(data)
		if err != nil {
			return err
		}
		if s = sourceShapes[source]; s == nil {
			s = sourceOnly
		}
	default:
		if s = eventShapes[typ]; s == nil {
			return nil
		}
	}
	if err := checkObject(data, s, 0); err != nil || typ != Plugin {
		return err
	}
	plugin, _ := data.Get("plugin").(string)
	payload, ok := data.Lookup("payload")
	ps := pluginPayloads[plugin]
	if ps == nil || !ok {
		return nil
	}
	o, ok := payload.(*jsonx.Object)
	if !ok {
		return &ValidationError{Path: "payload", Msg: "want an object"}
	}
	err := checkObject(o, ps, 0)
	prefixPath(err, "payload")
	return err
}

// sourceOf returns the source of the data of an incremental snapshot.
func sourceOf(data *jsonx.Object) (Source, error) {
	v, ok := data.Lookup("source")
	if !ok {
		return 0, &ValidationError{Path: "source", Msg: "missing, want an integer"}
	}
	n, ok := v.(json.Number)
	if !ok || !isInteger(n) {
		return 0, &ValidationError{Path: "source", Msg: "want an integer"}
	}
	f, _ := strconv.ParseFloat(string(n), 64)
	if f < math.MinInt32 || f > math.MaxInt32 {
		return 0, &ValidationError{Path: "source", Msg: "want an integer of 32 bits"}
	}
	return Source(f), nil
}

// has reports whether the decoded value v is of one of the types of t.
func (t jsonType) has(v any) bool {
	switch v := v.(type) {
	case json.Number:
		if t&tNumber != 0 {
			return true
		}
		return t&tInteger != 0 && isInteger(v)
	case string:
		return t&tString != 0
	case bool:
		return t&tBool != 0
	case nil:
		return t&tNull != 0
	case *jsonx.Object:
		return t&tObject != 0
	case []any:
		return t&tArray != 0
	}
	return false
}

// isInteger reports whether the number n has an integral value of at most
// 2^53 in magnitude, which a browser holds exactly.
func isInteger(n json.Number) bool {
	s := string(n)
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) > 0 && len(s) <= 15 {
		digits := true
		for i := 0; i < len(s) && digits; i++ {
			digits = s[i] >= '0' && s[i] <= '9'
		}
		if digits {
			return true
		}
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return err == nil && f == math.Trunc(f) && math.Abs(f) <= 1<<53
}

// checkObject checks the members of o that are fields of s, in the order
// they came, then that the required fields of s are there. depth is the
// nesting of the node o is part of, for nodes' children.
func checkObject(o *jsonx.Object, s *shape, depth int) error {
	for _, m := range o.Members {
		f := s.lookup(m.Key)
		if f == nil {
			continue
		}
		if err := checkField(m.Value, f, depth); err != nil {
			if !(f.special == specChildren && isDeep(err)) {
				// Too deep is reported on the top node.
				prefixPath(err, m.Key)
			}
			return err
		}
	}
	for i := range s.fields {
		f := &s.fields[i]
		if f.required {
			if _, ok := o.Lookup(f.name); !ok {
				return &ValidationError{Path: f.name, Msg: "missing, want " + f.types.want()}
			}
		}
	}
	return nil
}

// checkField checks the value v of field f; the error's path is relative
// to v.
func checkField(v any, f *dataField, depth int) error {
	switch f.special {
	case specNode:
		return checkNode(v, 0)
	case specChildren:
		return checkChildNodes(v, depth)
	case specAttributes:
		return checkAttributes(v)
	}
	if !f.types.has(v) {
		return &ValidationError{Msg: "want " + f.types.want()}
	}
	switch v := v.(type) {
	case *jsonx.Object:
		if f.shape != nil {
			return checkObject(v, f.shape, depth)
		}
	case []any:
		for i, elem := range v {
			var err error
			switch o, ok := elem.(*jsonx.Object); {
			case f.shape != nil && !ok:
				err = &ValidationError{Msg: "want an object"}
			case f.shape != nil:
				err = checkObject(o, f.shape, depth)
			case f.elems != 0 && !f.elems.has(elem):
				err = &ValidationError{Msg: "want " + f.elems.want()}
			}
			if err != nil {
				prefixPath(err, "["+strconv.Itoa(i)+"]")
				return err
			}
		}
	}
	return nil
}

// numberIs reports whether n is the number want.
func numberIs(n json.Number, want int) bool {
	if len(n) == 1 {
		return int(n[0]-'0') == want
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return err == nil && f == float64(want)
}

var deepMsg = fmt.Sprintf("nodes nested deeper than %d", MaxNodeDepth)

func isDeep(err error) bool {
	var ve *ValidationError
	return errors.As(err, &ve) && ve.Msg == deepMsg
}

// checkNode checks a serialized node at depth and its children, nested at
// most MaxNodeDepth deep.
func checkNode(v any, depth int) error {
	if depth >= MaxNodeDepth {
		return &ValidationError{Msg: deepMsg}
	}
	o, ok := v.(*jsonx.Object)
	if !ok {
		return &ValidationError{Msg: "want an object"}
	}
	if err := checkObject(o, nodeShape, depth); err != nil {
		return err
	}
	if typ, _ := o.Get("type").(json.Number); numberIs(typ, int(ElementNode)) {
		if _, ok := o.Lookup("tagName"); !ok {
			return &ValidationError{Path: "tagName", Msg: "missing, want a string"}
		}
	}
	return nil
}

// checkChildNodes checks the children of a node at depth.
func checkChildNodes(v any, depth int) error {
	a, ok := v.([]any)
	if !ok {
		return &ValidationError{Msg: "want an array"}
	}
	for i, child := range a {
		if err := checkNode(child, depth+1); err != nil {
			if !isDeep(err) {
				prefixPath(err, "["+strconv.Itoa(i)+"]")
			}
			return err
		}
	}
	return nil
}

// checkAttributes checks an element's attributes (in a serialized node or
// an attribute change): an object whose values are strings, numbers,
// booleans or null. rrweb sends nothing else, but for one shape: an
// attribute change of style may be an object of CSS properties, each a
// string, false (removed) or [value, priority] (see checkStyleObject). The
// masker would not know how to mask anything else, so it is refused,
// naming the attribute.
func checkAttributes(v any) error {
	o, ok := v.(*jsonx.Object)
	if !ok {
		return &ValidationError{Msg: "want an object"}
	}
	for _, m := range o.Members {
		switch val := m.Value.(type) {
		case *jsonx.Object:
			if m.Key == "style" {
				if err := checkStyleObject(val); err != nil {
					return err
				}
				continue
			}
			return &ValidationError{Path: m.Key, Msg: "want a string, number, boolean or null"}
		case []any:
			return &ValidationError{Path: m.Key, Msg: "want a string, number, boolean or null"}
		}
	}
	return nil
}

// checkStyleObject checks the style of an rrweb attribute change given as
// properties: {"color": "red", "width": false, "top": ["0", "important"]}.
func checkStyleObject(o *jsonx.Object) error {
	for _, m := range o.Members {
		switch val := m.Value.(type) {
		case string, bool, nil:
		case []any:
			if len(val) > 2 {
				return &ValidationError{Path: "style." + m.Key, Msg: "want [value, priority] strings"}
			}
			for _, s := range val {
				if _, ok := s.(string); !ok {
					return &ValidationError{Path: "style." + m.Key, Msg: "want [value, priority] strings"}
				}
			}
		default:
			return &ValidationError{Path: "style." + m.Key, Msg: "want a string, false or [value, priority]"}
		}
	}
	return nil
}
