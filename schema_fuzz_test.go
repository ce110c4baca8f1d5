package replay

import (
	"reflect"
	"testing"
)

// typedData calls the typed accessor of e's type and source, returning
// what it decoded, or nil for events without one.
func typedData(e *Event) (any, error) {
	switch e.Type {
	case Meta:
		return e.Meta()
	case FullSnapshot:
		return e.FullSnapshot()
	case Custom:
		return e.Custom()
	case Plugin:
		p, err := e.Plugin()
		if err != nil || p.Plugin != ConsolePlugin {
			return p, err
		}
		return e.Console()
	case IncrementalSnapshot:
		s, err := e.Source()
		if err != nil {
			return nil, err
		}
		switch s {
		case SourceMutation:
			return e.Mutation()
		case SourceMouseMove, SourceTouchMove, SourceDrag:
			return e.MouseMove()
		case SourceMouseInteraction:
			return e.MouseInteraction()
		case SourceScroll:
			return e.Scroll()
		case SourceViewportResize:
			return e.ViewportResize()
		case SourceInput:
			return e.Input()
		case SourceMediaInteraction:
			return e.MediaInteraction()
		case SourceStyleSheetRule:
			return e.StyleSheetRule()
		case SourceCanvasMutation:
			return e.CanvasMutation()
		case SourceFont:
			return e.Font()
		case SourceLog:
			return e.Console()
		case SourceStyleDeclaration:
			return e.StyleDeclaration()
		case SourceSelection:
			return e.Selection()
		case SourceAdoptedStyleSheet:
			return e.AdoptedStyleSheet()
		case SourceCustomElement:
			return e.CustomElement()
		}
	}
	return nil, nil
}

// FuzzTypedData decodes arbitrary Data with validation and with the typed
// accessors: neither may panic, what validation passes the typed accessor
// of its type and source must decode (the schema and the structs agree),
// and the accessors read the same from Data as from the tree validation
// keeps.
func FuzzTypedData(f *testing.F) {
	for _, seed := range []struct {
		typ  EventType
		data string
	}{
		{Meta, `{"href":"https://x.test/","width":1024,"height":700}`},
		{FullSnapshot, `{"node":{"type":0,"id":1,"childNodes":[{"type":2,"tagName":"p","id":2,"attributes":{"a":"b","c":1,"d":null},"childNodes":[{"type":3,"id":3,"textContent":"x"}]}]},"initialOffset":{"left":0,"top":0}}`},
		{IncrementalSnapshot, `{"source":0,"texts":[{"id":1,"value":null}],"attributes":[{"id":1,"attributes":{"style":{"color":"red","top":["0","important"],"w":false}}}],"removes":[{"parentId":1,"id":2}],"adds":[{"parentId":1,"nextId":null,"node":{"type":3,"id":4,"textContent":"t"}}]}`},
		{IncrementalSnapshot, `{"source":1,"positions":[{"x":1.5,"y":2,"id":3,"timeOffset":-10}]}`},
		{IncrementalSnapshot, `{"source":2,"type":2,"id":6,"x":1,"y":2,"pointerType":0}`},
		{IncrementalSnapshot, `{"source":5,"id":3,"text":"a","isChecked":false,"userTriggered":true,"id":4.0}`},
		{IncrementalSnapshot, `{"source":7,"type":0,"id":1,"currentTime":1.5,"volume":1,"muted":false,"loop":true,"playbackRate":1}`},
		{IncrementalSnapshot, `{"source":8,"id":1,"adds":[{"rule":"p{}","index":[0,1]}],"removes":[{"index":2}]}`},
		{IncrementalSnapshot, `{"source":9,"id":1,"type":0,"commands":[{"property":"fillRect","args":[0,0,{"rr_type":"ImageBitmap"}]}]}`},
		{IncrementalSnapshot, `{"source":11,"level":"error","trace":["at f"],"payload":["\"x\""]}`},
		{IncrementalSnapshot, `{"source":13,"id":1,"index":[0],"set":{"property":"color","value":"red","priority":""}}`},
		{IncrementalSnapshot, `{"source":14,"ranges":[{"start":1,"startOffset":0,"end":2,"endOffset":3}]}`},
		{IncrementalSnapshot, `{"source":15,"id":1,"styleIds":[1],"styles":[{"styleId":1,"rules":[{"rule":"p{}"}]}]}`},
		{IncrementalSnapshot, `{"source":16,"define":{"name":"x-y"}}`},
		{IncrementalSnapshot, `{"source":2,"type":2,"id":1,"source":5,"text":"x"}`},
		{Custom, `{"tag":"$error","payload":{"message":"m"}}`},
		{Plugin, `{"plugin":"rrweb/console@1","payload":{"level":"log","trace":[],"payload":["1"]}}`},
	} {
		f.Add(int(seed.typ), []byte(seed.data))
	}
	f.Fuzz(func(t *testing.T, typ int, data []byte) {
		raw := Event{Type: EventType(typ % 8), Timestamp: 1, Data: data}
		fromData, dataErr := typedData(&raw)

		e := raw
		err := e.validate()
		if err != nil {
			if !isValidationError(err) {
				t.Fatalf("validate: %T %v, want a *ValidationError", err, err)
			}
			return
		}
		fromTree, treeErr := typedData(&e)
		if treeErr != nil {
			t.Fatalf("valid %v data %s: typed accessor: %v", e.Type, data, treeErr)
		}
		if dataErr != nil || !reflect.DeepEqual(fromData, fromTree) {
			t.Fatalf("from Data: %#v, %v\nfrom the tree: %#v", fromData, dataErr, fromTree)
		}
	})
}
