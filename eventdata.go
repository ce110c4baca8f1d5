package replay

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sessionreplay/replay/internal/jsonx"
)

// This file is the typed side of the rrweb 2.x event model: the enums and
// the shape of Data for every event type and incremental source, as Go
// structs whose json tags and types a test holds to the schema (schema.go).
// The typed accessors on Event decode Data for reading, from the tree
// validation keeps when there is one; they need not be lossless (unknown
// fields are dropped), Event.Data stays the source of truth.
//
// The data types are plain values, safe to read concurrently.
//
// Keys are matched exactly, as browsers read them. Numbers that rrweb
// writes as integers (ids, enums) are ints; coordinates, sizes and times are
// float64, since browsers may send fractions.

// Source is the kind of an IncrementalSnapshot event (its data.source).
type Source int

// The rrweb 2.x incremental sources. Other values are accepted and kept.
const (
	SourceMutation          Source = 0
	SourceMouseMove         Source = 1
	SourceMouseInteraction  Source = 2
	SourceScroll            Source = 3
	SourceViewportResize    Source = 4
	SourceInput             Source = 5
	SourceTouchMove         Source = 6
	SourceMediaInteraction  Source = 7
	SourceStyleSheetRule    Source = 8
	SourceCanvasMutation    Source = 9
	SourceFont              Source = 10
	SourceLog               Source = 11 // legacy console recording, as ConsolePayload
	SourceDrag              Source = 12
	SourceStyleDeclaration  Source = 13
	SourceSelection         Source = 14
	SourceAdoptedStyleSheet Source = 15
	SourceCustomElement     Source = 16
)

var sourceNames = [...]string{"Mutation", "MouseMove", "MouseInteraction", "Scroll",
	"ViewportResize", "Input", "TouchMove", "MediaInteraction", "StyleSheetRule",
	"CanvasMutation", "Font", "Log", "Drag", "StyleDeclaration", "Selection",
	"AdoptedStyleSheet", "CustomElement"}

// String returns the rrweb name of s, or its number for unknown sources.
func (s Source) String() string {
	if s >= 0 && int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

// MouseInteraction is the kind of a MouseInteraction event (its data.type).
type MouseInteraction int

// The rrweb mouse interactions.
const (
	MouseUp           MouseInteraction = 0
	MouseDown         MouseInteraction = 1
	Click             MouseInteraction = 2
	ContextMenu       MouseInteraction = 3
	DblClick          MouseInteraction = 4
	Focus             MouseInteraction = 5
	Blur              MouseInteraction = 6
	TouchStart        MouseInteraction = 7
	TouchMoveDeparted MouseInteraction = 8 // never emitted
	TouchEnd          MouseInteraction = 9
	TouchCancel       MouseInteraction = 10
)

// PointerType is the pointer of a MouseInteraction event.
type PointerType int

// The rrweb pointer types.
const (
	PointerMouse PointerType = 0
	PointerPen   PointerType = 1
	PointerTouch PointerType = 2
)

// MediaInteraction is the kind of a MediaInteraction event (its data.type).
type MediaInteraction int

// The rrweb media interactions.
const (
	MediaPlay         MediaInteraction = 0
	MediaPause        MediaInteraction = 1
	MediaSeeked       MediaInteraction = 2
	MediaVolumeChange MediaInteraction = 3
	MediaRateChange   MediaInteraction = 4
)

// NodeType is the type of a serialized DOM node.
type NodeType int

// The rrweb-snapshot node types.
const (
	DocumentNode     NodeType = 0
	DocumentTypeNode NodeType = 1
	ElementNode      NodeType = 2
	TextNode         NodeType = 3
	CDATANode        NodeType = 4
	CommentNode      NodeType = 5
)

// CanvasContext is the context of a CanvasMutation event.
type CanvasContext int

// The rrweb canvas contexts.
const (
	Canvas2D     CanvasContext = 0
	CanvasWebGL  CanvasContext = 1
	CanvasWebGL2 CanvasContext = 2
)

// ConsolePlugin is the plugin name of events recorded by rrweb's console
// plugin; their payload is a [ConsolePayload].
const ConsolePlugin = "rrweb/console@1"

// MetaData is the data of a Meta event, sent at every page load and
// checkout.
type MetaData struct {
	Href   string  `json:"href"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// FullSnapshotData is the data of a FullSnapshot event: the whole document.
type FullSnapshotData struct {
	Node          Node   `json:"node"`
	InitialOffset Offset `json:"initialOffset"`
}

// Offset is a scroll offset.
type Offset struct {
	Left float64 `json:"left"`
	Top  float64 `json:"top"`
}

// Node is a serialized DOM node (rrweb-snapshot's serializedNodeWithId).
// Which fields are set depends on Type.
type Node struct {
	ID   int      `json:"id"`
	Type NodeType `json:"type"`

	// Element.
	TagName    string         `json:"tagName,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"` // string, float64, true or nil; _cssText holds CSS
	ChildNodes []Node         `json:"childNodes,omitempty"` // also for Document
	IsSVG      bool           `json:"isSVG,omitempty"`
	IsCustom   bool           `json:"isCustom,omitempty"`

	// Text, CDATA, Comment.
	TextContent string `json:"textContent,omitempty"`
	IsStyle     bool   `json:"isStyle,omitempty"` // legacy: the text is CSS

	// DocumentType.
	Name     string `json:"name,omitempty"`
	PublicID string `json:"publicId,omitempty"`
	SystemID string `json:"systemId,omitempty"`

	// Document.
	CompatMode string `json:"compatMode,omitempty"`

	// Any node.
	RootID       int  `json:"rootId,omitempty"` // the owning iframe document, 0 for the main one
	IsShadowHost bool `json:"isShadowHost,omitempty"`
	IsShadow     bool `json:"isShadow,omitempty"`
}

// MutationData is the data of a Mutation: what changed in the DOM. The
// replayer applies removes, then adds, then texts, then attributes.
type MutationData struct {
	Texts          []TextMutation      `json:"texts"`
	Attributes     []AttributeMutation `json:"attributes"`
	Removes        []RemovedNode       `json:"removes"`
	Adds           []AddedNode         `json:"adds"`
	IsAttachIframe bool                `json:"isAttachIframe,omitempty"`
}

// TextMutation sets the text of a Text, Comment or CDATA node.
type TextMutation struct {
	ID    int     `json:"id"`
	Value *string `json:"value"`
}

// AttributeMutation changes attributes of an element. A value is a string,
// nil (removed), or for style a map of property to value, [value,
// "important"] or false (removed).
type AttributeMutation struct {
	ID         int            `json:"id"`
	Attributes map[string]any `json:"attributes"`
}

// RemovedNode removes a node, and its subtree, from its parent.
type RemovedNode struct {
	ParentID int  `json:"parentId"`
	ID       int  `json:"id"`
	IsShadow bool `json:"isShadow,omitempty"`
}

// AddedNode adds a node (without its children, which arrive as adds of
// their own) before NextID, or at the end when NextID is nil.
type AddedNode struct {
	ParentID   int  `json:"parentId"`
	NextID     *int `json:"nextId"`
	PreviousID *int `json:"previousId,omitempty"` // legacy
	Node       Node `json:"node"`
}

// MouseMoveData is the data of MouseMove, TouchMove and Drag events.
type MouseMoveData struct {
	Positions []MousePosition `json:"positions"`
}

// MousePosition is one sampled pointer position; TimeOffset is in
// milliseconds relative to the event's timestamp (zero or negative).
type MousePosition struct {
	X          float64 `json:"x"`
	Y          float64 `json:"y"`
	ID         int     `json:"id"`
	TimeOffset float64 `json:"timeOffset"`
}

// MouseInteractionData is the data of a MouseInteraction event. X and Y are
// nil for Focus and Blur.
type MouseInteractionData struct {
	Type        MouseInteraction `json:"type"`
	ID          int              `json:"id"`
	X           *float64         `json:"x,omitempty"`
	Y           *float64         `json:"y,omitempty"`
	PointerType *PointerType     `json:"pointerType,omitempty"`
}

// ScrollData is the data of a Scroll event; ID is the document's id for
// the page's own scrolling.
type ScrollData struct {
	ID int     `json:"id"`
	X  float64 `json:"x"`
	Y  float64 `json:"y"`
}

// ViewportResizeData is the data of a ViewportResize event.
type ViewportResizeData struct {
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// InputData is the data of an Input event: the value of the input ID.
type InputData struct {
	ID            int    `json:"id"`
	Text          string `json:"text"`
	IsChecked     bool   `json:"isChecked"`
	UserTriggered *bool  `json:"userTriggered,omitempty"`
}

// MediaInteractionData is the data of a MediaInteraction event.
type MediaInteractionData struct {
	Type         MediaInteraction `json:"type"`
	ID           int              `json:"id"`
	CurrentTime  *float64         `json:"currentTime,omitempty"`
	Volume       *float64         `json:"volume,omitempty"`
	Muted        *bool            `json:"muted,omitempty"`
	Loop         *bool            `json:"loop,omitempty"`
	PlaybackRate *float64         `json:"playbackRate,omitempty"`
}

// StyleSheetRuleData is the data of a StyleSheetRule event: rules added to
// or removed from the style sheet of node ID, or of constructed sheet
// StyleID.
type StyleSheetRuleData struct {
	ID          *int            `json:"id,omitempty"`
	StyleID     *int            `json:"styleId,omitempty"`
	Adds        []StyleRule     `json:"adds,omitempty"`
	Removes     []StyleRuleSpot `json:"removes,omitempty"`
	Replace     *string         `json:"replace,omitempty"`
	ReplaceSync *string         `json:"replaceSync,omitempty"`
}

// StyleRule is a CSS rule inserted at Index: a number, a path of numbers
// into nested rules ([]any of float64), or nil to append.
type StyleRule struct {
	Rule  string `json:"rule"`
	Index any    `json:"index,omitempty"`
}

// StyleRuleSpot is the Index of a deleted rule (as in [StyleRule]).
type StyleRuleSpot struct {
	Index any `json:"index"`
}

// CanvasMutationData is the data of a CanvasMutation event: Commands, or
// for legacy recordings one command in Property, Args and Setter.
type CanvasMutationData struct {
	ID       int             `json:"id"`
	Type     CanvasContext   `json:"type"`
	Commands []CanvasCommand `json:"commands,omitempty"`

	// Legacy: a single command.
	Property string            `json:"property,omitempty"`
	Args     []json.RawMessage `json:"args,omitempty"`
	Setter   bool              `json:"setter,omitempty"`
}

// CanvasCommand is one call or property set on a canvas context. Args are
// kept as JSON: they may be serialized buffers, blobs and images.
type CanvasCommand struct {
	Property string            `json:"property,omitempty"`
	Args     []json.RawMessage `json:"args,omitempty"`
	Setter   bool              `json:"setter,omitempty"`
}

// FontData is the data of a Font event (recorded with collectFonts).
// FontSource is a URL, or with Buffer a JSON array of bytes.
type FontData struct {
	Family      string         `json:"family"`
	FontSource  string         `json:"fontSource"`
	Buffer      bool           `json:"buffer"`
	Descriptors map[string]any `json:"descriptors,omitempty"`
}

// StyleDeclarationData is the data of a StyleDeclaration event: a property
// of the rule at Index set or removed.
type StyleDeclarationData struct {
	ID      *int              `json:"id,omitempty"`
	StyleID *int              `json:"styleId,omitempty"`
	Index   []int             `json:"index"`
	Set     *StyleDeclaration `json:"set,omitempty"`
	Remove  *StyleDeclaration `json:"remove,omitempty"`
}

// StyleDeclaration is a CSS property; Value is nil when it is unset.
type StyleDeclaration struct {
	Property string  `json:"property"`
	Value    *string `json:"value,omitempty"`
	Priority string  `json:"priority,omitempty"`
}

// SelectionData is the data of a Selection event.
type SelectionData struct {
	Ranges []SelectionRange `json:"ranges"`
}

// SelectionRange is a selected range between two nodes.
type SelectionRange struct {
	Start       int `json:"start"`
	StartOffset int `json:"startOffset"`
	End         int `json:"end"`
	EndOffset   int `json:"endOffset"`
}

// AdoptedStyleSheetData is the data of an AdoptedStyleSheet event: the
// constructed sheets adopted by the document or shadow root of ID.
type AdoptedStyleSheetData struct {
	ID       int             `json:"id"`
	StyleIDs []int           `json:"styleIds"`
	Styles   []AdoptedStyles `json:"styles,omitempty"`
}

// AdoptedStyles are the rules of a constructed style sheet.
type AdoptedStyles struct {
	StyleID int         `json:"styleId"`
	Rules   []StyleRule `json:"rules"`
}

// CustomElementData is the data of a CustomElement event.
type CustomElementData struct {
	Define *CustomElementDefine `json:"define,omitempty"`
}

// CustomElementDefine is a customElements.define call.
type CustomElementDefine struct {
	Name string `json:"name"`
}

// CustomData is the data of a Custom event (rrweb's addCustomEvent;
// recorder.js sends $pageview and $error this way).
type CustomData struct {
	Tag     string          `json:"tag"`
	Payload json.RawMessage `json:"payload"`
}

// PluginData is the data of a Plugin event.
type PluginData struct {
	Plugin  string          `json:"plugin"`
	Payload json.RawMessage `json:"payload"`
}

// ConsolePayload is the payload of a console plugin event ([ConsolePlugin])
// and the data of a legacy Log event. Each element of Payload is itself
// JSON text (one logged argument); Trace holds stack frames.
type ConsolePayload struct {
	Level   string   `json:"level"`
	Trace   []string `json:"trace"`
	Payload []string `json:"payload"`
}

// Source returns the source of an IncrementalSnapshot event.
func (e *Event) Source() (Source, error) {
	if e.Type != IncrementalSnapshot {
		return 0, fmt.Errorf("replay: type %v has no source", e.Type)
	}
	var s Source
	var err error
	if t := e.decoded(); t != nil {
		s, err = sourceOf(t)
	} else {
		s, err = findSource(e.Data)
	}
	if err != nil {
		return 0, fmt.Errorf("replay: data: %w", err)
	}
	return s, nil
}

// findSource returns the value of the "source" key of the object data,
// for events not decoded yet. Of a key given twice the last counts, as in
// the tree.
func findSource(data []byte) (Source, error) {
	p := jsonx.NewParser(data)
	source, found := Source(0), false
	err := p.Object(func(key string) error {
		if key != "source" {
			return p.Skip()
		}
		s, err := p.Integer()
		if err == jsonx.ErrWrongType {
			return &ValidationError{Path: "source", Msg: "want an integer"}
		}
		source, found = Source(s), err == nil
		return err
	})
	switch {
	case err != nil:
		return 0, err
	case !found:
		return 0, &ValidationError{Path: "source", Msg: "missing, want an integer"}
	}
	return source, nil
}

// decodeData decodes e's data after checking its type, and for incremental
// events its source.
func decodeData[T any](e *Event, typ EventType, sources ...Source) (T, error) {
	var d T
	if e.Type != typ {
		return d, fmt.Errorf("replay: want type %v, have %v", typ, e.Type)
	}
	if len(sources) > 0 {
		s, err := e.Source()
		if err != nil {
			return d, err
		}
		if !slices.Contains(sources, s) {
			return d, fmt.Errorf("replay: want source %v, have %v", sources[0], s)
		}
	}
	tree, err := e.readTree()
	if err == nil {
		d, err = treeAs[T](tree)
	}
	if err != nil {
		return d, fmt.Errorf("replay: %v data: %w", typ, err)
	}
	return d, nil
}

// Meta returns the data of a Meta event.
func (e *Event) Meta() (MetaData, error) { return decodeData[MetaData](e, Meta) }

// FullSnapshot returns the data of a FullSnapshot event.
func (e *Event) FullSnapshot() (FullSnapshotData, error) {
	return decodeData[FullSnapshotData](e, FullSnapshot)
}

// Custom returns the data of a Custom event.
func (e *Event) Custom() (CustomData, error) { return decodeData[CustomData](e, Custom) }

// Plugin returns the data of a Plugin event.
func (e *Event) Plugin() (PluginData, error) { return decodeData[PluginData](e, Plugin) }

// Console returns the payload of a console plugin event, or of a legacy
// Log event.
func (e *Event) Console() (ConsolePayload, error) {
	if e.Type == IncrementalSnapshot {
		return decodeData[ConsolePayload](e, IncrementalSnapshot, SourceLog)
	}
	p, err := e.Plugin()
	if err != nil {
		return ConsolePayload{}, err
	}
	if p.Plugin != ConsolePlugin {
		return ConsolePayload{}, fmt.Errorf("replay: want plugin %s, have %q", ConsolePlugin, p.Plugin)
	}
	tree, err := e.readTree()
	if err != nil {
		return ConsolePayload{}, fmt.Errorf("replay: console payload: %w", err)
	}
	c, err := treeAs[ConsolePayload](tree.Get("payload"))
	if err != nil {
		return c, fmt.Errorf("replay: console payload: %w", err)
	}
	return c, nil
}

// Mutation returns the data of a Mutation event.
func (e *Event) Mutation() (MutationData, error) {
	return decodeData[MutationData](e, IncrementalSnapshot, SourceMutation)
}

// MouseMove returns the data of a MouseMove, TouchMove or Drag event.
func (e *Event) MouseMove() (MouseMoveData, error) {
	return decodeData[MouseMoveData](e, IncrementalSnapshot, SourceMouseMove, SourceTouchMove, SourceDrag)
}

// MouseInteraction returns the data of a MouseInteraction event.
func (e *Event) MouseInteraction() (MouseInteractionData, error) {
	return decodeData[MouseInteractionData](e, IncrementalSnapshot, SourceMouseInteraction)
}

// Scroll returns the data of a Scroll event.
func (e *Event) Scroll() (ScrollData, error) {
	return decodeData[ScrollData](e, IncrementalSnapshot, SourceScroll)
}

// ViewportResize returns the data of a ViewportResize event.
func (e *Event) ViewportResize() (ViewportResizeData, error) {
	return decodeData[ViewportResizeData](e, IncrementalSnapshot, SourceViewportResize)
}

// Input returns the data of an Input event.
func (e *Event) Input() (InputData, error) {
	return decodeData[InputData](e, IncrementalSnapshot, SourceInput)
}

// MediaInteraction returns the data of a MediaInteraction event.
func (e *Event) MediaInteraction() (MediaInteractionData, error) {
	return decodeData[MediaInteractionData](e, IncrementalSnapshot, SourceMediaInteraction)
}

// StyleSheetRule returns the data of a StyleSheetRule event.
func (e *Event) StyleSheetRule() (StyleSheetRuleData, error) {
	return decodeData[StyleSheetRuleData](e, IncrementalSnapshot, SourceStyleSheetRule)
}

// CanvasMutation returns the data of a CanvasMutation event.
func (e *Event) CanvasMutation() (CanvasMutationData, error) {
	return decodeData[CanvasMutationData](e, IncrementalSnapshot, SourceCanvasMutation)
}

// Font returns the data of a Font event.
func (e *Event) Font() (FontData, error) {
	return decodeData[FontData](e, IncrementalSnapshot, SourceFont)
}

// StyleDeclaration returns the data of a StyleDeclaration event.
func (e *Event) StyleDeclaration() (StyleDeclarationData, error) {
	return decodeData[StyleDeclarationData](e, IncrementalSnapshot, SourceStyleDeclaration)
}

// Selection returns the data of a Selection event.
func (e *Event) Selection() (SelectionData, error) {
	return decodeData[SelectionData](e, IncrementalSnapshot, SourceSelection)
}

// AdoptedStyleSheet returns the data of an AdoptedStyleSheet event.
func (e *Event) AdoptedStyleSheet() (AdoptedStyleSheetData, error) {
	return decodeData[AdoptedStyleSheetData](e, IncrementalSnapshot, SourceAdoptedStyleSheet)
}

// CustomElement returns the data of a CustomElement event.
func (e *Event) CustomElement() (CustomElementData, error) {
	return decodeData[CustomElementData](e, IncrementalSnapshot, SourceCustomElement)
}

// treeAs decodes x, a value of a tree jsonx.Decode made, into a T, as
// json.Unmarshal would decode its JSON, but matching struct fields by their
// json tag exactly, as browsers read keys. (The tags are those of the
// schema; a test checks it.) Strings are copied out of the tree, so the
// result does not keep the event's JSON alive.
func treeAs[T any](x any) (T, error) {
	var d T
	err := fromTree(x, reflect.ValueOf(&d).Elem(), "")
	return d, err
}

// typeError is a value of the wrong JSON type for a Go field.
type typeError struct {
	path string
	want string
	got  string
}

func (e *typeError) Error() string {
	if e.path == "" {
		return fmt.Sprintf("want %s, got %s", e.want, e.got)
	}
	return fmt.Sprintf("%s: want %s, got %s", e.path, e.want, e.got)
}

// kindOf names the JSON type of a decoded value.
func kindOf(x any) string {
	switch x.(type) {
	case *jsonx.Object:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// fromTree sets v from the decoded value x; path names x in errors.
func fromTree(x any, v reflect.Value, path string) error {
	if x == nil {
		v.SetZero()
		return nil
	}
	if v.Type() == rawMessageType {
		b, err := jsonx.Marshal(x)
		v.SetBytes(b)
		return err
	}
	wrong := func(want string) error { return &typeError{path: path, want: want, got: kindOf(x)} }
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return fromTree(x, v.Elem(), path)
	case reflect.Struct:
		o, ok := x.(*jsonx.Object)
		if !ok {
			return wrong("an object")
		}
		fields := structFields(v.Type())
		for _, m := range o.Members {
			if i, ok := fields[m.Key]; ok {
				if err := fromTree(m.Value, v.Field(i), joinPath(path, m.Key)); err != nil {
					return err
				}
			}
		}
		return nil
	case reflect.Slice:
		a, ok := x.([]any)
		if !ok {
			return wrong("an array")
		}
		v.Set(reflect.MakeSlice(v.Type(), len(a), len(a)))
		for i, elem := range a {
			if err := fromTree(elem, v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		o, ok := x.(*jsonx.Object)
		if !ok || v.Type().Key().Kind() != reflect.String {
			return wrong("an object")
		}
		v.Set(reflect.MakeMapWithSize(v.Type(), len(o.Members)))
		for _, m := range o.Members {
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := fromTree(m.Value, elem, joinPath(path, m.Key)); err != nil {
				return err
			}
			v.SetMapIndex(reflect.ValueOf(strings.Clone(m.Key)).Convert(v.Type().Key()), elem)
		}
		return nil
	case reflect.String:
		s, ok := x.(string)
		if !ok {
			return wrong("a string")
		}
		v.SetString(strings.Clone(s))
		return nil
	case reflect.Bool:
		b, ok := x.(bool)
		if !ok {
			return wrong("a boolean")
		}
		v.SetBool(b)
		return nil
	case reflect.Float64, reflect.Float32:
		n, ok := x.(json.Number)
		if !ok {
			return wrong("a number")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		v.SetFloat(f)
		return err
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := x.(json.Number)
		if !ok {
			return wrong("an integer")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 || v.OverflowInt(int64(f)) {
			return &typeError{path: path, want: "an integer", got: string(n)}
		}
		v.SetInt(int64(f))
		return nil
	case reflect.Interface:
		if v.NumMethod() == 0 {
			v.Set(reflect.ValueOf(plainValue(x)))
			return nil
		}
	}
	return fmt.Errorf("replay: cannot decode into %s", v.Type())
}

// plainValue turns a decoded value into what json.Unmarshal makes of it in
// an any: objects as map[string]any, numbers as float64, strings copied.
func plainValue(x any) any {
	switch x := x.(type) {
	case *jsonx.Object:
		m := make(map[string]any, len(x.Members))
		for _, mem := range x.Members {
			m[strings.Clone(mem.Key)] = plainValue(mem.Value)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, elem := range x {
			a[i] = plainValue(elem)
		}
		return a
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64) // in range: Decode checks it
		return f
	case string:
		return strings.Clone(x)
	}
	return x
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var fieldCache sync.Map // reflect.Type → map[string]int

// structFields maps the json names of t's exported fields to their index.
func structFields(t reflect.Type) map[string]int {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]int)
	}
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = i
	}
	fieldCache.Store(t, fields)
	return fields
}
