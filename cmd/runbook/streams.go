package main

import (
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// lossyWriter is stdout or stderr for a run that must outlive them: once a
// write fails (the reader of a pipe died, the terminal was closed), the
// stream is gone for the rest of the process, and that write and every
// later one report success without writing. Progress can then never stop
// the cleanup that follows an interrupt.
type lossyWriter struct {
	mu   sync.Mutex
	w    io.Writer
	gone error // the first write error; nil while the stream works
}

func (l *lossyWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone != nil {
		return len(p), nil
	}
	if _, err := l.w.Write(p); err != nil {
		l.gone = err
	}
	return len(p), nil
}

// ignoreSIGPIPE keeps a write to a broken pipe on stdout or stderr from
// killing the process. Go's default for fds 1 and 2 is to die of SIGPIPE
// (exit 141) unless the program asks for the signal; asked for, the write
// returns EPIPE instead, which lossyWriter swallows. The channel is never
// read: a signal that finds it full is dropped, which is all we want.
func ignoreSIGPIPE() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}
