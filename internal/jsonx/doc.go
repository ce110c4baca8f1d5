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
// The benchmarks in jsontext_bench_test.go weigh the parser against
// jsontext, the tokenizer of encoding/json/v2, on the recorded corpus, for
// checking whole events, decoding them into the tree and reading a few
// fields:
//
//	go test -run '^$' -bench JSONTextInterleaved -benchtime 20x ./internal/jsonx
//
// A Parser is not safe for concurrent use; the functions are.
package jsonx
