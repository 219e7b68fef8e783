package dual_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/dual"
	"github.com/runbook-dev/runbook/transports/ssh"
	"github.com/runbook-dev/runbook/transports/transporttest"
	"github.com/runbook-dev/runbook/transports/xmlapi"
)

const (
	password = "ssh-Pa55-never-shown"
	apiKey   = "api-key-never-shown"
)

// firewall is one simulated device served over SSH and the XML API on
// loopback: the same sim.Device behind both, so that what one part
// switches on, the other sees.
type firewall struct {
	dev    *sim.Device
	target transports.Target
	opts   transports.DialOptions
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func start(t *testing.T, o sim.Options) *firewall {
	t.Helper()
	dev := sim.NewDevice(o)
	sshSrv, err := sim.NewSSHServer(dev, sim.SSHConfig{User: "admin", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	apiSrv, err := sim.NewAPIServer(dev, sim.APIConfig{User: "admin", APIKey: apiKey, JobPolls: 1, PcapSize: 4096, TechSupportSize: 8192})
	if err != nil {
		t.Fatal(err)
	}
	sshLn, apiLn := listen(t), listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = sshSrv.Serve(ctx, sshLn); done <- struct{}{} }()
	go func() { _ = apiSrv.Serve(ctx, apiLn); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		sshLn.Close()
		apiLn.Close()
		for range 2 {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("simulator did not stop within 10s")
				return
			}
		}
	})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(sshLn.Addr().String())}, sshSrv.HostKey())
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PW": password, "KEY": apiKey}
	return &firewall{
		dev: dev,
		target: transports.Target{
			Name: "fw1", Transport: dual.Name, Host: "127.0.0.1", User: "admin",
			Ports:    map[string]int{dual.SSH: sshLn.Addr().(*net.TCPAddr).Port, dual.XMLAPI: apiLn.Addr().(*net.TCPAddr).Port},
			Password: secret.Ref{Kind: "env", Name: "PW"}, KnownHosts: kh,
			APIKey: secret.Ref{Kind: "env", Name: "KEY"}, TLS: transports.TLS{Fingerprint: apiSrv.Fingerprint()},
		},
		opts: transports.DialOptions{Resolve: (&secret.Resolver{Getenv: func(k string) string { return env[k] }}).Resolve},
	}
}

var dialer = dual.Dialer(ssh.Config{ConnectTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second, Backoff: 10 * time.Millisecond}.Dial, xmlapi.Dial)

func (f *firewall) open(t *testing.T) transports.Transport {
	t.Helper()
	tr, err := dialer(context.Background(), f.target, f.opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestConformance: the composite passes the suite every transport passes.
func TestConformance(t *testing.T) {
	f := start(t, sim.Options{Scenario: sim.Healthy, Faults: sim.Faults{SlowOn: "show running resource-monitor", SlowBy: 3 * time.Second}})
	transporttest.Run(t, transporttest.Harness{
		Open:    f.open,
		Known:   "show clock",
		Unknown: "frobnicate now",
		Slow:    "show running resource-monitor second last 5",
		SlowFor: 3 * time.Second,
	})
}

// via lists how each command reached the device, from its log: "ssh" or
// "api".
func via(dev *sim.Device, cli string) []string {
	var out []string
	for _, e := range dev.Log() {
		if e.CLI == cli {
			v, _, _ := strings.Cut(e.Via, ":")
			out = append(out, v)
		}
	}
	return out
}

// TestRouting: debug and show commands go over SSH, and what SSH switched
// on is what the API part's device has on; the filter capture and the
// tech-support file stream over the API with no scp server; the IKE
// capture, which the API does not export, is not offered.
func TestRouting(t *testing.T) {
	// rx.pcap is on the device already (the simulator writes a capture
	// file only for marked sessions, which this test does not make).
	f := start(t, sim.Options{Scenario: sim.Healthy, StaleCaptures: []string{"rx.pcap"}})
	tr := f.open(t)
	ctx := context.Background()
	for _, cli := range []string{
		"debug ike global on debug",
		"debug dataplane packet-diag set filter on",
		"debug dataplane packet-diag set capture stage receive file rx.pcap",
		"debug dataplane packet-diag set capture on",
		"show clock",
		"test security-policy-match source 10.0.0.1 destination 10.0.0.2 protocol 17 destination-port 500 application ike",
		"debug dataplane packet-diag set capture off",
		"debug dataplane packet-diag set filter off",
		"debug ike global off",
	} {
		res, err := tr.Run(ctx, transports.Command{CLI: cli, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", cli, err)
		}
		if res.Transport != dual.SSH {
			t.Errorf("%s: Result.Transport %q, want ssh", cli, res.Transport)
		}
		if v := via(f.dev, cli); len(v) != 1 || v[0] != "ssh" {
			t.Errorf("%s reached the device via %v, want [ssh]", cli, v)
		}
		if cli == "debug dataplane packet-diag set capture on" {
			// The state SSH set is the device's: the API sees it too.
			if on := f.dev.DebugState(); on[sim.SwPacketCapture] != "on" {
				t.Errorf("after %s the device has %v", cli, on)
			}
		}
	}
	ex, ok := tr.(transports.Exporter)
	if !ok {
		t.Fatal("the composite is not an Exporter")
	}
	for cat, want := range map[string]bool{"tech-support": true, "filters-pcap": true, "filter-pcap": true, "debug-pcap": false} {
		if got := ex.CanExport(cat); got != want {
			t.Errorf("CanExport(%s) = %t, want %t", cat, got, want)
		}
	}
	for _, req := range []transports.ExportRequest{{Category: "filter-pcap", File: "rx.pcap"}, {Category: "tech-support"}} {
		var buf bytes.Buffer
		info, err := ex.Export(ctx, req, &buf)
		if err != nil {
			t.Fatalf("export %s: %v", req.Category, err)
		}
		if info.Transport != dual.XMLAPI || info.Size == 0 || int64(buf.Len()) != info.Size {
			t.Errorf("export %s: %+v (%d bytes written), want over xmlapi", req.Category, info, buf.Len())
		}
	}
	if _, err := ex.Export(ctx, transports.ExportRequest{Category: "debug-pcap", File: "ikemgr.pcap"}, &bytes.Buffer{}); !errors.Is(err, transports.ErrNotSupported) {
		t.Errorf("export debug-pcap: %v, want ErrNotSupported", err)
	}
	if it, ok := tr.(transports.Interactive); !ok || !it.Interactive() {
		t.Error("the composite does not answer prompts, yet its SSH part does")
	}
	if ok, on := f.dev.Clean(); !ok {
		t.Errorf("device not clean: %v", on)
	}
}

// TestFacts: one set of facts, the transport named as both.
func TestFacts(t *testing.T) {
	f := start(t, sim.Options{Hostname: "pa-dual", Serial: "013201009999"})
	got := f.open(t).Facts()
	if got["transport"] != dual.Name || got["hostname"] != "pa-dual" || got["serial"] != "013201009999" || got["sw_version"] == "" {
		t.Errorf("facts %v", got)
	}
}

// TestCloseClosesBoth: after Close, commands and exports fail with
// ErrClosed; Close again is fine.
func TestCloseClosesBoth(t *testing.T) {
	f := start(t, sim.Options{})
	tr := f.open(t)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background(), transports.Command{CLI: "show clock"}); !errors.Is(err, transports.ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
	if _, err := tr.(transports.Exporter).Export(context.Background(), transports.ExportRequest{Category: "tech-support"}, &bytes.Buffer{}); !errors.Is(err, transports.ErrClosed) {
		t.Errorf("Export after Close: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestLostSSHSession: a dropped SSH connection fails that command as the
// SSH part alone would (ErrClosed, retryable), and the next command
// reconnects by itself, as the SSH part does alone.
func TestLostSSHSession(t *testing.T) {
	f := start(t, sim.Options{})
	tr := f.open(t)
	ctx := context.Background()
	if _, err := tr.Run(ctx, transports.Command{CLI: "show clock"}); err != nil {
		t.Fatal(err)
	}
	f.dev.SetFaults(sim.Faults{DropAfter: len(f.dev.Log())})
	_, err := tr.Run(ctx, transports.Command{CLI: "show clock", Timeout: 5 * time.Second})
	if !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("dropped command: %v, want ErrClosed", err)
	}
	res, err := tr.Run(ctx, transports.Command{CLI: "show clock", Timeout: 5 * time.Second})
	if err != nil || res.Transport != dual.SSH {
		t.Fatalf("after the drop: %+v %v", res, err)
	}
}

// TestDialFailures: a part that cannot connect fails the dial and is
// named; two parts on different devices are refused.
func TestDialFailures(t *testing.T) {
	f := start(t, sim.Options{})
	ctx := context.Background()

	bad := f.target
	bad.Ports = map[string]int{dual.SSH: f.target.Ports[dual.SSH], dual.XMLAPI: closedPort(t)}
	_, err := dialer(ctx, bad, f.opts)
	var ce *transports.ConnError
	if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "xmlapi part: ") {
		t.Errorf("API part down: %v, want a ConnError naming the xmlapi part", err)
	}
	bad.Ports = map[string]int{dual.SSH: closedPort(t), dual.XMLAPI: f.target.Ports[dual.XMLAPI]}
	if _, err := dialer(ctx, bad, f.opts); !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "ssh part: ") {
		t.Errorf("SSH part down: %v, want a ConnError naming the ssh part", err)
	}

	other := start(t, sim.Options{Serial: "013201000001"})
	mixed := f.target
	mixed.Ports = map[string]int{dual.SSH: f.target.Ports[dual.SSH], dual.XMLAPI: other.target.Ports[dual.XMLAPI]}
	mixed.TLS = other.target.TLS
	_, err = dialer(ctx, mixed, f.opts)
	if !errors.Is(err, dual.ErrDifferentDevices) || !errors.As(err, &ce) {
		t.Errorf("two devices: %v, want ErrDifferentDevices", err)
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	ln := listen(t)
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}
