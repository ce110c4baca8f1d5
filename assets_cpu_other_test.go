//go:build !unix

package replay

import "time"

// processCPU returns 0 where the process's CPU time is not read: the
// cpu-ms/op metrics of the benchmarks then read 0.
func processCPU() time.Duration { return 0 }
