package replay

import "reflect"

// This file is the rrweb 2.x event schema, written once: for every event
// type, incremental source and plugin, the fields of Data, the JSON types
// they may hold, whether they must be there, and the shapes of nested
// objects. Validation (eventcheck.go) checks events against it; the typed
// data structs of eventdata.go are checked against it by a test (every json
// tag a field of the table with a compatible Go type, and the other way
// round), and the facts read events through those structs.
//
// Fields not in the table may hold anything and pass untouched; a field in
// the table must have one of its types wherever it appears. null is
// accepted only where the table says so.

// jsonType is a set of the JSON types a field may hold.
type jsonType uint8

const (
	tNumber  jsonType = 1 << iota
	tInteger          // a number with an integral value, at most 2^53 in magnitude
	tString
	tBool
	tNull
	tObject
	tArray

	tAny = tNumber | tString | tBool | tNull | tObject | tArray
)

// want describes t for an error message: "an integer", "a string or null".
func (t jsonType) want() string {
	var s string
	switch {
	case t&tInteger != 0:
		s = "an integer"
	case t&tNumber != 0:
		s = "a number"
	case t&tString != 0:
		s = "a string"
	case t&tBool != 0:
		s = "a boolean"
	case t&tObject != 0:
		s = "an object"
	case t&tArray != 0:
		s = "an array"
	}
	if t&tNull != 0 {
		s += " or null"
	}
	return s
}

// special names a field checked by code of its own, beyond its types.
type special uint8

const (
	_ special = iota // none: the field is checked by its types alone
	// specNode is a serialized DOM node (nodeShape), with its children
	// nested at most MaxNodeDepth deep, and a tagName if it is an element.
	specNode
	// specChildren is the childNodes array of a node: nodes one level
	// deeper.
	specChildren
	// specAttributes are an element's attributes: an object whose values
	// are strings, numbers, booleans or null, but for the CSS properties
	// an attribute change may give style as.
	specAttributes
)

// dataField is one field of an object in Data.
type dataField struct {
	name     string
	types    jsonType
	required bool
	// shape is the fields of an object, or of each element (an object) of
	// an array.
	shape *shape
	// elems is what each element of an array of non-objects may be; zero
	// for anything.
	elems   jsonType
	special special
}

// shape is the fields of one kind of object, and the Go struct of
// eventdata.go that reads it (nil for objects only validated).
type shape struct {
	goType reflect.Type
	fields []dataField
}

// lookup returns the field called name, or nil.
func (s *shape) lookup(name string) *dataField {
	for i := range s.fields {
		if s.fields[i].name == name {
			return &s.fields[i]
		}
	}
	return nil
}

// Helpers that make the table read as a table.
func req(name string, t jsonType) dataField { return dataField{name: name, types: t, required: true} }
func opt(name string, t jsonType) dataField { return dataField{name: name, types: t} }
func objectField(name string, required bool, s *shape) dataField {
	return dataField{name: name, types: tObject, required: required, shape: s}
}
func arrayField(name string, required bool, s *shape) dataField {
	return dataField{name: name, types: tArray, required: required, shape: s}
}
func listField(name string, elems jsonType) dataField {
	return dataField{name: name, types: tArray, elems: elems}
}
func shapeOf[T any](fields ...dataField) *shape {
	return &shape{goType: reflect.TypeFor[T](), fields: fields}
}

// sourceField is the field every incremental snapshot starts with.
var sourceField = req("source", tInteger)

// The shapes nested in the data of events.
var (
	// nodeShape is a serialized DOM node (rrweb-snapshot's
	// serializedNodeWithId); which fields are set depends on its type.
	nodeShape = shapeOf[Node](
		req("id", tInteger),
		req("type", tInteger),
		opt("tagName", tString), // required of elements (specNode)
		dataField{name: "attributes", types: tObject, special: specAttributes},
		dataField{name: "childNodes", types: tArray, special: specChildren},
		opt("isSVG", tBool),
		opt("isCustom", tBool),
		opt("textContent", tString|tNull),
		opt("isStyle", tBool),
		opt("name", tString),
		opt("publicId", tString),
		opt("systemId", tString),
		opt("compatMode", tString),
		opt("rootId", tInteger),
		opt("isShadowHost", tBool),
		opt("isShadow", tBool),
	)
	styleRuleShape = shapeOf[StyleRule](
		opt("rule", tString),
		opt("index", tAny), // a number, a path of numbers, or absent
	)
	styleDeclarationShape = shapeOf[StyleDeclaration](
		opt("property", tString),
		opt("value", tString|tNull),
		opt("priority", tString),
	)
	canvasCommandFields = []dataField{
		opt("property", tString),
		listField("args", 0), // serialized values, buffers, images
		opt("setter", tBool),
	}
	consoleShape = shapeOf[ConsolePayload](
		req("level", tString),
		listField("trace", tString),
		listField("payload", tString), // each logged argument as JSON text
	)
)

// eventShapes are the shapes of Data by event type; types not listed
// (DomContentLoaded, Load, Asset and unknown ones) pass, as long as Data is
// an object. IncrementalSnapshot's shape depends on its source.
var eventShapes = map[EventType]*shape{
	Meta: shapeOf[MetaData](
		req("href", tString),
		opt("width", tNumber),
		opt("height", tNumber),
	),
	FullSnapshot: shapeOf[FullSnapshotData](
		dataField{name: "node", types: tObject, required: true, special: specNode},
		objectField("initialOffset", false, shapeOf[Offset](
			opt("left", tNumber),
			opt("top", tNumber),
		)),
	),
	Custom: shapeOf[CustomData](
		req("tag", tString),
		opt("payload", tAny),
	),
	Plugin: shapeOf[PluginData](
		req("plugin", tString),
		opt("payload", tAny), // checked by pluginPayloads
	),
}

// pluginPayloads are the shapes of the payload of Plugin events by plugin
// name; other plugins' payloads pass.
var pluginPayloads = map[string]*shape{
	ConsolePlugin: consoleShape,
}

// sourceShapes are the shapes of the Data of IncrementalSnapshot events by
// source, each with the source field first; sources not listed pass, with
// an integer source.
var sourceShapes = func() map[Source]*shape {
	positions := shapeOf[MouseMoveData](
		arrayField("positions", true, shapeOf[MousePosition](
			opt("x", tNumber),
			opt("y", tNumber),
			opt("id", tInteger),
			opt("timeOffset", tNumber),
		)),
	)
	m := map[Source]*shape{
		SourceMutation: shapeOf[MutationData](
			arrayField("texts", false, shapeOf[TextMutation](
				req("id", tInteger),
				opt("value", tString|tNull),
			)),
			arrayField("attributes", false, shapeOf[AttributeMutation](
				req("id", tInteger),
				dataField{name: "attributes", types: tObject, required: true, special: specAttributes},
			)),
			arrayField("removes", false, shapeOf[RemovedNode](
				req("parentId", tInteger),
				req("id", tInteger),
				opt("isShadow", tBool),
			)),
			arrayField("adds", false, shapeOf[AddedNode](
				req("parentId", tInteger),
				opt("nextId", tInteger|tNull),
				opt("previousId", tInteger|tNull),
				dataField{name: "node", types: tObject, required: true, special: specNode},
			)),
			opt("isAttachIframe", tBool),
		),
		SourceMouseMove: positions,
		SourceTouchMove: positions,
		SourceDrag:      positions,
		SourceMouseInteraction: shapeOf[MouseInteractionData](
			req("type", tInteger),
			req("id", tInteger),
			opt("x", tNumber),
			opt("y", tNumber),
			opt("pointerType", tInteger),
		),
		SourceScroll: shapeOf[ScrollData](
			req("id", tInteger),
			opt("x", tNumber),
			opt("y", tNumber),
		),
		SourceViewportResize: shapeOf[ViewportResizeData](
			req("width", tNumber),
			req("height", tNumber),
		),
		SourceInput: shapeOf[InputData](
			req("id", tInteger),
			req("text", tString),
			opt("isChecked", tBool),
			opt("userTriggered", tBool),
		),
		SourceMediaInteraction: shapeOf[MediaInteractionData](
			req("type", tInteger),
			req("id", tInteger),
			opt("currentTime", tNumber),
			opt("volume", tNumber),
			opt("muted", tBool),
			opt("loop", tBool),
			opt("playbackRate", tNumber),
		),
		SourceStyleSheetRule: shapeOf[StyleSheetRuleData](
			opt("id", tInteger),
			opt("styleId", tInteger),
			arrayField("adds", false, styleRuleShape),
			arrayField("removes", false, shapeOf[StyleRuleSpot](
				opt("index", tAny),
			)),
			opt("replace", tString),
			opt("replaceSync", tString),
		),
		SourceCanvasMutation: shapeOf[CanvasMutationData](append([]dataField{
			req("id", tInteger),
			opt("type", tInteger),
			arrayField("commands", false, shapeOf[CanvasCommand](canvasCommandFields...)),
		}, canvasCommandFields...)...), // legacy: one command in the data
		SourceFont: shapeOf[FontData](
			opt("family", tString),
			opt("fontSource", tString),
			opt("buffer", tBool),
			opt("descriptors", tObject),
		),
		SourceLog: {goType: consoleShape.goType, fields: consoleShape.fields}, // legacy console recording
		SourceStyleDeclaration: shapeOf[StyleDeclarationData](
			opt("id", tInteger),
			opt("styleId", tInteger),
			listField("index", tInteger),
			objectField("set", false, styleDeclarationShape),
			objectField("remove", false, styleDeclarationShape),
		),
		SourceSelection: shapeOf[SelectionData](
			arrayField("ranges", true, shapeOf[SelectionRange](
				req("start", tInteger),
				opt("startOffset", tInteger),
				req("end", tInteger),
				opt("endOffset", tInteger),
			)),
		),
		SourceAdoptedStyleSheet: shapeOf[AdoptedStyleSheetData](
			req("id", tInteger),
			listField("styleIds", tInteger),
			arrayField("styles", false, shapeOf[AdoptedStyles](
				opt("styleId", tInteger),
				arrayField("rules", false, styleRuleShape),
			)),
		),
		SourceCustomElement: shapeOf[CustomElementData](
			objectField("define", false, shapeOf[CustomElementDefine](
				opt("name", tString),
			)),
		),
	}
	// Every source shape starts with the source; shapes shared by
	// several sources get it once.
	done := map[*shape]bool{}
	for _, s := range m {
		if !done[s] {
			done[s] = true
			s.fields = append([]dataField{sourceField}, s.fields...)
		}
	}
	return m
}()

// sourceOnly is the shape of incremental snapshots of other sources.
var sourceOnly = &shape{fields: []dataField{sourceField}}
