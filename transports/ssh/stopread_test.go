package ssh

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
)

// These tests hold a write on a device that stopped reading: the
// simulator's StopReadingAfter fault (or a scripted shell that stops
// reading at a question) leaves the session open and reads nothing more,
// so the channel's window (2 MiB, fixed by x/crypto/ssh's server) fills
// with the client's write and the write blocks. The commands and answers
// written are larger than that window: the write cannot finish, whatever
// the machine's speed, and only the context or the command's timeout
// can end it.

// pastWindow is more than the channel's window holds.
const pastWindow = 4 << 20

// runBounded runs c.Run and fails the test if it did not return within
// limit: a write that nothing cuts blocks forever, and the test must end.
// The limit is a bound, not what the test measures.
func runBounded(t *testing.T, c *Client, ctx context.Context, cmd transports.Command, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, cmd)
		done <- err
	}()
	t.Cleanup(func() { c.Close() }) // ends a Run still blocked when the test failed
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Run(%.40q...) still blocked after %s: the write was not cut", cmd.CLI, limit)
		return nil
	}
}

// logWatch is a session log tap that closes seen once a write to it holds
// marker: the client writes a command to the log just before it writes it
// to the channel.
type logWatch struct {
	marker []byte
	once   sync.Once
	seen   chan struct{}
}

func (w *logWatch) Write(b []byte) (int, error) {
	if bytes.Contains(b, w.marker) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(b), nil
}

func TestStoppedReadingCutsTheCommandWrite(t *testing.T) {
	big := "show clock " + strings.Repeat("x", pastWindow)
	cases := []struct {
		name string
		// run runs the big command, whose write blocks, and returns its
		// error.
		run func(t *testing.T, c *Client, w *logWatch) error
		// want are the errors the result must wrap; tail ends its text.
		want []error
		tail string
	}{
		{
			name: "command timeout",
			run: func(t *testing.T, c *Client, _ *logWatch) error {
				return runBounded(t, c, context.Background(), transports.Command{CLI: big, Timeout: 2 * time.Second}, time.Minute)
			},
			want: []error{ErrStoppedReading, transports.ErrTimeout, transports.ErrClosed},
			tail: `: the device stopped reading: the command was not written within 2s, session dropped: command timed out (session closed)`,
		},
		{
			name: "context deadline",
			run: func(t *testing.T, c *Client, _ *logWatch) error {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				return runBounded(t, c, ctx, transports.Command{CLI: big, Timeout: time.Hour}, time.Minute)
			},
			want: []error{ErrStoppedReading, context.DeadlineExceeded, transports.ErrClosed},
			tail: `: the device stopped reading: writing the command was cut short, session dropped: context deadline exceeded (session closed)`,
		},
		{
			// Ctrl-C or SIGTERM: the run's context is cancelled while
			// the write is under way.
			name: "context cancelled",
			run: func(t *testing.T, c *Client, w *logWatch) error {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go func() {
					select {
					case <-w.seen: // the write is under way (or about to start)
						cancel()
					case <-ctx.Done():
					}
				}()
				return runBounded(t, c, ctx, transports.Command{CLI: big, Timeout: time.Hour}, time.Minute)
			},
			want: []error{ErrStoppedReading, context.Canceled, transports.ErrClosed},
			tail: `: the device stopped reading: writing the command was cut short, session dropped: context canceled (session closed)`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dev := sim.NewDevice(sim.Options{})
			f := start(t, dev, sim.SSHConfig{})
			w := &logWatch{marker: []byte("show clock xxxxxxxx"), seen: make(chan struct{})}
			f.opts.SessionLog = w
			c := f.dial(t)
			bg := context.Background()
			if _, err := c.Run(bg, transports.Command{CLI: "debug ike global on debug"}); err != nil {
				t.Fatal(err)
			}
			// The device answers the next command, then reads nothing more.
			dev.SetFaults(sim.Faults{StopReadingAfter: len(dev.Log()) + 1})
			if _, err := c.Run(bg, transports.Command{CLI: "show clock"}); err != nil {
				t.Fatal(err)
			}
			err := tc.run(t, c, w)
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not wrap %v", err, want)
				}
			}
			if errors.Is(err, transports.ErrNotSent) {
				t.Errorf("error %v says not sent: the device may have read part of it", err)
			}
			if err == nil || !strings.HasSuffix(err.Error(), tc.tail) || !strings.HasPrefix(err.Error(), `ssh fw1: "show clock xxx`) {
				t.Errorf("error %.80q...\nwant it to end %q", err, tc.tail)
			}
			// The session was dropped: cleanup, on a context of its own as
			// the engine's, reaches the device on a fresh session.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(bg), 10*time.Second)
			defer cancel()
			if _, err := c.Run(cctx, transports.Command{CLI: "debug ike global on normal"}); err != nil {
				t.Fatalf("cleanup after the cut write: %v", err)
			}
			if ok, on := dev.Clean(); !ok {
				t.Errorf("device left with %v", on)
			}
			for _, e := range dev.Log() {
				if strings.HasPrefix(e.CLI, "show clock x") {
					t.Errorf("the device ran the command whose write was cut: %.40q", e.CLI)
				}
			}
		})
	}
}

// TestStoppedReadingCutsTheAnswerWrite: the answer to a question is
// written by the session's reader; it is bounded as the command is.
func TestStoppedReadingCutsTheAnswerWrite(t *testing.T) {
	stop := make(chan struct{})
	tg, o := startScripted(t, scriptedShell{login: "Welcome admin.\r\nadmin@PA-1> ", answer: func(l string, w io.Writer) {
		if l == "request restart system" {
			io.WriteString(w, "Do you want to continue? (y or n) ")
			<-stop // asked, and reads nothing more
			return
		}
		io.WriteString(w, "\r\nadmin@PA-1> ")
	}})
	t.Cleanup(func() { close(stop) }) // before startScripted's cleanup waits for the shell
	ask := []transports.Prompt{{Pattern: regexp.MustCompile(`\(y or n\) $`), Answer: "y" + strings.Repeat(" ", pastWindow)}}
	cases := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		timeout time.Duration
		want    error
		tail    string
	}{
		{"command timeout", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			2 * time.Second, transports.ErrTimeout,
			`: the device stopped reading: the answer to its question was not written within 2s, session dropped: command timed out (session closed)`},
		{"context deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 2*time.Second)
		}, time.Hour, context.DeadlineExceeded,
			`: the device stopped reading: writing the answer to its question was cut short, session dropped: context deadline exceeded (session closed)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Config{ConnectTimeout: 5 * time.Second}.Dial(context.Background(), tg, o)
			if err != nil {
				t.Fatal(err)
			}
			c := tr.(*Client)
			defer c.Close()
			ctx, cancel := tc.ctx()
			defer cancel()
			err = runBounded(t, c, ctx, transports.Command{CLI: "request restart system", Prompts: ask, Timeout: tc.timeout}, time.Minute)
			for _, want := range []error{ErrStoppedReading, tc.want, transports.ErrClosed} {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not wrap %v", err, want)
				}
			}
			if want := `ssh fw1: "request restart system"` + tc.tail; err == nil || err.Error() != want {
				t.Errorf("error %v\nwant %s", err, want)
			}
			// Dropped: the next command goes out on a fresh session.
			if _, err := c.Run(context.Background(), transports.Command{CLI: "show clock", Timeout: 10 * time.Second}); err != nil {
				t.Errorf("after the cut answer: %v", err)
			}
		})
	}
}

// TestLoginBoundAfterHandshake: a device whose SSH server completes the
// handshake and then answers nothing (the session channel is never
// opened: a hung management plane) fails the dial once its ConnectTimeout
// passes; before, opening the session waited forever.
func TestLoginBoundAfterHandshake(t *testing.T) {
	conf, hk, ln := testServer(t)
	served := make(chan struct{})
	accepted := make(chan net.Conn, 1)
	go func() {
		defer close(served)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		accepted <- nc
		defer nc.Close()
		sc, _, reqs, err := xssh.NewServerConn(nc, conf)
		if err != nil {
			return
		}
		go xssh.DiscardRequests(reqs)
		sc.Wait() // the session channel is never accepted
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case nc := <-accepted: // ends the server even when the client still waits
			nc.Close()
		default:
		}
		<-served
	})
	tg, o := trustingTarget(t, ln, hk)
	done := make(chan error, 1)
	var err error
	go func() {
		tr, err := Config{ConnectTimeout: 2 * time.Second}.Dial(context.Background(), tg, o)
		if tr != nil {
			tr.Close()
		}
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(time.Minute): // a bound, not what is measured
		t.Fatal("Dial still blocked after a minute: the login after the handshake is not bounded")
	}
	var ce *transports.ConnError
	if !errors.As(err, &ce) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial: %v, want a *ConnError wrapping context.DeadlineExceeded", err)
	}
}
