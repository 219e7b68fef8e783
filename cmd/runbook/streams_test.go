package main

import (
	"os"
	"testing"
)

// TestLossyWriterSurvivesBrokenPipe writes to a pipe whose reader is gone:
// the write that finds it broken and every later one report success, and
// nothing more is attempted.
func TestLossyWriterSurvivesBrokenPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	lw := &lossyWriter{w: w}
	if n, err := lw.Write([]byte("before\n")); n != 7 || err != nil {
		t.Fatalf("write to a working pipe: %d, %v", n, err)
	}
	r.Close()
	for i := range 3 {
		if n, err := lw.Write([]byte("after\n")); n != 6 || err != nil {
			t.Fatalf("write %d to a broken pipe: %d, %v; want 6, nil", i, n, err)
		}
	}
	if lw.gone == nil {
		t.Fatal("the broken pipe was not noticed")
	}
}
