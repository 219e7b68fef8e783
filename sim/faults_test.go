package sim

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTunnelErrorFaults checks that AuthErrors and ReplayDrops make the
// tunnel's error counters rise between two reads, and that without them
// the counters stay at zero.
func TestTunnelErrorFaults(t *testing.T) {
	for _, tc := range []struct {
		name         string
		f            Faults
		auth, replay bool
	}{
		{"none", Faults{}, false, false},
		{"auth", Faults{AuthErrors: true}, true, false},
		{"replay", Faults{ReplayDrops: true}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := fixed
			d := NewDevice(Options{Scenario: Healthy, Faults: tc.f, Clock: func() time.Time { now = now.Add(time.Second); return now }})
			f1 := run(t, d, "show vpn flow tunnel-id 207")
			f2 := run(t, d, "show vpn flow tunnel-id 207")
			for _, c := range []struct {
				label string
				rises bool
			}{{"authentication errors", tc.auth}, {"decryption errors", tc.auth}, {"replay packets", tc.replay}} {
				a, b := flowCounter(t, f1, c.label), flowCounter(t, f2, c.label)
				if (b > a) != c.rises || (!c.rises && b != 0) {
					t.Errorf("%s %d -> %d, rises want %v", c.label, a, b, c.rises)
				}
			}
		})
	}
}

// TestResourcePctFault checks that ResourcePct sets the packet buffer and
// descriptor utilization of resource-monitor, and leaves the session line.
func TestResourcePctFault(t *testing.T) {
	d := newDev(t, Healthy)
	d.SetFaults(Faults{ResourcePct: 93})
	out := run(t, d, "show running resource-monitor second last 3")
	for _, name := range []string{"packet buffer", "packet descriptor", "packet descriptor (on-chip)"} {
		if !strings.Contains(out, name+":\n 93  93  93\n") {
			t.Errorf("%s not at 93%%:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "session:\n  0   0   0\n") {
		t.Errorf("session utilization changed:\n%s", out)
	}
}

// TestNoDefaultRoute checks that without a default route fib-lookup finds
// no route to an outside address (and ping gets no reply from it), while
// the connected network and the remote network are still routed.
func TestNoDefaultRoute(t *testing.T) {
	topo := DefaultTopology()
	topo.NoDefaultRoute = true
	d := NewDevice(Options{Topology: &topo, Clock: func() time.Time { return fixed }})
	for ip, want := range map[string]string{
		"203.0.113.77":  "result:           no route found",
		"10.1.1.1":      "interface ethernet1/21",
		"192.168.20.10": "interface tunnel.10",
	} {
		if out := run(t, d, "test routing fib-lookup virtual-router default ip "+ip); !strings.Contains(out, want) {
			t.Errorf("fib-lookup %s lacks %q:\n%s", ip, want, out)
		}
	}
	if out := run(t, d, "ping count 2 host 203.0.113.77"); !regexp.MustCompile(`\b0 received`).MatchString(out) {
		t.Errorf("ping without a route got replies:\n%s", out)
	}
	if out := run(t, d, "ping count 2 host 10.1.1.1"); !strings.Contains(out, "2 received") {
		t.Errorf("ping of the connected peer:\n%s", out)
	}
}

// TestSlowAfterReleasedBySetFaults holds the third command (SlowAfter 2)
// far longer than the test may wait; SetFaults lets it go at once, and the
// commands before and after it are not held.
func TestSlowAfterReleasedBySetFaults(t *testing.T) {
	d := newDev(t, Healthy)
	d.SetFaults(Faults{SlowAfter: 2, SlowBy: time.Hour})
	run(t, d, "show clock")
	run(t, d, "show clock")
	done := make(chan error, 1)
	go func() {
		_, err := d.Exec(context.Background(), "show clock")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the third command was not held (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	d.SetFaults(Faults{})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SetFaults did not release the held command")
	}
	run(t, d, "show clock")
}

// TestHangUpAfter says the connection must end once HangUpAfter commands
// were answered, and only once.
func TestHangUpAfter(t *testing.T) {
	d := newDev(t, Healthy)
	d.SetFaults(Faults{HangUpAfter: 2})
	var got []bool
	for range 4 {
		run(t, d, "show clock")
		got = append(got, d.hangUp())
	}
	if want := []bool{false, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("hang up after each answer: %v, want %v", got, want)
	}
}

// TestResourceMonitorLayout checks the parts of the resource-monitor
// layout that the real samples show (parse/testdata/
// show_running_resource-monitor_*.txt): the group loads before the CPU
// table, and resource samples wrapped at 15 a line.
func TestResourceMonitorLayout(t *testing.T) {
	d := newDev(t, Healthy)
	out := run(t, d, "show running resource-monitor second last 20")
	g, c := strings.Index(out, "CPU load sampling by group:\nflow_lookup "), strings.Index(out, "CPU load (%) during last 20 seconds:")
	if g < 0 || c < 0 || g > c {
		t.Errorf("group loads missing or after the CPU table:\n%s", out)
	}
	fifteen := strings.TrimSuffix(strings.Repeat("  0 ", 15), " ")
	five := strings.TrimSuffix(strings.Repeat("  0 ", 5), " ")
	if !strings.Contains(out, "session:\n"+fifteen+"\n"+five+"\npacket buffer:\n") {
		t.Errorf("session samples not wrapped at 15:\n%s", out)
	}
}
