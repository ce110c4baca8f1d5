// Package cputime reads the CPU time the process has used, so that
// benchmarks on a shared machine can report throughput per CPU-second,
// which other processes' load does not change, beside the wall-clock
// figure. Process is safe for concurrent use.
package cputime

import "time"

// Process returns the user and system CPU time the process has used so
// far, and false where the platform does not tell.
func Process() (time.Duration, bool) { return process() }
