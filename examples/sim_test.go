package examples_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/observe"
	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/record"
	"github.com/runbook-dev/runbook/transports/replay"
)

var update = flag.Bool("update", false, "regenerate the cassettes from the simulator and rewrite the golden files")

// simCase is one recorded session of a built-in playbook against the
// simulated firewall.
type simCase struct {
	// name is the cassette: cassettes/<name>.yaml.
	name     string
	playbook string
	scenario sim.Scenario
	// topo changes the simulator's VPN before the run.
	topo func(t *sim.Topology)
	// faults are injected into the simulated device from the start.
	faults sim.Faults
	// opts changes the simulator's other options (who started the tunnel,
	// sessions created after the filter, files of an earlier capture).
	opts func(o *sim.Options)
	// params builds the playbook's parameters from the topology.
	params func(t sim.Topology) map[string]string
	// scp gives scp_to (and the scp_password secret): files leave by
	// `scp export`. Without it the export steps are skipped with a note.
	scp bool
	// exit and findings are what the run must end with.
	exit     int
	findings []string
}

func phase1Params(t sim.Topology) map[string]string {
	return map[string]string{"gateway": t.Gateway, "peer_ip": t.PeerIP, "local_ip": t.LocalIP}
}

func phase2Params(t sim.Topology) map[string]string {
	return map[string]string{"gateway": t.Gateway, "tunnel": t.Tunnel, "peer_ip": t.PeerIP, "local_ip": t.LocalIP}
}

func trafficParams(t sim.Topology) map[string]string {
	return map[string]string{"tunnel": t.Tunnel, "src": t.LocalHost, "dst": t.RemoteHost}
}

// simCases are the shipped cassettes generated from the simulator: for
// each playbook the typical session (cassette named after the playbook,
// replayed by the demo target) and the unhappy branches.
var simCases = []simCase{
	// phase1-down: the peer keeps trying; its IKE sessions are new ones, so
	// the capture filter marks them. This firewall's own requests go
	// unanswered; no rule of the rulebase matches IKE (the default rule
	// applies, which the device does not name).
	{name: "phase1-down", playbook: "phase1-down", scenario: sim.Phase1Down, params: phase1Params, scp: true, opts: fresh,
		findings: []string{"ike-no-rule-matches", "no-ike-sa", "ike-no-reply"}},
	// The peer address given is not answering: no ping reply, no IKE
	// session at all, so the session detail is skipped.
	{name: "phase1-down-peer-unreachable", playbook: "phase1-down", scenario: sim.Phase1Down, params: func(t sim.Topology) map[string]string {
		p := phase1Params(t)
		p["peer_ip"] = "203.0.113.77"
		return p
	}, opts: fresh,
		findings: []string{"ike-no-rule-matches", "no-ike-sa", "peer-unreachable", "no-ike-seen"}},
	{name: "phase2-down", playbook: "phase2-down", scenario: sim.Healthy, params: phase2Params, scp: true},
	{name: "phase2-down-no-sa", playbook: "phase2-down", scenario: sim.Phase2Down, params: phase2Params,
		findings: []string{"no-sa", "no-esp-session"}},
	{name: "tunnel-up-no-traffic", playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, params: trafficParams, scp: true},
	{name: "tunnel-up-no-traffic-decap-flat", playbook: "tunnel-up-no-traffic", scenario: sim.NoTraffic, params: trafficParams,
		findings: []string{"decap-flat"}},
	// The virtual router routes the destination out of the outside
	// interface instead of into the tunnel.
	{name: "tunnel-up-no-traffic-no-route", playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, params: trafficParams,
		topo:     func(t *sim.Topology) { t.RemoteNetwork = "192.168.99.0/24" },
		findings: []string{"route-not-into-tunnel"}},
	// Healthy: a policy-based forwarding rule sends the traffic into the
	// tunnel while the route lookup names the outside interface (PBF
	// overrides the routing table); its session leaves by the tunnel.
	{name: "tunnel-up-no-traffic-pbf-healthy", playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, params: trafficParams,
		opts: func(o *sim.Options) { o.PBFIntoTunnel = true }, findings: []string{"tunnel-not-by-route"}},
	// The route lookup names the outside interface and the session detail
	// is refused: where the traffic leaves is not shown.
	{name: "tunnel-up-no-traffic-no-route-no-session", playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, params: trafficParams,
		topo: func(t *sim.Topology) { t.RemoteNetwork = "192.168.99.0/24" },
		opts: func(o *sim.Options) {
			o.Refuse = []sim.Refusal{{Match: `^show session id `, Error: sim.RefuseInvalid}}
		},
		exit: 1, findings: []string{"route-lookup-not-into-tunnel"}},
	{name: "performance", playbook: "performance", scenario: sim.Performance, params: trafficParams, scp: true,
		findings: []string{"dataplane-cpu-high", "packet-buffers-low", "capture-rate-limited"}},
	{name: "performance-no-sa", playbook: "performance", scenario: sim.Phase2Down, params: trafficParams,
		findings: []string{"no-sa", "drops-rising"}},

	// Cases built to show one finding each (see findings_test.go). The
	// *-healthy ones, with phase2-down and tunnel-up-no-traffic above, are
	// the healthy tunnel on which no finding of the playbook fires.
	{name: "phase1-down-healthy", playbook: "phase1-down", scenario: sim.Healthy, params: phase1Params},
	// Healthy too, with this firewall as the side that started IKE: no
	// finding may fire whichever side started.
	{name: "phase1-down-healthy-initiator", playbook: "phase1-down", scenario: sim.Healthy, params: phase1Params,
		opts: func(o *sim.Options) { o.LocalInitiates = true }},
	// The peer is outside the connected network and the virtual router has
	// no default route.
	{name: "phase1-down-no-route", playbook: "phase1-down", scenario: sim.Phase1Down, params: phase1Params, opts: fresh,
		topo:     func(t *sim.Topology) { t.PeerIP, t.NoDefaultRoute = "203.0.113.77", true },
		findings: []string{"ike-no-rule-matches", "no-ike-sa", "ike-no-reply", "no-route", "peer-unreachable"}},
	// The tunnel's remote network covers the peer's address: IKE to the
	// peer is routed into the tunnel.
	{name: "phase1-down-wrong-interface", playbook: "phase1-down", scenario: sim.Phase1Down, params: phase1Params, opts: fresh,
		topo:     func(t *sim.Topology) { t.RemoteNetwork = "10.1.1.0/24" },
		findings: []string{"ike-no-rule-matches", "no-ike-sa", "ike-no-reply", "peer-route-wrong-interface"}},
	// A deny rule in front of the rule that allows IKE and ESP.
	{name: "phase1-down-ike-denied", playbook: "phase1-down", scenario: sim.Phase1Down, params: phase1Params, opts: fresh,
		faults:   sim.Faults{DenyIPSec: true},
		findings: []string{"ike-not-allowed", "no-ike-sa", "ike-no-reply", "drops-rising"}},
	// The peer's IKE requests arrive and this firewall does not answer.
	{name: "phase1-down-peer-unanswered", playbook: "phase1-down", scenario: sim.Phase1Down, params: phase1Params, opts: fresh,
		faults:   sim.Faults{PeerIKEUnanswered: true},
		findings: []string{"no-ike-sa", "ike-peer-unanswered"}},
	// IKE SA up, no child SA; packets for the tunnel dropped for lack of SA.
	{name: "phase1-down-phase1-only", playbook: "phase1-down", scenario: sim.Phase2Down, params: phase1Params, opts: fresh,
		findings: []string{"phase1-only"}},
	// A deny rule matches ESP and ESP over UDP from the peer.
	{name: "phase2-down-esp-blocked", playbook: "phase2-down", scenario: sim.Phase2Down, params: phase2Params,
		faults:   sim.Faults{DenyIPSec: true},
		findings: []string{"esp-not-allowed", "no-sa", "no-esp-session"}},
	// No rule of the rulebase matches ESP (the phase1-down device's
	// rulebase).
	{name: "phase2-down-no-rule", playbook: "phase2-down", scenario: sim.Phase1Down, params: phase2Params,
		findings: []string{"esp-no-rule-matches", "no-sa", "no-esp-session"}},
	{name: "phase2-down-decap-flat", playbook: "phase2-down", scenario: sim.NoTraffic, params: phase2Params,
		findings: []string{"decap-flat"}},
	{name: "phase2-down-encap-flat", playbook: "phase2-down", scenario: sim.NoEncap, params: phase2Params,
		findings: []string{"encap-flat"}},
	{name: "phase2-down-tunnel-errors", playbook: "phase2-down", scenario: sim.Healthy, params: phase2Params,
		faults:   sim.Faults{AuthErrors: true, ReplayDrops: true},
		findings: []string{"auth-errors", "replay-drops"}},
	// A tunnel with two proxy IDs: two SAs, each sampled; healthy, then
	// decrypting nothing on either.
	{name: "phase2-down-proxy-ids", playbook: "phase2-down", scenario: sim.Healthy, params: phase2Params,
		topo: proxyIDs},
	{name: "tunnel-up-no-traffic-proxy-ids-decap-flat", playbook: "tunnel-up-no-traffic", scenario: sim.NoTraffic, params: trafficParams,
		topo: proxyIDs, findings: []string{"decap-flat"}},
	// No route at all to the destination.
	{name: "tunnel-up-no-traffic-no-fib-route", playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, params: trafficParams,
		topo:     func(t *sim.Topology) { t.RemoteNetwork, t.NoDefaultRoute = "", true },
		findings: []string{"no-route"}},
	{name: "tunnel-up-no-traffic-encap-flat", playbook: "tunnel-up-no-traffic", scenario: sim.NoEncap, params: trafficParams,
		findings: []string{"encap-flat"}},
	{name: "tunnel-up-no-traffic-idle", playbook: "tunnel-up-no-traffic", scenario: sim.Idle, params: trafficParams,
		findings: []string{"tunnel-idle"}},
	{name: "tunnel-up-no-traffic-no-sa", playbook: "tunnel-up-no-traffic", scenario: sim.Phase2Down, params: trafficParams,
		findings: []string{"no-sa", "drops-rising"}},
	{name: "tunnel-up-no-traffic-tunnel-errors", playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, params: trafficParams,
		faults:   sim.Faults{AuthErrors: true, ReplayDrops: true},
		findings: []string{"auth-errors", "replay-drops"}},
	// The wider end of a healthy narrowed IKEv2 pair: its proxy ID
	// (192.168.8.0/21 -> 192.168.16.0/20) was narrowed to 192.168.10.0/24
	// -> 192.168.20.0/24, which holds the traffic: nothing fires.
	{name: "tunnel-up-no-traffic-narrowed", playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, params: trafficParams,
		topo: func(t *sim.Topology) { *t = sim.NarrowedTopology() }},
	// The same end, and the traffic goes to 192.168.21.10: inside the
	// configured remote network, outside the narrowed one.
	{name: "tunnel-up-no-traffic-outside-selectors", playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, params: trafficParams,
		topo: func(t *sim.Topology) {
			*t = sim.NarrowedTopology()
			t.RemoteHost, t.RemoteNetwork = "192.168.21.10", "192.168.16.0/20"
		},
		findings: []string{"traffic-outside-selectors"}},
	// Capture files of an earlier run are on the device: they are deleted
	// before the new capture, so they are not exported as this run's.
	{name: "tunnel-up-no-traffic-stale-captures", playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, params: trafficParams, scp: true,
		opts: func(o *sim.Options) { o.StaleCaptures = []string{"rx.pcap", "tx.pcap", "drop.pcap", "fw.pcap"} }},
	{name: "performance-healthy", playbook: "performance", scenario: sim.Healthy, params: trafficParams},
	// Healthy devices that looked faulty to earlier findings. The peer
	// drops ICMP by policy: ping is unanswered, IKE comes and goes, and the
	// ping is only reported (info).
	{name: "phase1-down-healthy-no-icmp", playbook: "phase1-down", scenario: sim.Healthy, params: phase1Params,
		opts: func(o *sim.Options) { o.PeerDropsICMP = true }, findings: []string{"ping-unanswered"}},
	// No explicit rule allows IKE and ESP: test security-policy-match
	// answers nothing and intrazone-default lets them through.
	{name: "phase1-down-healthy-default-rule", playbook: "phase1-down", scenario: sim.Healthy, params: phase1Params,
		opts: func(o *sim.Options) { o.NoIPSecRule = true }},
	{name: "phase2-down-healthy-default-rule", playbook: "phase2-down", scenario: sim.Healthy, params: phase2Params,
		opts: func(o *sim.Options) { o.NoIPSecRule = true }},
	// The traffic under test is syslog to a collector behind the tunnel:
	// encrypted, never answered. Only reported (info), not decap-flat.
	{name: "tunnel-up-no-traffic-one-way-healthy", playbook: "tunnel-up-no-traffic", scenario: sim.NoTraffic, params: trafficParams,
		opts: func(o *sim.Options) { o.OneWayTraffic = true }, findings: []string{"nothing-decrypted"}},
	// The operator left ikemgr and mprelay at debug and a capture filter of
	// their own in slot 1, with the filter on: the run uses the free slots
	// and leaves all of it as it was.
	{name: "phase1-down-operator-state", playbook: "phase1-down", scenario: sim.Phase1Down, params: phase1Params, opts: func(o *sim.Options) {
		fresh(o)
		o.Setup = operatorState
	}, findings: []string{"ike-no-rule-matches", "no-ike-sa", "ike-no-reply"}},
	{name: "tunnel-up-no-traffic-operator-state", playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, params: trafficParams,
		opts: func(o *sim.Options) { o.Setup = operatorState }},
	// Three of the four filter slots are the operator's: phase1-down needs
	// two, so it captures nothing and says so; the filters stay.
	{name: "phase1-down-no-filter-slot", playbook: "phase1-down", scenario: sim.Phase1Down, params: phase1Params, opts: func(o *sim.Options) {
		fresh(o)
		o.Setup = []string{
			"debug dataplane packet-diag set filter match source 10.9.9.1",
			"debug dataplane packet-diag set filter match source 10.9.9.2",
			"debug dataplane packet-diag set filter match source 10.9.9.3",
		}
	}, findings: []string{"ike-no-rule-matches", "no-ike-sa", "ike-no-reply"}},
	{name: "performance-decap-flat", playbook: "performance", scenario: sim.NoTraffic, params: trafficParams,
		findings: []string{"decap-flat"}},
	{name: "performance-encap-flat", playbook: "performance", scenario: sim.NoEncap, params: trafficParams,
		findings: []string{"encap-flat"}},
	{name: "performance-tunnel-errors", playbook: "performance", scenario: sim.Healthy, params: trafficParams,
		faults:   sim.Faults{AuthErrors: true, ReplayDrops: true},
		findings: []string{"auth-errors", "replay-drops"}},
	{name: "performance-descriptors", playbook: "performance", scenario: sim.Healthy, params: trafficParams,
		faults:   sim.Faults{ResourcePct: 93},
		findings: []string{"descriptors-high"}},
	// The management plane is busy (heavy logging in logrcvr) on top of
	// what the IKE debug costs.
	{name: "phase1-down-mgmt-cpu", playbook: "phase1-down", scenario: sim.Healthy, params: phase1Params,
		faults: sim.Faults{MgmtCPU: 92}, findings: []string{"mgmt-cpu-high"}},
	{name: "phase2-down-mgmt-cpu", playbook: "phase2-down", scenario: sim.Healthy, params: phase2Params,
		faults: sim.Faults{MgmtCPU: 92}, findings: []string{"mgmt-cpu-high"}},
	{name: "performance-mgmt-cpu", playbook: "performance", scenario: sim.Healthy, params: trafficParams,
		faults: sim.Faults{MgmtCPU: 92}, findings: []string{"mgmt-cpu-high"}},
}

// operatorState is what an operator left on the device before the run:
// ikemgr and mprelay at debug, a filter of their own, the filter on.
var operatorState = []string{
	"debug ike global on debug",
	"debug mprelay on debug",
	"debug dataplane packet-diag set filter match source 10.9.9.9 destination 10.8.8.8",
	"debug dataplane packet-diag set filter on",
}

// fresh: the peer (re)starts IKE after the capture filter is set, as the
// playbook asks, so its sessions are new and the filter marks them.
func fresh(o *sim.Options) { o.FreshSessions = true }

// proxyIDs gives the tunnel two proxy IDs (sim.ProxyIDTopology): SAs
// sap-sap:pid1 and sap-sap:pid2, tunnel ids 208 and 209.
func proxyIDs(t *sim.Topology) { t.ProxyIDs = sim.ProxyIDTopology().ProxyIDs }

// The scp destination and password of the recordings. The password reaches
// the simulator only through the secret reference; the recorder redacts it.
const (
	scpTo       = "support@192.0.2.50:/cases/vpn"
	scpPassword = "not-a-real-scp-password"
	scpEnv      = "RUNBOOK_EXAMPLES_SCP_PASSWORD"
)

// start is the simulated device's clock at the first command.
var start = time.Date(2026, 11, 27, 10, 2, 0, 0, time.UTC)

// simTransport runs commands on a simulated device in process, the way the
// SSH transport does on a real one: CLI text in, CLI text out, questions
// (the scp password) answered from the command's prompts, refusals as
// typed errors. Time is virtual: each command advances the device's clock
// by two seconds and the engine does not sleep between repeats.
type simTransport struct {
	dev *sim.Device

	mu     sync.Mutex
	now    time.Time
	closed bool
}

var (
	_ transports.Transport    = (*simTransport)(nil)
	_ transports.VirtualClock = (*simTransport)(nil)
)

func newSimTransport(o sim.Options) *simTransport {
	t := &simTransport{now: start}
	o.Clock = t.clock
	t.dev = sim.NewDevice(o)
	return t
}

func (t *simTransport) clock() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.now
}

func (t *simTransport) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return transports.Result{}, fmt.Errorf("sim: %w", transports.ErrClosed)
	}
	t.now = t.now.Add(2 * time.Second)
	t.mu.Unlock()
	ask := func(_ context.Context, q string, _ bool) (string, error) {
		if cmd.Scp != nil && strings.HasSuffix(q, "password: ") {
			return cmd.Scp.Password, nil
		}
		for _, p := range cmd.Prompts {
			if p.Pattern.MatchString(q) {
				return p.Answer, nil
			}
		}
		return "", fmt.Errorf("sim: %q asked %q: %w", cmd.CLI, q, transports.ErrUnexpectedPrompt)
	}
	out, err := t.dev.ExecInteractive(ctx, cmd.CLI, ask)
	var ce *sim.CommandError
	switch {
	case errors.As(err, &ce):
		de := &transports.DeviceError{Command: cmd.CLI, Message: ce.Msg}
		switch ce.Kind {
		case "unknown":
			de.Err = transports.ErrUnknownCommand
		case "invalid":
			de.Err = transports.ErrInvalidSyntax
		}
		return transports.Result{Text: out}, de
	case err != nil:
		return transports.Result{Text: out}, fmt.Errorf("sim: %q: %w", cmd.CLI, err)
	}
	return transports.Result{Text: out}, nil
}

// Interactive reports true: the simulated CLI answers prompts (scp export).
func (t *simTransport) Interactive() bool { return true }

func (t *simTransport) Facts() transports.Facts { return transports.Facts(t.dev.Facts()) }

func (t *simTransport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	return nil
}

func (t *simTransport) VirtualTime() bool { return true }

// durations are the recorded command durations, by command prefix (first
// match wins): typical of a mid-range firewall, and stable so that
// regenerating a cassette changes only what the simulator changed.
var durations = []struct {
	prefix string
	d      time.Duration
}{
	{"ping ", 4100 * time.Millisecond},
	{"scp export tech-support", 30 * time.Second},
	{"scp export ", 1800 * time.Millisecond},
	{"debug dataplane pool statistics", 420 * time.Millisecond},
	{"debug dataplane pow performance", 310 * time.Millisecond},
	{"show running resource-monitor", 280 * time.Millisecond},
	{"show system resources", 350 * time.Millisecond},
	{"show counter global", 240 * time.Millisecond},
	{"show session", 160 * time.Millisecond},
	{"show vpn", 130 * time.Millisecond},
	{"test ", 210 * time.Millisecond},
	{"show clock", 30 * time.Millisecond},
	{"debug ", 45 * time.Millisecond},
}

func durationOf(cmd string) time.Duration {
	for _, d := range durations {
		if strings.HasPrefix(cmd, d.prefix) {
			return d.d
		}
	}
	return 100 * time.Millisecond
}

// simRun runs c's playbook against a fresh simulated device through the
// recorder, writing the cassette to path, and returns the result and the
// device.
func simRun(t *testing.T, c simCase, path string) (*engine.Result, *sim.Device) {
	t.Helper()
	pb, err := playbooks.Load(c.playbook)
	if err != nil {
		t.Fatal(err)
	}
	topo := sim.DefaultTopology()
	if c.topo != nil {
		c.topo(&topo)
	}
	o := sim.Options{Scenario: c.scenario, Topology: &topo, Seed: 1, ScpPassword: scpPassword, Faults: c.faults}
	if c.opts != nil {
		c.opts(&o)
	}
	st := newSimTransport(o)
	given := c.params(topo)
	recorded := map[string]string{}
	for k, v := range given {
		recorded[k] = v
	}
	if c.scp {
		recorded["scp_to"] = scpTo
		given["scp_to"] = scpTo
		given["scp_password"] = "env:" + scpEnv
	}
	params, err := pb.Bind(given)
	if err != nil {
		t.Fatal(err)
	}
	w, err := replay.Create(path, replay.Header{
		Playbook: pb.Name,
		// scp_password is not recorded: a replay sends no password.
		Params: recorded,
		Target: replay.Target{Name: "pa-sim", Transport: "sim"},
	})
	if err != nil {
		t.Fatal(err)
	}
	red, err := replay.NewRedaction(nil)
	if err != nil {
		t.Fatal(err)
	}
	var rec transports.Transport
	var out strings.Builder
	res := engine.New(engine.Options{
		Folder:    runfolder.Create,
		Playbook:  pb,
		Source:    "built-in " + pb.Name,
		Params:    params,
		Target:    "pa-sim",
		Transport: "sim",
		Open: func(context.Context) (transports.Transport, error) {
			if rec != nil {
				return nil, errors.New("sim: the recording does not reconnect")
			}
			rec = record.New(st, w, record.Options{Redaction: red})
			return rec, nil
		},
		Secrets: &secret.Resolver{Getenv: func(k string) string {
			if k == scpEnv {
				return scpPassword
			}
			return ""
		}},
		Dir:      filepath.Join(t.TempDir(), "run"),
		Yes:      true,
		Observer: observe.NewText(&out, false),
		Now:      func() time.Time { return start },
	}).Run(context.Background())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if r, ok := rec.(interface{ Err() error }); ok && r.Err() != nil {
		t.Fatalf("recording: %v", r.Err())
	}
	if t.Failed() || res.ExitCode != c.exit {
		t.Logf("engine output:\n%s", out.String())
	}
	// Stable durations, so that a regenerated cassette differs only where
	// the simulator's answers did.
	cas, err := replay.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cas.Exchanges {
		cas.Exchanges[i].Duration = durationOf(cas.Exchanges[i].Command)
	}
	if err := replay.Save(path, cas); err != nil {
		t.Fatal(err)
	}
	return res, st.dev
}

// TestSimulatorRuns runs every built-in playbook against the simulator, in
// each case's scenario: the run ends as expected, the device is left clean
// (every debug and capture switch back at its default), the commands sent
// are the golden ones and the cassette recorded replays. With -update the
// cassettes under cassettes/ and the golden files are rewritten.
func TestSimulatorRuns(t *testing.T) {
	for _, c := range simCases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.name+".yaml")
			if *update {
				path = filepath.Join("cassettes", c.name+".yaml")
			}
			res, dev := simRun(t, c, path)
			if res.ExitCode != c.exit {
				t.Fatalf("exit code %d (status %s, err %v), want %d", res.ExitCode, res.Status, res.Err, c.exit)
			}
			if ok, on := dev.Clean(); !ok && len(dev.Options().Setup) == 0 {
				t.Errorf("device left dirty: %v", on)
			}
			// As found: the debug levels, the operator's filters and
			// stages are what they were before the run.
			if ok, found, now := dev.AsFound(); !ok {
				t.Errorf("device not left as found:\nfound:\n%s\nnow:\n%s", found, now)
			}
			if len(res.Pending) > 0 {
				t.Errorf("cleanup pending: %v", res.Pending)
			}
			checkFindings(t, res.Manifest, c.findings)
			// No capture file left by an earlier run survives into this
			// run's evidence.
			for _, f := range []string{"rx.pcap", "tx.pcap", "drop.pcap", "fw.pcap"} {
				if _, _, stale := dev.CaptureFile(f); stale {
					t.Errorf("%s still holds an earlier capture's packets", f)
				}
			}
			// The commands the device received, in order; none refused but
			// the deletion of a capture file an earlier run may not have
			// left, and those the case makes the device refuse.
			refused := func(cli string) bool {
				for _, r := range dev.Options().Refuse {
					if regexp.MustCompile(r.Match).MatchString(cli) {
						return true
					}
				}
				return false
			}
			var got []string
			for _, e := range dev.Log() {
				got = append(got, e.CLI)
				if e.Err != "" && !strings.HasPrefix(e.CLI, "delete debug-filter file ") && !refused(e.CLI) {
					t.Errorf("device refused %q: %s", e.CLI, e.Err)
				}
			}
			if *update {
				writeGolden(t, c.name, got)
			}
			checkGolden(t, c.name, got)
		})
	}
}
