package fleet_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/fleet"
	"github.com/runbook-dev/runbook/transports"
)

// greeting is a transport that read its server's first line: enough to
// tell a connection that was accepted from one refused or reset.
type greeting struct{ transports.Transport }

// dialGreeting connects to addr and reads one line, as a dial's handshake
// would; a failure is a *transports.ConnError, as the transports return.
func dialGreeting(addr string, calls *int) fleet.OpenFunc {
	return func(ctx context.Context) (transports.Transport, error) {
		*calls++
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, &transports.ConnError{Target: "fw", Err: err}
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return nil, &transports.ConnError{Target: "fw", Err: err}
		}
		if line != "ready\n" {
			return nil, &transports.ConnError{Target: "fw", Err: errors.New("bad greeting " + line)}
		}
		return greeting{}, nil
	}
}

// freeAddr is a loopback address nothing listens on (until a test does).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serve accepts on ln: the first reset connections are reset (RST), the
// others greeted. It returns when ln closes.
func serve(ln net.Listener, reset int, wg *sync.WaitGroup) {
	defer wg.Done()
	for n := 0; ; n++ {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if n < reset {
			_ = c.(*net.TCPConn).SetLinger(0)
			c.Close()
			continue
		}
		_, _ = c.Write([]byte("ready\n"))
		c.Close()
	}
}

func TestRetryFirstRefusedThenAccepted(t *testing.T) {
	addr := freeAddr(t)
	calls := 0
	var wg sync.WaitGroup
	var ln net.Listener
	inner := dialGreeting(addr, &calls)
	// The server comes up after the first attempt was refused.
	open := func(ctx context.Context) (transports.Transport, error) {
		tr, err := inner(ctx)
		if calls == 1 {
			if !fleet.Retryable(err) {
				t.Errorf("first attempt: %v, want a refused connection", err)
			}
			l, lerr := net.Listen("tcp", addr)
			if lerr != nil {
				t.Fatal(lerr)
			}
			ln = l
			wg.Add(1)
			go serve(ln, 0, &wg)
		}
		return tr, err
	}
	retried, retries := fleet.RetryFirst(open, fleet.Retry{Attempts: 3, Backoff: 10 * time.Millisecond})
	tr, err := retried(context.Background())
	if ln != nil {
		defer func() { ln.Close(); wg.Wait() }()
	}
	if err != nil || tr == nil {
		t.Fatalf("open: %v", err)
	}
	if calls != 2 || retries() != 1 {
		t.Errorf("calls %d, retries %d; want 2 and 1", calls, retries())
	}
	// A later open (a reconnect) is the engine's business: no retry.
	ln.Close()
	wg.Wait()
	if _, err := retried(context.Background()); err == nil || calls != 3 || retries() != 1 {
		t.Errorf("reconnect: err %v, calls %d, retries %d; want a refusal, 3 calls, 1 retry", err, calls, retries())
	}
}

func TestRetryFirstResetThenAccepted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go serve(ln, 1, &wg)
	defer func() { ln.Close(); wg.Wait() }()
	calls := 0
	retried, retries := fleet.RetryFirst(dialGreeting(ln.Addr().String(), &calls), fleet.Retry{Attempts: 3, Backoff: 10 * time.Millisecond})
	if _, err := retried(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	if calls != 2 || retries() != 1 {
		t.Errorf("calls %d, retries %d; want 2 and 1", calls, retries())
	}
}

func TestRetryFirstBounded(t *testing.T) {
	calls := 0
	retried, retries := fleet.RetryFirst(dialGreeting(freeAddr(t), &calls), fleet.Retry{Attempts: 3, Backoff: time.Millisecond})
	_, err := retried(context.Background())
	var ce *transports.ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v, want the last *ConnError", err)
	}
	if calls != 3 || retries() != 2 {
		t.Errorf("calls %d, retries %d; want 3 and 2", calls, retries())
	}
}

// errAuth stands for the transports' authentication failure: the server
// answered, and asking again would not change its answer.
var errAuth = errors.New("ssh: unable to authenticate, attempted methods [none password]")

func TestRetryFirstNotOnAuth(t *testing.T) {
	calls := 0
	open := func(ctx context.Context) (transports.Transport, error) {
		calls++
		return nil, &transports.ConnError{Target: "fw", Err: errAuth}
	}
	retried, retries := fleet.RetryFirst(open, fleet.Retry{Attempts: 3, Backoff: time.Millisecond})
	if _, err := retried(context.Background()); !errors.Is(err, errAuth) {
		t.Fatalf("err %v, want the authentication failure", err)
	}
	if calls != 1 || retries() != 0 {
		t.Errorf("calls %d, retries %d; want 1 and 0", calls, retries())
	}
}

func TestRetryFirstStopsOnCancel(t *testing.T) {
	calls := 0
	ctx, cancel := context.WithCancel(context.Background())
	open := dialGreeting(freeAddr(t), &calls)
	retried, _ := fleet.RetryFirst(func(c context.Context) (transports.Transport, error) {
		tr, err := open(c)
		cancel() // the operator pressed Ctrl-C during the first attempt
		return tr, err
	}, fleet.Retry{Attempts: 3, Backoff: time.Hour})
	if _, err := retried(ctx); err == nil || calls != 1 {
		t.Errorf("err %v, calls %d; want the refusal after one call", err, calls)
	}
}
