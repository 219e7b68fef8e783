package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
)

// demoTarget is the built-in target that needs no inventory and no
// firewall: a simulated PAN-OS device started in-process on a free
// loopback port and reached over real SSH.
const demoTarget = "demo"

// demoScenarios maps a built-in playbook to the fault the demo device shows.
var demoScenarios = map[string]sim.Scenario{
	"phase1-down":          "phase1-down",
	"phase2-down":          "phase2-down",
	"tunnel-up-no-traffic": "no-traffic",
	"performance":          "performance",
}

// demoDevice is a running demo simulator.
type demoDevice struct {
	target transports.Target
	dev    *sim.Device
	stop   func()
}

// startDemo starts the simulator for pb and returns the target that
// reaches it, with the parameters of its topology for any not given.
func startDemo(ctx context.Context, pb *playbook.Playbook) (*demoDevice, error) {
	scenario, ok := demoScenarios[pb.Name]
	if !ok {
		scenario = "healthy"
	}
	topo := sim.DefaultTopology()
	dev := sim.NewDevice(sim.Options{Hostname: "pa-demo", Scenario: scenario, Topology: &topo})
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	password := hex.EncodeToString(pw)
	srv, err := sim.NewSSHServer(dev, sim.SSHConfig{User: "admin", Password: password})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	dir, err := os.MkdirTemp("", "runbook-demo-")
	if err != nil {
		ln.Close()
		return nil, err
	}
	addr := ln.Addr().(*net.TCPAddr)
	khLine := knownhosts.Line([]string{knownhosts.Normalize(addr.String())}, srv.HostKey())
	kh := filepath.Join(dir, "known_hosts")
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(kh, []byte(khLine+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(sctx, ln)
	}()
	params := topo.Params()
	t := transports.Target{
		Name: demoTarget, Transport: "ssh", Host: "127.0.0.1", Port: addr.Port, User: "admin",
		Password: secret.Ref{Kind: "file", Name: pwFile}, KnownHosts: kh, Params: params,
	}
	return &demoDevice{target: t, dev: dev, stop: func() {
		cancel()
		ln.Close()
		<-done
		os.RemoveAll(dir)
	}}, nil
}

// demoPlanTarget is the demo target as a dry run shows it: the simulator is
// not started, so it has no port yet; its topology supplies the params.
func demoPlanTarget() transports.Target {
	topo := sim.DefaultTopology()
	return transports.Target{Name: demoTarget, Transport: "ssh", Host: "127.0.0.1", User: "admin", Params: topo.Params()}
}

// report says whether the demo device was left clean.
func (d *demoDevice) report(w io.Writer) {
	if clean, on := d.dev.Clean(); clean {
		fmt.Fprintln(w, "runbook: demo device: every debug and capture switch is back off")
	} else {
		fmt.Fprintf(w, "runbook: demo device: still on: %s\n", strings.Join(on, ", "))
	}
}
