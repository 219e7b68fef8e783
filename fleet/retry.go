package fleet

import (
	"context"
	"errors"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/runbook-dev/runbook/transports"
)

// OpenFunc opens a target's transport, as engine.Options.Open does.
type OpenFunc func(ctx context.Context) (transports.Transport, error)

// Retry bounds the retries of a target's first connection.
type Retry struct {
	// Attempts is how many times the first connection is tried in all;
	// below 2 means it is not retried.
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// later one; zero means 500ms.
	Backoff time.Duration
}

// DefaultRetry is what a fleet run uses: three attempts, 500ms then 1s
// apart.
var DefaultRetry = Retry{Attempts: 3, Backoff: 500 * time.Millisecond}

// Retryable reports whether a failed connection may be tried again: the
// server refused it or reset it, or closed it before the SSH handshake
// ended (a busy sshd over its MaxStartups does that). Nothing was sent
// then. An authentication failure, a host key mismatch or a timeout is not
// retryable: trying again would not change the answer, or would lock the
// account.
func Retryable(err error) bool {
	var ce *transports.ConnError
	if !errors.As(err, &ce) {
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// retrying wraps the first call of an OpenFunc with Retry; later calls
// (the engine re-opening a lost session) go straight through.
type retrying struct {
	open  OpenFunc
	retry Retry

	mu      sync.Mutex
	first   bool // the first call is over
	retries int
}

func (r *retrying) Open(ctx context.Context) (transports.Transport, error) {
	r.mu.Lock()
	first := !r.first
	r.first = true
	r.mu.Unlock()
	if !first {
		return r.open(ctx)
	}
	wait := r.retry.Backoff
	if wait <= 0 {
		wait = 500 * time.Millisecond
	}
	for attempt := 1; ; attempt++ {
		tr, err := r.open(ctx)
		if err == nil || attempt >= r.retry.Attempts || !Retryable(err) {
			return tr, err
		}
		r.mu.Lock()
		r.retries++
		r.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait *= 2
	}
}

// Retries is how many times the first connection was tried again.
func (r *retrying) Retries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.retries
}

// RetryFirst returns open with its first call retried as r says, and a
// function reporting how many retries that took.
func RetryFirst(open OpenFunc, r Retry) (OpenFunc, func() int) {
	rt := &retrying{open: open, retry: r}
	return rt.Open, rt.Retries
}
