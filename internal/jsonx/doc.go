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
// string, json.Number, bool, nil) with the same syntax checks and limits,
// and [Append] and [Marshal] write such a tree again byte for byte as
// encoding/json would, without HTML escaping. The privacy engine masks
// events on that tree.
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
