package transporttest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/transporttest"
)

// fake stands in for a firewall session with real time: "slow" takes
// slowFor. broken names one contract it breaks, to prove the suite notices.
type fake struct {
	slowFor time.Duration
	broken  string

	mu     sync.Mutex
	closed chan struct{}
}

func newFake(slowFor time.Duration, broken string) *fake {
	return &fake{slowFor: slowFor, broken: broken, closed: make(chan struct{})}
}

func (f *fake) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	select {
	case <-f.closed:
		if f.broken != "closed" {
			return transports.Result{}, fmt.Errorf("fake: %w", transports.ErrClosed)
		}
	default:
	}
	if f.broken == "cancel" {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return transports.Result{}, fmt.Errorf("fake: %w", err)
	}
	switch cmd.CLI {
	case "show clock":
		return transports.Result{Text: "Thu Nov 27 10:02:33 PST 2026\n"}, nil
	case "slow":
		d, timedOut := f.slowFor, false
		if cmd.Timeout > 0 && cmd.Timeout < d && f.broken != "timeout" {
			d, timedOut = cmd.Timeout, true
		}
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return transports.Result{}, fmt.Errorf("fake: %w", ctx.Err())
		case <-f.closed:
			return transports.Result{}, fmt.Errorf("fake: %w", transports.ErrClosed)
		}
		if timedOut {
			return transports.Result{}, fmt.Errorf("fake: slow: %w", transports.ErrTimeout)
		}
		return transports.Result{Text: "done\n"}, nil
	}
	if f.broken == "unknown" {
		return transports.Result{}, errors.New("fake: Invalid syntax")
	}
	return transports.Result{}, &transports.DeviceError{Command: cmd.CLI, Message: "Invalid syntax.", Err: transports.ErrUnknownCommand}
}

func (f *fake) Facts() transports.Facts { return transports.Facts{"hostname": "fake"} }

func (f *fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.closed:
	default:
		close(f.closed)
	}
	return nil
}

func harness(slowFor time.Duration, broken string) transporttest.Harness {
	return transporttest.Harness{
		Open:    func(t *testing.T) transports.Transport { return newFake(slowFor, broken) },
		Known:   "show clock",
		Unknown: "show bogus",
		Slow:    "slow",
		SlowFor: slowFor,
	}
}

func TestSuitePassesWorkingTransport(t *testing.T) {
	transporttest.Run(t, harness(time.Hour, ""))
}

// TestBrokenHelper runs the suite against a broken fake when asked to by
// TestSuiteCatchesBrokenTransports, in a child process.
func TestBrokenHelper(t *testing.T) {
	broken := os.Getenv("TRANSPORTTEST_BROKEN")
	if broken == "" {
		t.Skip("run by TestSuiteCatchesBrokenTransports")
	}
	// The cancel-ignoring fake must finish on its own within the suite's
	// bound, so that the suite reports its result rather than a hang.
	transporttest.Run(t, harness(time.Second, broken))
}

func TestSuiteCatchesBrokenTransports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child test processes")
	}
	tests := []struct {
		broken string
		fails  []string // subtests that must fail
	}{
		{"unknown", []string{"unknown_command"}},
		{"cancel", []string{"cancelled_before_run", "cancelled_mid-command"}},
		{"timeout", []string{"command_timeout"}},
		{"closed", []string{"run_after_close", "close_during_run"}},
	}
	for _, tt := range tests {
		t.Run(tt.broken, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenHelper$", "-test.v")
			cmd.Env = append(os.Environ(), "TRANSPORTTEST_BROKEN="+tt.broken)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a transport broken in %q:\n%s", tt.broken, out)
			}
			for _, name := range tt.fails {
				if !strings.Contains(string(out), "--- FAIL: TestBrokenHelper/"+name) {
					t.Errorf("subtest %s did not fail for a transport broken in %q:\n%s", name, tt.broken, out)
				}
			}
			if n := strings.Count(string(out), "--- FAIL: TestBrokenHelper/"); n != len(tt.fails) {
				t.Errorf("%d subtests failed, want %d:\n%s", n, len(tt.fails), out)
			}
		})
	}
}
