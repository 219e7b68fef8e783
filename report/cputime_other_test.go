//go:build !unix

package report_test

import "time"

// processCPU cannot tell here: the CPU figures of BenchmarkReplayEndToEnd
// read 0.
func processCPU() time.Duration { return 0 }
