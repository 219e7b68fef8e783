package ssh

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/internal/peakrss"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
)

// fleetEnv, when set to N in the environment, turns the test binary into
// the server side of BenchmarkFiftyTargets: N simulated devices, each its
// own SSH server on 127.0.0.1:0. Serving them from another process keeps
// the benchmark's memory figures those of the SSH clients alone.
const fleetEnv = "RUNBOOK_BENCH_SIM_FLEET"

// fleetPasswordEnv carries the fleet's (throw-away) login password.
const fleetPasswordEnv = "RUNBOOK_BENCH_SIM_PASSWORD"

func TestMain(m *testing.M) {
	if n := os.Getenv(fleetEnv); n != "" {
		os.Exit(serveFleet(n))
	}
	os.Exit(m.Run())
}

// serveFleet serves n simulated phase2-down devices and prints one line per
// device, "host:port <host key in authorized_keys form>", then "ready". It
// stops when its stdin ends (or after 30 minutes), and exits 1 if a device
// was left with debug on.
func serveFleet(arg string) int {
	n, err := strconv.Atoi(arg)
	if err != nil || n <= 0 || n > 500 {
		fmt.Fprintf(os.Stderr, "fleet: bad %s=%q\n", fleetEnv, arg)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	devs := make([]*sim.Device, n)
	for i := range devs {
		devs[i] = sim.NewDevice(sim.Options{Hostname: fmt.Sprintf("fw%02d", i+1), Scenario: sim.Phase2Down, Seed: int64(i)})
		srv, err := sim.NewSSHServer(devs[i], sim.SSHConfig{Password: os.Getenv(fleetPasswordEnv)})
		if err != nil {
			fmt.Fprintln(os.Stderr, "fleet:", err)
			return 2
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "fleet:", err)
			return 2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ctx, ln); err != nil {
				fmt.Fprintln(os.Stderr, "fleet:", err)
			}
		}()
		fmt.Printf("%s %s", ln.Addr(), xssh.MarshalAuthorizedKey(srv.HostKey()))
	}
	fmt.Println("ready")
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	<-ctx.Done()
	wg.Wait()
	status := 0
	for _, d := range devs {
		if ok, on := d.Clean(); !ok {
			fmt.Fprintf(os.Stderr, "fleet: %s left with %v\n", d.Options().Hostname, on)
			status = 1
		}
	}
	return status
}

// startFleet starts serveFleet in a child process and returns a target per
// device, trusted through one known_hosts file. The child is stopped, and
// its devices checked clean, when the benchmark ends.
func startFleet(b *testing.B, n int) ([]transports.Target, transports.DialOptions) {
	b.Helper()
	const pw = "fleet-Bench-pw-7"
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fleetEnv+"="+strconv.Itoa(n), fleetPasswordEnv+"="+pw)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 10 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && sc.Text() != "ready" {
			got = append(got, sc.Text())
		}
		lines <- got
		io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	b.Cleanup(func() {
		stdin.Close()
		select {
		case err := <-exited:
			if err != nil {
				b.Errorf("simulated fleet: %v (a device left with debug on?)", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			b.Error("simulated fleet did not stop within 30s")
		}
	})
	var got []string
	select {
	case got = <-lines:
	case <-time.After(60 * time.Second):
		b.Fatal("simulated fleet not ready after 60s")
	}
	if len(got) != n {
		b.Fatalf("simulated fleet: %d devices, want %d", len(got), n)
	}
	kh := filepath.Join(b.TempDir(), "known_hosts")
	var khText strings.Builder
	targets := make([]transports.Target, n)
	for i, l := range got {
		addr, key, _ := strings.Cut(l, " ")
		pub, _, _, _, err := xssh.ParseAuthorizedKey([]byte(key))
		if err != nil {
			b.Fatalf("fleet line %q: %v", l, err)
		}
		khText.WriteString(knownhosts.Line([]string{knownhosts.Normalize(addr)}, pub) + "\n")
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		targets[i] = transports.Target{Name: fmt.Sprintf("fw%02d", i+1), Transport: "ssh", Host: host, Port: p,
			User: "admin", Password: secret.Ref{Kind: "env", Name: "FLEET_PW"}, KnownHosts: kh}
	}
	if err := os.WriteFile(kh, []byte(khText.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	res := &secret.Resolver{Getenv: func(k string) string {
		if k == "FLEET_PW" {
			return pw
		}
		return ""
	}}
	return targets, transports.DialOptions{Resolve: res.Resolve}
}

// phase2Sequence is what the phase2-down procedure sends to one firewall
// after the session set-up: debug on, evidence, debug off.
func phase2Sequence(topo sim.Topology) []string {
	flow := "show vpn flow tunnel-id " + strconv.Itoa(topo.TunnelID)
	return []string{
		"debug ike pcap delete",
		"debug ike pcap on",
		"debug ike global on debug",
		"debug mprelay on debug",
		"show clock",
		"show session all filter source " + topo.LocalIP + " destination " + topo.PeerIP + " application ipsec-esp",
		"show session all filter source " + topo.LocalIP + " destination " + topo.PeerIP + " application ipsec-esp-udp",
		"show session id " + strconv.Itoa(topo.ESPSessionID),
		"show vpn ike-sa gateway " + topo.Gateway,
		"show vpn ipsec-sa tunnel " + topo.Tunnel,
		flow,
		flow,
		flow,
		"show counter global filter delta yes packet-filter yes",
		"show clock",
		"debug ike pcap off",
		"debug ike global on normal",
		"debug mprelay on info",
	}
}

// memPeak samples the Go heap while a benchmark runs.
type memPeak struct {
	stop           chan struct{}
	done           chan struct{}
	heapInuse, sys uint64
}

func sampleMemory(every time.Duration) *memPeak {
	m := &memPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			m.heapInuse = max(m.heapInuse, ms.HeapInuse)
			m.sys = max(m.sys, ms.Sys)
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// wait stops the sampler; its fields are final afterwards.
func (m *memPeak) wait() {
	close(m.stop)
	<-m.done
}

// BenchmarkFiftyTargets opens 50 SSH sessions at once, each to its own
// simulated firewall (served by a child process on loopback, zero added
// latency), runs the phase2-down command sequence on each and closes them.
// ns/op is the wall time of the whole fleet; peak memory is this process
// (the clients) only.
func BenchmarkFiftyTargets(b *testing.B) {
	const n = 50
	targets, opts := startFleet(b, n)
	seq := phase2Sequence(sim.DefaultTopology())
	cfg := Config{ConnectTimeout: time.Minute, CommandTimeout: time.Minute}
	runtime.GC()
	rssReset := peakrss.Reset()
	mem := sampleMemory(2 * time.Millisecond)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for _, tg := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tr, err := cfg.Dial(ctx, tg, opts)
				if err != nil {
					errs <- err
					return
				}
				defer tr.Close()
				for _, cli := range seq {
					if _, err := tr.Run(ctx, transports.Command{CLI: cli}); err != nil {
						errs <- fmt.Errorf("%s: %w", tg.Name, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		cancel()
		close(errs)
		if err := errors.Join(collect(errs)...); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	mem.wait()
	const mb = 1 << 20
	// 4 set-up commands per session (scripting mode, pager, width, system info).
	b.ReportMetric(float64(b.N*n*(len(seq)+4))/b.Elapsed().Seconds(), "cmds/s")
	b.ReportMetric(float64(mem.heapInuse)/mb, "peak-heap-MB")
	b.ReportMetric(float64(mem.sys)/mb, "peak-sys-MB")
	if rssReset {
		b.ReportMetric(float64(peakrss.Bytes())/mb, "peak-rss-MB")
	}
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}
