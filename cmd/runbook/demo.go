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

// demoPeerTarget is the other end of the demo's tunnel: a second
// simulated device, its topology the demo's mirrored, reached the same way.
// With demo it makes a case of two ends (runbook run -t demo -t demo-peer).
const demoPeerTarget = "demo-peer"

// isDemo reports whether name is one of the built-in simulated targets.
func isDemo(name string) bool { return name == demoTarget || name == demoPeerTarget }

// demoScenarios maps a built-in playbook to the fault the demo device shows.
var demoScenarios = map[string]sim.Scenario{
	"phase1-down":          "phase1-down",
	"phase2-down":          "phase2-down",
	"tunnel-up-no-traffic": "no-traffic",
	"performance":          "performance",
}

// demoPeerState is what the demo's peer shows for one playbook.
type demoPeerState struct {
	scenario sim.Scenario
	faults   sim.Faults
	// initiates: the peer started the IKE exchange and the ESP traffic,
	// as the demo's own sessions say (it is not the initiator), except
	// when the demo sends IKE itself.
	initiates bool
	// ipsec is the peer's IPSec crypto profile; zero: the demo's.
	ipsec sim.Crypto
}

// demoPeerStates maps a built-in playbook to the state of the demo's peer:
// the other side of the demo's fault, so that the two ends tell one story
// and the findings across them are those their outputs support.
var demoPeerStates = map[string]demoPeerState{
	// The demo sends IKE and gets no answer; the peer sees no IKE session
	// at all: the requests are lost between them (ike-lost-a-to-b).
	"phase1-down": {scenario: sim.Phase1Down, faults: sim.Faults{NoIKESession: true}},
	// Phase 1 is up and phase 2 is down on both ends: the peer's IPSec
	// crypto profile offers AES256 where the demo's offers 3DES, so no
	// proposal is common (ipsec-proposal-mismatch).
	"phase2-down": {scenario: sim.Phase2Down, initiates: true, ipsec: sim.Crypto{Enc: []string{"AES256"}}},
	// The demo encapsulates, the peer decapsulates nothing and so sends
	// nothing back: the ESP packets are lost between them (lost-a-to-b).
	"tunnel-up-no-traffic": {scenario: sim.Idle, initiates: true},
	// The demo's data plane is busy; its peer is healthy and passes
	// traffic both ways: nothing is lost between them.
	"performance": {scenario: sim.Healthy, initiates: true},
}

// demoDevice is a running demo simulator.
type demoDevice struct {
	target transports.Target
	dev    *sim.Device
	stop   func()
}

// demoDevices are the demo simulators a run started, in the order their
// targets were given.
type demoDevices []*demoDevice

// find returns the running device of the built-in target name, or nil.
func (ds demoDevices) find(name string) *demoDevice {
	for _, d := range ds {
		if d.target.Name == name {
			return d
		}
	}
	return nil
}

// stop stops every device.
func (ds demoDevices) stop() {
	for _, d := range ds {
		d.stop()
	}
}

// report says of every device whether it was left clean.
func (ds demoDevices) report(w io.Writer) {
	for _, d := range ds {
		d.report(w)
	}
}

// demoTopology is the topology of the built-in target name.
func demoTopology(name string) sim.Topology {
	topo := sim.DefaultTopology()
	if name == demoPeerTarget {
		topo = topo.Mirror()
	}
	return topo
}

// demoOptions are the simulator options of the built-in target name for
// playbook pb: a built-in playbook's fault (demo) or the other side of it
// (demo-peer); a healthy tunnel for any other playbook.
func demoOptions(name string, pb *playbook.Playbook) sim.Options {
	topo := demoTopology(name)
	if name == demoPeerTarget {
		st, ok := demoPeerStates[pb.Name]
		if !ok {
			st = demoPeerState{scenario: sim.Healthy, initiates: true}
		}
		topo.IPSecCrypto = st.ipsec
		return sim.Options{Hostname: "pa-demo-peer", Scenario: st.scenario, Topology: &topo,
			Faults: st.faults, LocalInitiates: st.initiates, Seed: 2}
	}
	scenario, ok := demoScenarios[pb.Name]
	if !ok {
		scenario = "healthy"
	}
	return sim.Options{Hostname: "pa-demo", Scenario: scenario, Topology: &topo}
}

// startDemo starts the simulator of the built-in target name (demo or
// demo-peer) for pb and returns the target that reaches it, with the
// parameters of its topology for any not given.
func startDemo(ctx context.Context, name string, pb *playbook.Playbook) (*demoDevice, error) {
	o := demoOptions(name, pb)
	dev := sim.NewDevice(o)
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	password := hex.EncodeToString(pw)
	srv, err := sim.NewSSHServer(dev, sim.SSHConfig{User: "admin", Password: password})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dir, err := os.MkdirTemp("", "runbook-"+name+"-")
	if err != nil {
		ln.Close()
		return nil, err
	}
	addr := ln.Addr().(*net.TCPAddr)
	khLine := knownhosts.Line([]string{knownhosts.Normalize(addr.String())}, srv.HostKey())
	kh := filepath.Join(dir, "known_hosts")
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(kh, []byte(khLine+"\n"), 0o600); err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(sctx, ln)
	}()
	t := transports.Target{
		Name: name, Transport: "ssh", Host: "127.0.0.1", Port: addr.Port, User: "admin",
		Password: secret.Ref{Kind: "file", Name: pwFile}, KnownHosts: kh, Params: o.Topology.Params(),
	}
	return &demoDevice{target: t, dev: dev, stop: func() {
		cancel()
		ln.Close()
		<-done
		os.RemoveAll(dir)
	}}, nil
}

// demoPlanTarget is a built-in target as a dry run shows it: the simulator
// is not started, so it has no port yet; its topology supplies the params.
func demoPlanTarget(name string) transports.Target {
	topo := demoTopology(name)
	return transports.Target{Name: name, Transport: "ssh", Host: "127.0.0.1", User: "admin", Params: topo.Params()}
}

// report says whether the demo device was left clean, or that it was
// sent nothing (a run stopped by bad input before it connected).
func (d *demoDevice) report(w io.Writer) {
	if len(d.dev.Log()) == 0 {
		fmt.Fprintf(w, "runbook: %s device: received no command\n", d.target.Name)
		return
	}
	if clean, on := d.dev.Clean(); clean {
		fmt.Fprintf(w, "runbook: %s device: every debug and capture switch is back off\n", d.target.Name)
	} else {
		fmt.Fprintf(w, "runbook: %s device: still on: %s\n", d.target.Name, strings.Join(on, ", "))
	}
}
