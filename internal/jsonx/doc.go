// Package jsonx is the JSON machinery events are decoded, validated and
// masked with.
//
// A [Parser] walks one JSON text once, checks its syntax as it goes, and
// hands out the raw bytes of values it is not asked to look into, so unknown
// fields pass through untouched. Object keys are matched exactly (as
// browsers do), not case-insensitively as encoding/json does, and of a key
// given twice the last one counts (as in JSON.parse).
//
// [Decode] decodes any JSON text into a generic tree ([Object], []any,
// string, json.Number, bool, nil) with the same syntax checks and limits
// ([Parser.Value] decodes one value in the middle of a larger text), and
// [Append] and [Marshal] write such a tree again byte for byte as
// encoding/json would, without HTML escaping. The privacy engine masks
// events on that tree.
//
// A decoded [Object] keeps the text it came from and records changes made
// through it (Set, Filter, Touch) and below it, so that [AppendRaw] and a
// [Writer] copy the text of what did not change instead of encoding it
// again: an event is decoded once, masked in place, and written with only
// what masking changed encoded.
//
// # Why a parser of its own
//
// This package keeps its own parser rather than building on jsontext, the
// tokenizer of encoding/json/v2, because on the recorded corpus it is ahead
// for each of the three things the event path does with JSON. The
// benchmarks in jsontext_bench_test.go run both, round after round in
// turns, over every event of testdata/corpus: checking whole events
// (Skip), decoding them into the tree (Tree, where the jsontext builder has
// Decode's duties and shares its allocation scheme, so that the tokenizers
// alone differ) and reading the fields the facts need (Facts). On a 2-core
// linux/amd64 machine with nothing else running, in two runs, jsontext took
// 2.00 to 2.06 times the CPU time of this package for Skip (2.22 to 2.26
// with its default strict options), 1.63 to 1.89 for Tree and 2.03 to 2.12
// for Facts:
//
//	go test -run '^$' -bench JSONTextInterleaved -benchtime 15x ./internal/jsonx
//
// Building on jsontext would also take work of its own: it refuses lone
// surrogate escapes (which JSON.stringify writes for broken text) unless
// told to let invalid UTF-8 through, and then it no longer says which
// strings it had to mend, so each string is checked again or the event
// decoded twice; it does not refuse numbers beyond float64's range, which
// encoding/json does. Most of this package's lead comes from reading
// strings, which hold nine tenths of the corpus's bytes (large style sheets
// above all): it reads them 8 bytes a step, and long runs with
// bytes.IndexByte, where jsontext reads them one byte at a time. In Tree
// the lead is smaller because both pay for the same tree and its garbage.
//
// A Parser is not safe for concurrent use; the functions are.
package jsonx
