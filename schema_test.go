package replay

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSchemaMatchesTypedData checks the typed data structs of eventdata.go
// against the schema table, so that they cannot drift apart: every field
// of the table is a json tag of its struct with a Go type that holds what
// the table allows, every json tag is a field of the table, and every
// exported struct of eventdata.go is the struct of some shape.
func TestSchemaMatchesTypedData(t *testing.T) {
	checked := map[reflect.Type]bool{}
	var check func(path string, s *shape)
	check = func(path string, s *shape) {
		require.NotNil(t, s.goType, "%s: the shape names no struct", path)
		if checked[s.goType] {
			return
		}
		checked[s.goType] = true
		tags := jsonFields(s.goType)
		for _, f := range s.fields {
			if f.name == "source" && strings.HasPrefix(path, "source ") {
				continue // the source selects the struct
			}
			at := path + "." + f.name
			gt, ok := tags[f.name]
			if !assert.True(t, ok, "%s: no field of %s has this json tag", at, s.goType) {
				continue
			}
			if nested := fieldShape(t, at, &f, gt); nested != nil {
				check(at, nested)
			}
		}
		for name := range tags {
			assert.NotNil(t, s.lookup(name), "%s.%s: json tag of %s not in the schema", path, name, s.goType)
		}
	}
	for typ, s := range eventShapes {
		check(typ.String(), s)
	}
	for source, s := range sourceShapes {
		check("source "+source.String(), s)
	}
	for plugin, s := range pluginPayloads {
		check("plugin "+plugin, s)
	}

	// Every data struct of eventdata.go is in the table.
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "eventdata.go", nil, 0)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, d := range file.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
			for _, spec := range g.Specs {
				ts := spec.(*ast.TypeSpec)
				if _, ok := ts.Type.(*ast.StructType); ok && ts.Name.IsExported() {
					names[ts.Name.Name] = true
				}
			}
		}
	}
	require.NotEmpty(t, names)
	for typ := range checked {
		delete(names, typ.Name())
	}
	assert.Empty(t, names, "structs of eventdata.go the schema does not describe")
}

// jsonFields maps the json names of t's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "-" {
			m[name] = f.Type
		}
	}
	return m
}

// fieldShape checks that the Go type gt holds what field f allows, and
// returns the shape of the struct it holds, if any.
func fieldShape(t assert.TestingT, at string, f *dataField, gt reflect.Type) *shape {
	for gt.Kind() == reflect.Pointer {
		gt = gt.Elem()
	}
	types := f.types &^ tNull // null decodes to the zero value of any type
	switch f.special {
	case specNode:
		assert.Equal(t, reflect.TypeFor[Node](), gt, at)
		return nodeShape
	case specChildren:
		assert.Equal(t, reflect.TypeFor[[]Node](), gt, at)
		return nodeShape
	case specAttributes:
		assert.Equal(t, reflect.TypeFor[map[string]any](), gt, at)
		return nil
	}
	switch {
	case gt == reflect.TypeFor[json.RawMessage]() || gt.Kind() == reflect.Interface:
		assert.Equal(t, tAny, types|f.types, "%s: %s holds any JSON, the schema allows less", at, gt)
	case gt.Kind() == reflect.Struct:
		assert.Equal(t, tObject, types, at)
		if assert.NotNil(t, f.shape, at) {
			assert.Equal(t, gt, f.shape.goType, at)
		}
		return f.shape
	case gt.Kind() == reflect.Slice:
		assert.Equal(t, tArray, types, at)
		elem := gt.Elem()
		if elem.Kind() == reflect.Struct {
			if assert.NotNil(t, f.shape, "%s: no shape of %s", at, elem) {
				assert.Equal(t, elem, f.shape.goType, at)
			}
			return f.shape
		}
		assert.Nil(t, f.shape, at)
		if elem == reflect.TypeFor[json.RawMessage]() {
			assert.Zero(t, f.elems, "%s: %s holds any JSON", at, gt)
		} else {
			assert.Equal(t, scalarType(elem), f.elems, "%s: elements", at)
		}
	case gt.Kind() == reflect.Map:
		assert.Equal(t, tObject, types, at)
		assert.Nil(t, f.shape, "%s: a map has no fields", at)
	default:
		assert.Equal(t, scalarType(gt), types, "%s: %s", at, gt)
	}
	return nil
}

// scalarType is the JSON type a Go scalar type decodes from.
func scalarType(t reflect.Type) jsonType {
	switch t.Kind() {
	case reflect.String:
		return tString
	case reflect.Bool:
		return tBool
	case reflect.Float64, reflect.Float32:
		return tNumber
	case reflect.Int, reflect.Int64, reflect.Int32:
		return tInteger
	}
	return 0
}

// TestSchemaDriftIsCaught shows the check above fails on a struct that
// disagrees with its shape.
func TestSchemaDriftIsCaught(t *testing.T) {
	type drifted struct {
		Href  string `json:"href"`
		Width int    `json:"width"` // the schema says a number
		Extra bool   `json:"extra"` // not in the schema
	}
	s := &shape{goType: reflect.TypeFor[drifted](), fields: eventShapes[Meta].fields}
	rec := &failures{}
	ok := true
	tags := jsonFields(s.goType)
	for _, f := range s.fields {
		if gt, have := tags[f.name]; !have {
			ok = false
		} else {
			fieldShape(rec, f.name, &f, gt)
		}
	}
	for name := range tags {
		ok = ok && s.lookup(name) != nil
	}
	assert.False(t, ok, "a json tag not in the schema passes")
	assert.Len(t, rec.msgs, 1, "width int against a number field passes")
}

// failures records the failures of assertions.
type failures struct{ msgs []string }

func (f *failures) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
