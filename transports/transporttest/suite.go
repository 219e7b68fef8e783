package transporttest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/transports"
)

// Bound is the longest the suite waits for a call that should return
// promptly before it fails the test instead of hanging.
const Bound = 5 * time.Second

// Harness tells Run how to exercise one transport.
type Harness struct {
	// Open opens a new session. Every case opens its own and closes it;
	// Open should fail t (t.Fatal) if it cannot open. It is called from the
	// case's goroutine.
	Open func(t *testing.T) transports.Transport
	// Known is a command the device answers with non-empty output. A case
	// sends it at most twice per session.
	Known string
	// Unknown is a command the device does not know.
	Unknown string
	// Slow is a command that takes at least SlowFor to answer. A case sends
	// it at most once per session.
	Slow string
	// SlowFor is how long Slow takes at least. Make it comfortably above
	// scheduling noise (2s or more): a transport that works never makes the
	// suite wait for it, as the cases cancel or time out well before.
	SlowFor time.Duration
}

// Run runs the conformance suite against the transport h opens, one
// subtest per case. A transport reporting VirtualTime (an unpaced replay)
// skips the case that cancels a command mid-flight: in virtual time no
// command is ever in flight.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Open == nil || h.Known == "" || h.Unknown == "" || h.Slow == "" || h.SlowFor <= 0 {
		t.Fatal("transporttest: Harness needs Open, Known, Unknown, Slow and SlowFor")
	}
	// Short waits used to let a command get going; the outcome asserted does
	// not depend on them.
	soon := min(h.SlowFor/20, 100*time.Millisecond)
	timeout := min(h.SlowFor/10, 200*time.Millisecond)

	t.Run("known command returns text", func(t *testing.T) {
		tr := open(t, h)
		res, err := run(t, tr, context.Background(), transports.Command{CLI: h.Known})
		if err != nil {
			t.Fatalf("Run(%q): %v", h.Known, err)
		}
		if res.Text == "" {
			t.Fatalf("Run(%q): empty output", h.Known)
		}
	})

	t.Run("unknown command", func(t *testing.T) {
		tr := open(t, h)
		_, err := run(t, tr, context.Background(), transports.Command{CLI: h.Unknown})
		if !errors.Is(err, transports.ErrUnknownCommand) {
			t.Fatalf("Run(%q) = %v, want an error wrapping transports.ErrUnknownCommand", h.Unknown, err)
		}
	})

	t.Run("cancelled before run", func(t *testing.T) {
		tr := open(t, h)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := run(t, tr, ctx, transports.Command{CLI: h.Known})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run with a cancelled context = %v, want an error wrapping context.Canceled", err)
		}
	})

	t.Run("cancelled mid-command", func(t *testing.T) {
		tr := open(t, h)
		if vc, ok := tr.(transports.VirtualClock); ok && vc.VirtualTime() {
			t.Skip("virtual time: no command is ever in flight")
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		timer := time.AfterFunc(soon, cancel)
		defer timer.Stop()
		_, err := run(t, tr, ctx, transports.Command{CLI: h.Slow})
		if err == nil {
			t.Fatalf("Run(%q) succeeded although its context was cancelled after %s (is it really slower than %s?)", h.Slow, soon, h.SlowFor)
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run(%q) cancelled mid-command = %v, want an error wrapping context.Canceled", h.Slow, err)
		}
	})

	t.Run("command timeout", func(t *testing.T) {
		tr := open(t, h)
		_, err := run(t, tr, context.Background(), transports.Command{CLI: h.Slow, Timeout: timeout})
		if !errors.Is(err, transports.ErrTimeout) {
			t.Fatalf("Run(%q) with Timeout %s = %v, want an error wrapping transports.ErrTimeout", h.Slow, timeout, err)
		}
	})

	t.Run("run after close", func(t *testing.T) {
		tr := open(t, h)
		if err := tr.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		_, err := run(t, tr, context.Background(), transports.Command{CLI: h.Known})
		if !errors.Is(err, transports.ErrClosed) {
			t.Fatalf("Run after Close = %v, want an error wrapping transports.ErrClosed", err)
		}
	})

	t.Run("close twice", func(t *testing.T) {
		tr := open(t, h)
		if err := closeWithin(t, tr); err != nil {
			t.Fatalf("first Close: %v", err)
		}
		if err := closeWithin(t, tr); err != nil && !errors.Is(err, transports.ErrClosed) {
			t.Fatalf("second Close = %v, want nil or transports.ErrClosed", err)
		}
	})

	t.Run("close during run", func(t *testing.T) {
		tr := open(t, h)
		closed := make(chan error, 1)
		timer := time.AfterFunc(soon, func() { closed <- tr.Close() })
		defer timer.Stop()
		// Run may succeed (it finished first) or fail (Close cut it short);
		// it must return, and the race detector must stay quiet.
		run(t, tr, context.Background(), transports.Command{CLI: h.Slow})
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("Close during Run: %v", err)
			}
		case <-time.After(Bound):
			t.Fatalf("Close during Run did not return within %s", Bound)
		}
		_, err := run(t, tr, context.Background(), transports.Command{CLI: h.Known})
		if !errors.Is(err, transports.ErrClosed) {
			t.Fatalf("Run after Close = %v, want an error wrapping transports.ErrClosed", err)
		}
	})
}

func open(t *testing.T, h Harness) transports.Transport {
	t.Helper()
	tr := h.Open(t)
	if tr == nil {
		t.Fatal("Harness.Open returned nil")
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

type outcome struct {
	res transports.Result
	err error
}

// run calls tr.Run in a goroutine and fails the test if it does not return
// within Bound.
func run(t *testing.T, tr transports.Transport, ctx context.Context, cmd transports.Command) (transports.Result, error) {
	t.Helper()
	done := make(chan outcome, 1)
	go func() {
		res, err := tr.Run(ctx, cmd)
		done <- outcome{res, err}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-time.After(Bound):
		t.Fatalf("Run(%q) did not return within %s", cmd.CLI, Bound)
		return transports.Result{}, nil
	}
}

func closeWithin(t *testing.T, tr transports.Transport) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- tr.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(Bound):
		t.Fatalf("Close did not return within %s", Bound)
		return nil
	}
}
