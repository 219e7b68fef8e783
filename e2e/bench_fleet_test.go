package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/sim"
)

// fleetLatency is what each simulated firewall adds before every answer:
// a management plane on the far side of a WAN, busy with other work.
const fleetLatency = 100 * time.Millisecond

// BenchmarkFleet200 runs the built-in phase2-down playbook with the
// runbook binary against one simulated firewall, then against 200 at once
// (one group, --parallel 200), each its own SSH server on loopback adding
// 100 ms to every answer. It reports both wall times, their ratio (the
// goal: <= 1.5) and the peak RSS of the 200-target runbook process (goal:
// <= 150 MB; the simulators run in this process, not in that one). The
// run folders go to tmpfs (/dev/shm) when there is one: the figure is the
// engine's, not the disk's (ext4 spends most of the time creating files).
//
//	go test ./e2e -run '^$' -bench Fleet200 -benchtime 1x
func BenchmarkFleet200(b *testing.B) {
	const n = 200
	w := startFleet(b, n)
	for range b.N {
		one, _ := w.runFleet(b, "fw000", 1)
		all, rss := w.runFleet(b, "all", n)
		b.ReportMetric(one.Seconds(), "wall-1-s")
		b.ReportMetric(all.Seconds(), "wall-200-s")
		b.ReportMetric(all.Seconds()/one.Seconds(), "ratio")
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
	}
}

// fleetWorkspace is n simulated firewalls and an inventory naming each
// (fw000...) and the group "all".
type fleetWorkspace struct {
	dir  string
	out  string // where the run folders go: tmpfs when there is one
	sec  secrets
	devs []*sim.Device
}

func startFleet(b *testing.B, n int) *fleetWorkspace {
	b.Helper()
	w := &fleetWorkspace{dir: b.TempDir(), sec: newSecrets(b)}
	w.out = w.dir
	if d, err := os.MkdirTemp("/dev/shm", "runbook-bench-"); err == nil {
		b.Cleanup(func() { os.RemoveAll(d) })
		w.out = d
	}
	b.Logf("run folders in %s", w.out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, n)
	var inv, kh strings.Builder
	inv.WriteString("targets:\n")
	names := make([]string, n)
	for i := range n {
		dev := sim.NewDevice(sim.Options{Hostname: fmt.Sprintf("fw%03d", i), Scenario: sim.Phase2Down, Seed: int64(i), Latency: fleetLatency, ScpPassword: w.sec.scpPassword})
		srv, err := sim.NewSSHServer(dev, sim.SSHConfig{User: "admin", Password: w.sec.sshPassword})
		if err != nil {
			b.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go func() { _ = srv.Serve(ctx, ln); done <- struct{}{} }()
		w.devs = append(w.devs, dev)
		port := ln.Addr().(*net.TCPAddr).Port
		names[i] = fmt.Sprintf("fw%03d", i)
		kh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(fmt.Sprintf("127.0.0.1:%d", port))}, srv.HostKey()) + "\n")
		p := dev.Topology().Params()
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range p {
				if !yield(k) {
					return
				}
			}
		})
		fmt.Fprintf(&inv, "  %s:\n    transport: ssh\n    host: 127.0.0.1\n    port: %d\n    user: admin\n    password: env:E2E_SSH_PASSWORD\n    known_hosts: %q\n    params:\n", names[i], port, filepath.Join(w.dir, "known_hosts"))
		for _, k := range keys {
			fmt.Fprintf(&inv, "      %s: %q\n", k, p[k])
		}
	}
	fmt.Fprintf(&inv, "groups:\n  all: [%s]\n", strings.Join(names, ", "))
	b.Cleanup(func() {
		cancel()
		for range n {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				b.Error("a simulator did not stop within 10s")
				return
			}
		}
	})
	if err := os.WriteFile(filepath.Join(w.dir, "known_hosts"), []byte(kh.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "inventory.yaml"), []byte(inv.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return w
}

// runFleet runs phase2-down against target (a target or the group) and
// returns the wall time and the process's peak RSS. Every firewall it ran
// against must be left with debug off.
func (w *fleetWorkspace) runFleet(b *testing.B, target string, parallel int) (time.Duration, int64) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := filepath.Join(w.out, "out-"+target)
	cmd := exec.CommandContext(ctx, bin, "run", "phase2-down", "-i", filepath.Join(w.dir, "inventory.yaml"), "-t", target,
		"-p", "repeat=2", "-p", "interval=1s",
		"-p", "scp_to=support@192.0.2.50:/cases/vpn", "-p", "scp_password=env:E2E_SCP_PASSWORD",
		"--parallel", fmt.Sprint(parallel), "--yes", "-o", out)
	cmd.Dir = w.dir
	ws := &workspace{dir: w.dir, sec: w.sec}
	cmd.Env = ws.env()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("runbook run -t %s: %v\n%s", target, err, tail(stderr.String(), 40))
	}
	for _, d := range w.devs {
		if ok, on := d.Clean(); !ok {
			b.Fatalf("%s NOT clean: %s", d.Options().Hostname, strings.Join(on, ", "))
		}
	}
	runs := 0
	_ = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "manifest.json" {
			runs++
		}
		return nil
	})
	if runs != parallel {
		b.Fatalf("runbook run -t %s: %d run folders, want %d", target, runs, parallel)
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024 // kilobytes on Linux
	}
	b.Logf("-t %s: wall %v, user %v, sys %v", target, wall.Round(time.Millisecond), cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime())
	if err := os.RemoveAll(out); err != nil {
		b.Fatal(err)
	}
	return wall, rss
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(len(l)-n, 0):], "\n")
}
