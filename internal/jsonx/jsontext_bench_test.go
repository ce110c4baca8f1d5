package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/internal/corpus"
	"github.com/sessionreplay/replay/internal/cputime"
)

// These benchmarks weigh this package's hand-written parser against
// jsontext, the tokenizer of encoding/json/v2, on the events of the
// committed corpus (testdata/corpus), for the three things the event path
// does with JSON: check a whole event, decode it into a tree, and read the
// few fields the facts need. Each benchmark runs the jsonx variant and the
// jsontext one side by side, so the figures read as ratios:
//
//	go test -run '^$' -bench JSONText -benchtime 20x -count 5 ./internal/jsonx
//
// jsontext is given the options that make it take what jsonx takes (keys
// given twice, invalid UTF-8); "jsontext-strict" is its default, which
// also refuses them.

// corpusEvents returns the events of the corpus and their size in bytes.
var corpusEvents = sync.OnceValues(func() ([][]byte, error) {
	dir, err := corpus.Dir()
	if err != nil {
		return nil, err
	}
	visits, err := corpus.Load(dir)
	if err != nil {
		return nil, err
	}
	var events [][]byte
	for _, v := range visits {
		for _, e := range v.Events {
			events = append(events, e)
		}
	}
	return events, nil
})

func benchEvents(b *testing.B) ([][]byte, int64) {
	events, err := corpusEvents()
	require.NoError(b, err)
	require.NotEmpty(b, events)
	var n int64
	for _, e := range events {
		n += int64(len(e))
	}
	return events, n
}

// cpuMeter reports MB per CPU-second of the process beside the wall-clock
// MB/s, which the load of other processes on a shared machine changes less.
// Call it after b.SetBytes and defer what it returns.
func cpuMeter(b *testing.B, n int64) func() {
	start, ok := cputime.Process()
	return func() {
		end, _ := cputime.Process()
		if ok && end > start {
			b.ReportMetric(float64(n)*float64(b.N)/1e6/(end-start).Seconds(), "MB/cpu-s")
		}
	}
}

// relaxed makes jsontext take what jsonx takes.
var relaxed = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// newTextDecoder returns a reusable jsontext decoder and a function that
// points it at a new text.
func newTextDecoder(opts ...jsontext.Options) (*jsontext.Decoder, func([]byte)) {
	r := bytes.NewReader(nil)
	dec := jsontext.NewDecoder(r, opts...)
	return dec, func(b []byte) {
		r.Reset(b)
		dec.Reset(r, opts...)
	}
}

// textEnd checks that nothing but white space follows the value read.
func textEnd(dec *jsontext.Decoder) error {
	if _, err := dec.ReadToken(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

// variant is one way of doing one task over every event of the corpus.
type variant struct {
	task, name string
	run        func(events [][]byte) error
}

// variants are the tasks, each done by jsonx and by jsontext.
func variants() []variant {
	skipText := func(opts ...jsontext.Options) func([][]byte) error {
		dec, reset := newTextDecoder(opts...)
		return func(events [][]byte) error {
			for _, e := range events {
				reset(e)
				if err := dec.SkipValue(); err != nil {
					return err
				}
				if err := textEnd(dec); err != nil {
					return err
				}
			}
			return nil
		}
	}
	treeDec, treeReset := newTextDecoder(relaxed...)
	factsDec, factsReset := newTextDecoder(relaxed...)
	return []variant{
		{"Skip", "jsonx", func(events [][]byte) error {
			for _, e := range events {
				p := NewParser(e)
				if err := p.Skip(); err != nil {
					return err
				}
				if err := p.End(); err != nil {
					return err
				}
			}
			return nil
		}},
		{"Skip", "jsontext", skipText(relaxed...)},
		{"Skip", "jsontext-strict", skipText()},
		{"Tree", "jsonx", func(events [][]byte) error {
			for _, e := range events {
				if _, err := Decode(e); err != nil {
					return err
				}
			}
			return nil
		}},
		{"Tree", "jsontext", func(events [][]byte) error {
			for _, e := range events {
				treeReset(e)
				if _, err := textTree(treeDec); err != nil {
					return err
				}
				if err := textEnd(treeDec); err != nil {
					return err
				}
			}
			return nil
		}},
		{"Facts", "jsonx", func(events [][]byte) error {
			for _, e := range events {
				if _, err := jsonxFacts(e); err != nil {
					return err
				}
			}
			return nil
		}},
		{"Facts", "jsontext", func(events [][]byte) error {
			for _, e := range events {
				factsReset(e)
				if _, err := textFacts(factsDec); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

// benchTask runs the variants of task as sub-benchmarks.
func benchTask(b *testing.B, task string) {
	events, n := benchEvents(b)
	for _, v := range variants() {
		if v.task != task {
			continue
		}
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(n)
			defer cpuMeter(b, n)()
			for b.Loop() {
				if err := v.run(events); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJSONTextSkip checks each event's syntax without looking inside.
func BenchmarkJSONTextSkip(b *testing.B) { benchTask(b, "Skip") }

// BenchmarkJSONTextTree decodes each event into the generic tree.
func BenchmarkJSONTextTree(b *testing.B) { benchTask(b, "Tree") }

// BenchmarkJSONTextFacts reads the event type and the fields of data the
// facts need, skipping the rest.
func BenchmarkJSONTextFacts(b *testing.B) { benchTask(b, "Facts") }

// BenchmarkJSONTextInterleaved runs every variant once per iteration, one
// after the other, and reports each one's best pass over the corpus in
// MB/s, and per task jsontext's time over jsonx's (above 1: jsonx is
// ahead). Interleaved and taken at their best, the variants see the same
// machine, and each starts on a collected heap, which makes the ratios
// steadier than those of separate benchmarks on a shared machine:
//
//	go test -run '^$' -bench JSONTextInterleaved -benchtime 20x ./internal/jsonx
func BenchmarkJSONTextInterleaved(b *testing.B) {
	events, n := benchEvents(b)
	vs := variants()
	best := make([]time.Duration, len(vs))
	for b.Loop() {
		for i, v := range vs {
			runtime.GC() // each pays for its own garbage only
			start := time.Now()
			if err := v.run(events); err != nil {
				b.Fatal(err)
			}
			if d := time.Since(start); best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	base := map[string]time.Duration{}
	for i, v := range vs {
		b.ReportMetric(float64(n)/1e6/best[i].Seconds(), v.task+"-"+v.name+"-MB/s")
		if v.name == "jsonx" {
			base[v.task] = best[i]
		} else {
			b.ReportMetric(float64(best[i])/float64(base[v.task]), v.task+"-"+v.name+"/jsonx")
		}
	}
}

// TestJSONTextAgrees checks that the jsontext variants compute what the
// jsonx ones do on the corpus, so the benchmarks compare like with like.
func TestJSONTextAgrees(t *testing.T) {
	events, err := corpusEvents()
	require.NoError(t, err)
	if testing.Short() {
		events = events[:min(len(events), 200)]
	}
	dec, reset := newTextDecoder(relaxed...)
	for _, e := range events {
		want, err := Decode(e)
		require.NoError(t, err)
		reset(e)
		got, err := textTree(dec)
		require.NoError(t, err)
		// The same members in the same order, written the same way (a tree
		// Decode makes also keeps its source text, which textTree's lacks).
		wantText, err := Marshal(want)
		require.NoError(t, err)
		gotText, err := Marshal(got)
		require.NoError(t, err)
		require.Equal(t, string(wantText), string(gotText))

		wantFacts, err := jsonxFacts(e)
		require.NoError(t, err)
		reset(e)
		gotFacts, err := textFacts(dec)
		require.NoError(t, err)
		require.Equal(t, wantFacts, gotFacts)
	}
}

// textTree reads the next value of dec into the tree Decode makes.
func textTree(dec *jsontext.Decoder) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		var ms []Member
		for dec.PeekKind() != '}' {
			k, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			key := k.String() // before the next read voids k
			v, err := textTree(dec)
			if err != nil {
				return nil, err
			}
			ms = append(ms, Member{Key: key, Value: v})
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		return &Object{Members: UniqueMembers(ms)}, nil
	case '[':
		a := []any{}
		for dec.PeekKind() != ']' {
			v, err := textTree(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		return a, nil
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case 'n':
		return nil, nil
	}
	return nil, errors.New("unexpected token")
}

// factFields is what the facts read of an event.
type factFields struct {
	typ                      int
	source, kind             int
	href, tag, plugin, level string
	x, y, width, height      float64
}

func jsonxFacts(e []byte) (f factFields, err error) {
	p := NewParser(e)
	err = p.Object(func(key string) error {
		switch key {
		case "type":
			f.typ, err = p.Integer()
			return err
		case "data":
			return p.Object(func(key string) (err error) {
				switch key {
				case "source":
					f.source, err = p.Integer()
				case "type":
					f.kind, err = p.Integer()
				case "href":
					f.href, err = p.Text()
				case "tag":
					f.tag, err = p.Text()
				case "plugin":
					f.plugin, err = p.Text()
				case "level":
					f.level, err = p.Text()
				case "x":
					f.x, err = p.Num()
				case "y":
					f.y, err = p.Num()
				case "width":
					f.width, err = p.Num()
				case "height":
					f.height, err = p.Num()
				default:
					err = p.Skip()
				}
				return err
			})
		}
		return p.Skip()
	})
	if err == nil {
		err = p.End()
	}
	return f, err
}

func textFacts(dec *jsontext.Decoder) (f factFields, err error) {
	integer := func() (int, error) {
		t, err := dec.ReadToken()
		if err != nil {
			return 0, err
		}
		if t.Kind() != '0' {
			return 0, ErrWrongType
		}
		return int(t.Int()), nil
	}
	num := func() (float64, error) {
		t, err := dec.ReadToken()
		if err != nil {
			return 0, err
		}
		if t.Kind() != '0' {
			return 0, ErrWrongType
		}
		return t.Float(), nil
	}
	text := func() (string, error) {
		t, err := dec.ReadToken()
		if err != nil {
			return "", err
		}
		if t.Kind() != '"' {
			return "", ErrWrongType
		}
		return t.String(), nil
	}
	object := func(member func(key string) error) error {
		if t, err := dec.ReadToken(); err != nil || t.Kind() != '{' {
			return errors.Join(err, ErrWrongType)
		}
		for dec.PeekKind() != '}' {
			k, err := dec.ReadToken()
			if err != nil {
				return err
			}
			if err := member(k.String()); err != nil {
				return err
			}
		}
		_, err := dec.ReadToken()
		return err
	}
	err = object(func(key string) error {
		switch key {
		case "type":
			f.typ, err = integer()
			return err
		case "data":
			return object(func(key string) (err error) {
				switch key {
				case "source":
					f.source, err = integer()
				case "type":
					f.kind, err = integer()
				case "href":
					f.href, err = text()
				case "tag":
					f.tag, err = text()
				case "plugin":
					f.plugin, err = text()
				case "level":
					f.level, err = text()
				case "x":
					f.x, err = num()
				case "y":
					f.y, err = num()
				case "width":
					f.width, err = num()
				case "height":
					f.height, err = num()
				default:
					err = dec.SkipValue()
				}
				return err
			})
		}
		return dec.SkipValue()
	})
	if err == nil {
		err = textEnd(dec)
	}
	return f, err
}
