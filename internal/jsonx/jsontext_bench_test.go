package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/internal/corpus"
	"github.com/sessionreplay/replay/internal/cputime"
)

// These benchmarks weigh this package's hand-written parser against
// jsontext, the tokenizer of encoding/json/v2, on the events of the
// committed corpus (testdata/corpus), for the three things the event path
// does with JSON: check a whole event (Skip), decode it into a tree
// (Tree), and read the few fields the facts need (Facts). The figures to
// quote come from BenchmarkJSONTextInterleaved, which pairs the variants
// round by round and reports medians and ratios:
//
//	go test -run '^$' -bench JSONTextInterleaved -benchtime 15x ./internal/jsonx
//
// BenchmarkJSONTextSkip, Tree and Facts run each variant alone, for
// profiles.
//
// jsontext is given the options that make it take what jsonx takes (keys
// given twice, invalid UTF-8); "jsontext-strict" is its default, which
// also refuses them. It reads each text in place from a bytes.Buffer, and
// its tree builder (textTree) has the duties of Decode and shares its
// allocation scheme, so that the tokenizers alone are weighed.

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
// points it at a new text. The text is handed over in a bytes.Buffer, which
// jsontext reads in place rather than copying it into a buffer of its own.
func newTextDecoder(opts ...jsontext.Options) (*jsontext.Decoder, func([]byte)) {
	dec := jsontext.NewDecoder(new(bytes.Buffer), opts...)
	return dec, func(b []byte) {
		dec.Reset(bytes.NewBuffer(b), opts...)
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
	tree := newTextTree()
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
				if _, err := tree.decode(e); err != nil {
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

// BenchmarkJSONTextInterleaved weighs jsonx against jsontext, task by
// task, in b.N rounds over the whole corpus: in each round the jsonx
// variant of the task and each jsontext one run once, in turns (AB BA AB...),
// each on a freshly collected heap, so that each pays for its own garbage;
// a round not timed comes first, and the rounds of a task run back to
// back, so that no variant pays for memory the ones before it (of a task
// with less garbage) left the runtime to fetch from the system again. It
// reports each variant's median over the rounds of MB/s and of MB per
// CPU-second of the process (which counts the collector's work on the
// other core and not the time other processes take), and per task the
// median over the rounds of jsontext's CPU time over jsonx's in that round
// (above 1: jsonx is ahead). Paired within a round, the two see the same
// machine, which makes the ratios steadier than separate benchmarks on a
// shared machine:
//
//	go test -run '^$' -bench JSONTextInterleaved -benchtime 15x ./internal/jsonx
func BenchmarkJSONTextInterleaved(b *testing.B) {
	events, n := benchEvents(b)
	vs := variants()
	var tasks []string
	for _, v := range vs {
		if !slices.Contains(tasks, v.task) {
			tasks = append(tasks, v.task)
		}
	}
	wall := make([][]time.Duration, len(vs))
	cpu := make([][]time.Duration, len(vs))
	base := map[string]int{} // task: index of its jsonx variant
	for i, v := range vs {
		if v.name == "jsonx" {
			base[v.task] = i
		}
	}
	b.ResetTimer()
	for _, task := range tasks {
		var of []int // the task's variants
		for i, v := range vs {
			if v.task == task {
				of = append(of, i)
			}
		}
		for round := -1; round < b.N; round++ {
			if round >= 0 {
				slices.Reverse(of) // who went last goes first
			}
			for _, i := range of {
				runtime.GC()
				start := time.Now()
				startCPU, ok := cputime.Process()
				if err := vs[i].run(events); err != nil {
					b.Fatal(err)
				}
				endCPU, _ := cputime.Process()
				w := time.Since(start)
				if !ok {
					startCPU, endCPU = 0, w // no CPU time here: wall time
				}
				if round >= 0 {
					wall[i] = append(wall[i], w)
					cpu[i] = append(cpu[i], max(endCPU-startCPU, time.Microsecond))
				}
			}
		}
	}
	for i, v := range vs {
		name := v.task + "-" + v.name
		b.ReportMetric(float64(n)/1e6/median(wall[i]).Seconds(), name+"-MB/s")
		b.ReportMetric(float64(n)/1e6/median(cpu[i]).Seconds(), name+"-MB/cpu-s")
		if v.name == "jsonx" {
			continue
		}
		ratios := make([]time.Duration, len(cpu[i]))
		for r, d := range cpu[i] {
			// In thousandths, to take the median of durations.
			ratios[r] = d * 1000 / cpu[base[v.task]][r]
		}
		b.ReportMetric(float64(median(ratios))/1000, name+"/jsonx")
	}
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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
	tree := newTextTree()
	for _, e := range events {
		want, err := Decode(e)
		require.NoError(t, err)
		got, err := tree.decode(e)
		require.NoError(t, err)
		// The same members in the same order, written the same way, and the
		// same source text kept.
		wantText, err := Marshal(want)
		require.NoError(t, err)
		gotText, err := Marshal(got)
		require.NoError(t, err)
		require.Equal(t, string(wantText), string(gotText))
		wantRaw, err := AppendRaw(nil, want)
		require.NoError(t, err)
		gotRaw, err := AppendRaw(nil, got)
		require.NoError(t, err)
		require.Equal(t, string(wantRaw), string(gotRaw))

		wantFacts, err := jsonxFacts(e)
		require.NoError(t, err)
		reset(e)
		gotFacts, err := textFacts(dec)
		require.NoError(t, err)
		require.Equal(t, wantFacts, gotFacts)
	}
}

// textTree decodes events with jsontext into the tree Decode makes, with
// the duties Decode has, so that the Tree benchmark weighs the two
// tokenizers alone: the input copied once into a string that unescaped
// strings and numbers are cut from and objects keep their source text of;
// escaped strings unquoted (by jsontext); numbers beyond float64's range
// refused; keys given twice reduced to one; the same slabs, stacks and
// boxes as Decode's (treeState). Only Mark is not done (the benchmark does
// not use it). It decodes with jsontext's strict UTF-8 check, and again
// without it, checking each string, when that fails: a string it found
// valid needs no second look, which makes jsontext's best case the common
// one.
type textTree struct {
	strict, relaxed       *jsontext.Decoder
	strictSet, relaxedSet func([]byte)
}

func newTextTree() *textTree {
	var t textTree
	t.strict, t.strictSet = newTextDecoder(jsontext.AllowDuplicateNames(true))
	t.relaxed, t.relaxedSet = newTextDecoder(relaxed...)
	return &t
}

// decode decodes one JSON text, as Decode does.
func (t *textTree) decode(e []byte) (any, error) {
	t.strictSet(e)
	v, err := t.decodeWith(t.strict, e, false)
	var serr *jsontext.SyntacticError
	if errors.As(err, &serr) && (strings.Contains(serr.Error(), "invalid UTF-8") || strings.Contains(serr.Error(), "surrogate")) {
		t.relaxedSet(e)
		v, err = t.decodeWith(t.relaxed, e, true)
	}
	return v, err
}

func (t *textTree) decodeWith(dec *jsontext.Decoder, e []byte, checkUTF8 bool) (any, error) {
	p := &treeParser{Parser: Parser{b: e}, treeState: treeStates.Get().(*treeState)}
	defer p.release()
	p.text = string(e)
	if len(e) >= 4<<10 {
		p.boxed = new([64]boxedString)
	}
	tt := textTreeParser{p, dec, checkUTF8}
	v, err := tt.value()
	if err != nil {
		return nil, err
	}
	if err := textEnd(dec); err != nil {
		return nil, err
	}
	return v, nil
}

// textTreeParser is treeParser.value reading jsontext's tokens.
type textTreeParser struct {
	*treeParser
	dec       *jsontext.Decoder
	checkUTF8 bool // whether the decoder lets strings that are not UTF-8 through
}

func (p textTreeParser) value() (any, error) {
	switch p.dec.PeekKind() {
	case '{':
		if _, err := p.dec.ReadToken(); err != nil {
			return nil, err
		}
		start := int(p.dec.InputOffset()) - 1
		o := p.allocObject()
		outer := p.cur
		p.cur = o
		base := len(p.members)
		for p.dec.PeekKind() != '}' {
			k, err := p.string()
			if err != nil {
				return nil, err
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			p.members = append(p.members, Member{k, v})
		}
		if _, err := p.dec.ReadToken(); err != nil {
			return nil, err
		}
		p.cur = outer
		p.setMembers(o, p.members[base:], start, int(p.dec.InputOffset()))
		clear(p.members[base:])
		p.members = p.members[:base]
		return o, nil
	case '[':
		if _, err := p.dec.ReadToken(); err != nil {
			return nil, err
		}
		base := len(p.elems)
		for p.dec.PeekKind() != ']' {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			p.elems = append(p.elems, v)
		}
		if _, err := p.dec.ReadToken(); err != nil {
			return nil, err
		}
		if len(p.elems) == base {
			return emptyArray, nil
		}
		a := cut(&p.elemSlab, p.elems[base:], p.slabSize())
		clear(p.elems[base:])
		p.elems = p.elems[:base]
		return a, nil
	case '"':
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		return p.box(s), nil
	case '0':
		v, err := p.dec.ReadValue()
		if err != nil {
			return nil, err
		}
		if len(v) == 1 {
			return smallNumbers[v[0]-'0'], nil
		}
		end := int(p.dec.InputOffset())
		text := p.text[end-len(v) : end]
		if len(text) > 300 || strings.ContainsAny(text, "eE") {
			if f, err := strconv.ParseFloat(text, 64); err != nil || math.IsInf(f, 0) {
				return nil, errors.New("number out of range")
			}
		}
		return json.Number(text), nil
	}
	v, err := p.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	switch v[0] {
	case 't':
		return true, nil
	case 'f':
		return false, nil
	}
	return nil, nil
}

// string reads a string, a key or a value: cut from the text when it has
// no escapes and is UTF-8, else unquoted by jsontext.
func (p textTreeParser) string() (string, error) {
	v, err := p.dec.ReadValue()
	if err != nil {
		return "", err
	}
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') < 0 && (!p.checkUTF8 || utf8.Valid(body)) {
		end := int(p.dec.InputOffset())
		return p.text[end-len(v)+1 : end-1], nil
	}
	b, _ := jsontext.AppendUnquote(nil, v) // invalid UTF-8 mangled, as Decode does
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
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

// TestJSONTextTreeAgreesOnSeeds checks the jsontext tree builder against
// Decode on the edge cases of the tree tests.
func TestJSONTextTreeAgreesOnSeeds(t *testing.T) {
	tree := newTextTree()
	for _, in := range treeSeeds {
		want, wantErr := Decode([]byte(in))
		got, err := tree.decode([]byte(in))
		if wantErr != nil {
			assert.Error(t, err, "%s", in)
			continue
		}
		if !assert.NoError(t, err, "%s", in) {
			continue
		}
		wantText, _ := AppendRaw(nil, want)
		gotText, _ := AppendRaw(nil, got)
		assert.Equal(t, string(wantText), string(gotText), "%s", in)
	}
}
