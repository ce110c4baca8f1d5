package jsonx

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// stdDecode decodes data as masking did with encoding/json: into an any,
// numbers kept as json.Number. ok is whether encoding/json takes data as a
// JSON text (numbers out of float64's range included).
func stdDecode(data []byte) (v any, ok bool) {
	var f any
	if !json.Valid(data) || json.Unmarshal(data, &f) != nil {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// stdEncode encodes v as masking did with encoding/json.
func stdEncode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// stdValue turns a tree Decode made into what encoding/json makes.
func stdValue(v any) any {
	switch t := v.(type) {
	case *Object:
		m := make(map[string]any, len(t.Members))
		for _, e := range t.Members {
			m[e.Key] = stdValue(e.Value)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = stdValue(e)
		}
		return a
	}
	return v
}

// checkTree checks that Decode and Marshal agree with encoding/json
// on data: the same accept or reject decision, the same values decoded and
// the same values written.
func checkTree(t *testing.T, data []byte) {
	t.Helper()
	want, ok := stdDecode(data)
	got, err := Decode(data)
	if !ok {
		require.Error(t, err, "encoding/json rejects %q", data)
		return
	}
	require.NoError(t, err, "encoding/json accepts %q", data)
	require.Equal(t, want, stdValue(got))
	out, err := Marshal(got)
	require.NoError(t, err)
	written, ok := stdDecode(out)
	require.True(t, ok, "encoding/json rejects what we wrote: %q", out)
	require.Equal(t, want, written)
	again, err := Decode(out)
	require.NoError(t, err)
	require.Equal(t, want, stdValue(again), "decoding what we wrote")
	checkRaw(t, data, got)
	out2, err := Marshal(again)
	require.NoError(t, err)
	require.Equal(t, string(out), string(out2), "writing it again")
}

// checkRaw checks AppendRaw on a tree decoded from data: unchanged, it
// writes the same value as Append (data itself when data is an object
// without a key given twice); after each object in turn is changed, the
// same value as Append again. The changes add up; in a tree of more than
// 64 objects, the check is made after each eighth of them, which keeps it
// linear in the tree's size.
func checkRaw(t *testing.T, data []byte, tree any) {
	t.Helper()
	want, err := Marshal(tree)
	require.NoError(t, err)
	wantV, ok := stdDecode(want)
	require.True(t, ok)
	raw, err := AppendRaw(nil, tree)
	require.NoError(t, err)
	rawV, ok := stdDecode(raw)
	require.True(t, ok, "AppendRaw wrote %q", raw)
	require.Equal(t, wantV, rawV, "AppendRaw of %q", data)
	if o, ok := tree.(*Object); ok {
		if _, ok := o.Raw(); ok {
			require.Equal(t, string(bytes.TrimSpace(data)), string(raw))
		}
	}
	var objects []*Object
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case *Object:
			objects = append(objects, t)
			for _, m := range t.Members {
				walk(m.Value)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(tree)
	every := 1
	if len(objects) > 64 {
		every = len(objects) / 8
	}
	for i, o := range objects {
		o.Set("\u00e9changed", json.Number(strconv.Itoa(i)))
		if (i+1)%every != 0 && i != len(objects)-1 {
			continue
		}
		want, err := Marshal(tree)
		require.NoError(t, err)
		wantV, _ := stdDecode(want)
		raw, err := AppendRaw(nil, tree)
		require.NoError(t, err)
		rawV, ok := stdDecode(raw)
		require.True(t, ok, "AppendRaw wrote %q", raw)
		require.Equal(t, wantV, rawV, "AppendRaw of %q after changing object %d", data, i)
	}
}
