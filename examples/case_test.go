package examples_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/fleet"
	"github.com/runbook-dev/runbook/observe"
	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/runcase"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
	sshtr "github.com/runbook-dev/runbook/transports/ssh"
	"github.com/runbook-dev/runbook/transports/xmlapi"
	"golang.org/x/crypto/ssh/knownhosts"
)

// caseEnd is one end of a two-end case against the simulator.
type caseEnd struct {
	scenario sim.Scenario
	faults   sim.Faults
	opts     func(o *sim.Options)
	// topo changes this end's topology (after b's was mirrored from a's).
	topo func(t *sim.Topology)
}

// caseTest is a run of one built-in playbook against two simulated
// firewalls, the two ends of one tunnel, and the findings across the ends
// it must end with.
type caseTest struct {
	name     string
	playbook string
	params   func(t sim.Topology) map[string]string
	a, b     caseEnd
	findings []string
	// base is a's topology (DefaultTopology when nil); b's is its Mirror.
	base func() sim.Topology
	// over is the transport both ends run over: "" the simulated device
	// in-process (its CLI text, as over SSH), or "ssh" or "xmlapi" against
	// the simulator's servers on 127.0.0.1.
	over string
	// says are texts the findings' messages must hold.
	says []string
}

var caseTests = []caseTest{
	// fw1 encrypts and decrypts nothing; fw2 passes nothing either way:
	// fw1's ESP never reaches fw2.
	{name: "phase2-down-lost-a-to-b", playbook: "phase2-down", params: phase2Params,
		a: caseEnd{scenario: sim.NoTraffic}, b: caseEnd{scenario: sim.Idle}, findings: []string{"lost-a-to-b"}},
	{name: "phase2-down-lost-b-to-a", playbook: "phase2-down", params: phase2Params,
		a: caseEnd{scenario: sim.Idle}, b: caseEnd{scenario: sim.NoTraffic}, findings: []string{"lost-b-to-a"}},
	// Both encrypt, neither decrypts: lost both ways.
	{name: "phase2-down-lost-both-ways", playbook: "phase2-down", params: phase2Params,
		a: caseEnd{scenario: sim.NoTraffic}, b: caseEnd{scenario: sim.NoTraffic}, findings: []string{"lost-a-to-b", "lost-b-to-a"}},
	// fw1 encrypts, fw2 decrypts and sends nothing back: a consistent
	// picture (fw2 does not send), nothing is lost between them.
	{name: "phase2-down-encap-only-decap-only", playbook: "phase2-down", params: phase2Params,
		a: caseEnd{scenario: sim.NoTraffic}, b: caseEnd{scenario: sim.NoEncap}},
	{name: "phase2-down-healthy", playbook: "phase2-down", params: phase2Params,
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy}},
	{name: "tunnel-up-no-traffic-lost-a-to-b", playbook: "tunnel-up-no-traffic", params: trafficParams,
		a: caseEnd{scenario: sim.NoTraffic}, b: caseEnd{scenario: sim.Idle}, findings: []string{"lost-a-to-b"}},
	{name: "tunnel-up-no-traffic-healthy", playbook: "tunnel-up-no-traffic", params: trafficParams,
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy}},
	{name: "performance-lost-b-to-a", playbook: "performance", params: trafficParams,
		a: caseEnd{scenario: sim.Idle}, b: caseEnd{scenario: sim.NoTraffic}, findings: []string{"lost-b-to-a"}},
	{name: "performance-healthy", playbook: "performance", params: trafficParams,
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy}},
	// fw1 starts IKE and gets no answer; fw2 sees no IKE session at all.
	{name: "phase1-down-ike-lost-a-to-b", playbook: "phase1-down", params: phase1Params,
		a: caseEnd{scenario: sim.Phase1Down, opts: initiates},
		b: caseEnd{scenario: sim.Phase1Down, faults: sim.Faults{NoIKESession: true}}, findings: []string{"ike-lost-a-to-b"}},
	{name: "phase1-down-ike-lost-b-to-a", playbook: "phase1-down", params: phase1Params,
		a: caseEnd{scenario: sim.Phase1Down, faults: sim.Faults{NoIKESession: true}},
		b: caseEnd{scenario: sim.Phase1Down, opts: initiates}, findings: []string{"ike-lost-b-to-a"}},
	// fw1 starts IKE, fw2 sees it arrive and does not answer: not lost.
	{name: "phase1-down-ike-arrives-unanswered", playbook: "phase1-down", params: phase1Params,
		a: caseEnd{scenario: sim.Phase1Down, opts: initiates},
		b: caseEnd{scenario: sim.Phase1Down, faults: sim.Faults{PeerIKEUnanswered: true}}},
	{name: "phase1-down-healthy", playbook: "phase1-down", params: phase1Params,
		a: caseEnd{scenario: sim.Healthy, opts: initiates}, b: caseEnd{scenario: sim.Healthy}},

	// The configurations of the two ends (show vpn tunnel, show vpn
	// gateway). fw2's proxy ID pid1 expects another remote network than
	// fw1's local one: phase 2 stays down.
	{name: "phase2-down-proxy-id-mismatch", playbook: "phase2-down", params: phase2Params, base: sim.ProxyIDTopology,
		a: caseEnd{scenario: sim.Phase2Down}, b: caseEnd{scenario: sim.Phase2Down, topo: otherRemote}, findings: []string{"proxy-id-mismatch"},
		says: []string{"fw1 192.168.10.0/24 -> 192.168.20.0/24 (sap-sap:pid1), fw2 192.168.20.0/24 -> 192.168.99.0/24 (sap-sap:pid1). No proxy ID of the other end overlaps them",
			"fw1 has 192.168.10.0/24 -> 192.168.20.0/24 (sap-sap:pid1), 192.168.11.0/24 -> 192.168.21.0/24 (sap-sap:pid2); fw2 has 192.168.20.0/24 -> 192.168.99.0/24 (sap-sap:pid1), 192.168.21.0/24 -> 192.168.11.0/24 (sap-sap:pid2)."}},
	{name: "phase2-down-proxy-id-mismatch-ssh", playbook: "phase2-down", params: phase2Params, base: sim.ProxyIDTopology, over: "ssh",
		a: caseEnd{scenario: sim.Phase2Down}, b: caseEnd{scenario: sim.Phase2Down, topo: otherRemote}, findings: []string{"proxy-id-mismatch"}},
	{name: "phase2-down-proxy-id-mismatch-xmlapi", playbook: "phase2-down", params: phase2Params, base: sim.ProxyIDTopology, over: "xmlapi",
		a: caseEnd{scenario: sim.Phase2Down}, b: caseEnd{scenario: sim.Phase2Down, topo: otherRemote}, findings: []string{"proxy-id-mismatch"}},
	// fw1 has no proxy ID (0.0.0.0/0 both ways), fw2 has two.
	{name: "phase2-down-proxy-id-wildcard", playbook: "phase2-down", params: phase2Params,
		a: caseEnd{scenario: sim.Phase2Down}, b: caseEnd{scenario: sim.Phase2Down, topo: peerProxyIDs}, findings: []string{"proxy-id-wildcard"},
		says: []string{"fw1 proposes 0.0.0.0/0 -> 0.0.0.0/0 (sap-sap), fw2 expects 192.168.20.0/24 -> 192.168.10.0/24 (sap-sap:pid1)"}},
	// fw2's IPSec crypto profile: another PFS group and encryption.
	{name: "phase2-down-ipsec-proposal-mismatch", playbook: "phase2-down", params: phase2Params,
		a: caseEnd{scenario: sim.Phase2Down}, b: caseEnd{scenario: sim.Phase2Down, topo: otherIPSec}, findings: []string{"ipsec-proposal-mismatch"},
		says: []string{"fw1 proposes ESP tunl [DH14][3DES][SHA1] on tunnel sap-sap, fw2 ESP tunl [DH5][AES256][SHA1] on tunnel sap-sap: PFS group DH14 / DH5; no common encryption (3DES / AES256)."}},
	{name: "phase2-down-ipsec-proposal-mismatch-ssh", playbook: "phase2-down", params: phase2Params, over: "ssh",
		a: caseEnd{scenario: sim.Phase2Down}, b: caseEnd{scenario: sim.Phase2Down, topo: otherIPSec}, findings: []string{"ipsec-proposal-mismatch"}},
	{name: "phase2-down-ipsec-proposal-mismatch-xmlapi", playbook: "phase2-down", params: phase2Params, over: "xmlapi",
		a: caseEnd{scenario: sim.Phase2Down}, b: caseEnd{scenario: sim.Phase2Down, topo: otherIPSec}, findings: []string{"ipsec-proposal-mismatch"}},
	// Healthy pairs with proxy IDs and lifetimes that differ (IKEv2 does
	// not negotiate them): nothing across the ends.
	{name: "phase2-down-healthy-proxy-ids-other-lifetimes", playbook: "phase2-down", params: phase2Params, base: sim.ProxyIDTopology,
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy, topo: otherLifetimes}},
	{name: "phase2-down-healthy-proxy-ids-ssh", playbook: "phase2-down", params: phase2Params, base: sim.ProxyIDTopology, over: "ssh",
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy, topo: otherLifetimes}},
	{name: "phase2-down-healthy-proxy-ids-xmlapi", playbook: "phase2-down", params: phase2Params, base: sim.ProxyIDTopology, over: "xmlapi",
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy, topo: otherLifetimes}},
	// The tunnel is up (pid2), and pid1 of the two ends have disjoint
	// remote networks: pid1 has no SA on either end.
	{name: "tunnel-up-no-traffic-proxy-id-mismatch", playbook: "tunnel-up-no-traffic", params: trafficParams, base: sim.ProxyIDTopology,
		a: caseEnd{scenario: sim.Healthy, topo: pid1NoSA}, b: caseEnd{scenario: sim.Healthy, topo: otherRemoteNoSA}, findings: []string{"proxy-id-mismatch"},
		says: []string{"fw1 192.168.10.0/24 -> 192.168.20.0/24 (sap-sap:pid1), fw2 192.168.20.0/24 -> 192.168.99.0/24 (sap-sap:pid1). No proxy ID of the other end overlaps them"}},
	{name: "tunnel-up-no-traffic-proxy-id-mismatch-ssh", playbook: "tunnel-up-no-traffic", params: trafficParams, base: sim.ProxyIDTopology, over: "ssh",
		a: caseEnd{scenario: sim.Healthy, topo: pid1NoSA}, b: caseEnd{scenario: sim.Healthy, topo: otherRemoteNoSA}, findings: []string{"proxy-id-mismatch"}},
	{name: "tunnel-up-no-traffic-proxy-id-mismatch-xmlapi", playbook: "tunnel-up-no-traffic", params: trafficParams, base: sim.ProxyIDTopology, over: "xmlapi",
		a: caseEnd{scenario: sim.Healthy, topo: pid1NoSA}, b: caseEnd{scenario: sim.Healthy, topo: otherRemoteNoSA}, findings: []string{"proxy-id-mismatch"}},
	// A healthy IKEv2 pair whose proxy IDs do not mirror: fw1's is wider,
	// fw2 narrowed it to its own, the SA is up on both and carries the
	// hosts' traffic. Nothing across the ends, nor on either end.
	{name: "tunnel-up-no-traffic-narrowed-healthy", playbook: "tunnel-up-no-traffic", params: trafficParams, base: sim.NarrowedTopology,
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy, topo: narrowed}},
	{name: "tunnel-up-no-traffic-narrowed-healthy-ssh", playbook: "tunnel-up-no-traffic", params: trafficParams, base: sim.NarrowedTopology, over: "ssh",
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy, topo: narrowed}},
	{name: "tunnel-up-no-traffic-narrowed-healthy-xmlapi", playbook: "tunnel-up-no-traffic", params: trafficParams, base: sim.NarrowedTopology, over: "xmlapi",
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy, topo: narrowed}},
	{name: "phase2-down-narrowed-healthy", playbook: "phase2-down", params: phase2Params, base: sim.NarrowedTopology,
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy, topo: narrowed}},
	// fw1 without proxy ID, fw2 with two, both SAs up (fw2 narrowed fw1's
	// 0.0.0.0/0): phase 2 works, no proxy-id-wildcard.
	{name: "phase2-down-wildcard-narrowed-healthy", playbook: "phase2-down", params: phase2Params,
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy, topo: peerProxyIDs}},
	{name: "tunnel-up-no-traffic-healthy-proxy-ids", playbook: "tunnel-up-no-traffic", params: trafficParams, base: sim.ProxyIDTopology,
		a: caseEnd{scenario: sim.Healthy}, b: caseEnd{scenario: sim.Healthy}},
	// fw2's IKE crypto profile: another encryption and hash. fw1 starts
	// IKE, fw2 sees it arrive and does not answer (as it would when no
	// proposal matches).
	{name: "phase1-down-ike-proposal-mismatch", playbook: "phase1-down", params: phase1Params,
		a: caseEnd{scenario: sim.Phase1Down, opts: initiates}, b: caseEnd{scenario: sim.Phase1Down, faults: sim.Faults{PeerIKEUnanswered: true}, topo: otherIKE}, findings: []string{"ike-proposal-mismatch"}},
	{name: "phase1-down-ike-proposal-mismatch-ssh", playbook: "phase1-down", params: phase1Params, over: "ssh",
		a: caseEnd{scenario: sim.Phase1Down, opts: initiates}, b: caseEnd{scenario: sim.Phase1Down, faults: sim.Faults{PeerIKEUnanswered: true}, topo: otherIKE}, findings: []string{"ike-proposal-mismatch"}},
	// Over the XML API show vpn gateway's answer has no public sample: the
	// parser reads no entry from a structured answer, and the simulator's
	// (its CLI text, as for every command without a known XML shape) is
	// not evidence a real firewall gives. Only the healthy pair is run.
	{name: "phase1-down-healthy-other-lifetimes", playbook: "phase1-down", params: phase1Params,
		a: caseEnd{scenario: sim.Healthy, opts: initiates}, b: caseEnd{scenario: sim.Healthy, topo: otherLifetimes}},
	{name: "phase1-down-healthy-xmlapi", playbook: "phase1-down", params: phase1Params, over: "xmlapi",
		a: caseEnd{scenario: sim.Healthy, opts: initiates}, b: caseEnd{scenario: sim.Healthy}},
}

// otherRemote makes the end's first proxy ID expect another remote network.
func otherRemote(t *sim.Topology) {
	t.ProxyIDs = slices.Clone(t.ProxyIDs)
	t.ProxyIDs[0].Remote = "192.168.99.0/24"
}

// pid1NoSA leaves the end's first proxy ID without an SA.
func pid1NoSA(t *sim.Topology) {
	t.ProxyIDs = slices.Clone(t.ProxyIDs)
	t.ProxyIDs[0].NoSA = true
}

// otherRemoteNoSA is otherRemote, and that proxy ID has no SA.
func otherRemoteNoSA(t *sim.Topology) {
	otherRemote(t)
	t.ProxyIDs[0].NoSA = true
}

// narrowed configures the end with the selectors its SAs were negotiated
// with: the end that narrowed its peer's wider proxy IDs.
func narrowed(t *sim.Topology) { *t = t.Narrowed() }

// peerProxyIDs gives the end the proxy IDs of sim.ProxyIDTopology's other end.
func peerProxyIDs(t *sim.Topology) {
	t.ProxyIDs = sim.ProxyIDTopology().Mirror().ProxyIDs
}

func otherIPSec(t *sim.Topology) {
	t.IPSecCrypto = sim.Crypto{DH: []string{"DH5"}, Enc: []string{"AES256"}}
}

func otherIKE(t *sim.Topology) {
	t.IKECrypto = sim.Crypto{Enc: []string{"AES128"}, Hash: []string{"SHA1"}}
}

// otherLifetimes gives the end other IKE and IPSec lifetimes than the
// defaults, the algorithms unchanged.
func otherLifetimes(t *sim.Topology) {
	t.IKECrypto = sim.Crypto{Lifetime: 86400}
	t.IPSecCrypto = sim.Crypto{Lifetime: 3600}
}

func initiates(o *sim.Options) { o.LocalInitiates = true }

// caseOpen returns how an end's run opens its transport: the simulated
// device in-process (over ""), or its SSH or XML API server on 127.0.0.1
// dialled by the real transport. The end does not reconnect.
func caseOpen(t *testing.T, over string, o sim.Options) func(context.Context) (transports.Transport, error) {
	t.Helper()
	opened := false
	once := func(open func(context.Context) (transports.Transport, error)) func(context.Context) (transports.Transport, error) {
		return func(ctx context.Context) (transports.Transport, error) {
			if opened {
				return nil, errors.New("sim: the end does not reconnect")
			}
			opened = true
			return open(ctx)
		}
	}
	if over == "" {
		st := newSimTransport(o)
		return once(func(context.Context) (transports.Transport, error) { return st, nil })
	}
	const pw = "case-pw"
	dev := sim.NewDevice(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	target := transports.Target{Name: "sim", Transport: over, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
		User: "admin", Password: secret.Ref{Kind: "env", Name: "CASE_PW"}}
	var dial transports.Dialer
	switch over {
	case "ssh":
		srv, err := sim.NewSSHServer(dev, sim.SSHConfig{User: "admin", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		kh := filepath.Join(t.TempDir(), "known_hosts")
		line := knownhosts.Line([]string{knownhosts.Normalize(ln.Addr().String())}, srv.HostKey())
		if err := os.WriteFile(kh, []byte(line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		target.KnownHosts = kh
		dial = sshtr.Config{ConnectTimeout: 10 * time.Second, CommandTimeout: 20 * time.Second}.Dial
		go func() { defer close(done); _ = srv.Serve(ctx, ln) }()
	case "xmlapi":
		srv, err := sim.NewAPIServer(dev, sim.APIConfig{User: "admin", Password: pw, JobPolls: 1, PcapSize: 4096, TechSupportSize: 8192})
		if err != nil {
			t.Fatal(err)
		}
		target.TLS = transports.TLS{Fingerprint: srv.Fingerprint()}
		dial = xmlapi.Dial
		go func() { defer close(done); _ = srv.Serve(ctx, ln) }()
	default:
		t.Fatalf("unknown transport %q", over)
	}
	t.Cleanup(func() {
		cancel()
		ln.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("simulator did not stop within 10s")
		}
	})
	rs := &secret.Resolver{Getenv: func(n string) string { return map[string]string{"CASE_PW": pw}[n] }}
	return once(func(ctx context.Context) (transports.Transport, error) {
		return dial(ctx, target, transports.DialOptions{Resolve: rs.Resolve, Warn: io.Discard})
	})
}

// TestCaseFindings runs each case's playbook against two simulated
// firewalls at once (the fleet, as `runbook run -t fw1 -t fw2` does),
// writes the case folder and checks that exactly the expected findings
// across the ends fired, first in summary.md.
func TestCaseFindings(t *testing.T) {
	for _, tc := range caseTests {
		t.Run(tc.name, func(t *testing.T) {
			pb, err := playbooks.Load(tc.playbook)
			if err != nil {
				t.Fatal(err)
			}
			if pb.Case == nil {
				t.Fatalf("%s has no case: section", tc.playbook)
			}
			dir := t.TempDir()
			names := []string{"fw1", "fw2"}
			var f fleet.Fleet
			f.Parallel = 2
			outs := make([]*strings.Builder, 2)
			for i, e := range []caseEnd{tc.a, tc.b} {
				topo := sim.DefaultTopology()
				if tc.base != nil {
					topo = tc.base()
				}
				if i == 1 { // the other end: its own address is fw1's peer
					topo = topo.Mirror()
				}
				if e.topo != nil {
					e.topo(&topo)
				}
				o := sim.Options{Scenario: e.scenario, Topology: &topo, Seed: int64(i + 1), Faults: e.faults}
				if e.opts != nil {
					e.opts(&o)
				}
				rawParams := tc.params(topo)
				open := caseOpen(t, tc.over, o)
				if tc.over != "" {
					// Real waits over the network: short ones.
					rawParams["repeat"], rawParams["interval"] = "2", "1s"
				}
				params, err := pb.Bind(rawParams)
				if err != nil {
					t.Fatal(err)
				}
				outs[i] = &strings.Builder{}
				if _, err := f.Add(engine.Options{
					Folder:   runfolder.Create,
					Playbook: pb, Source: "built-in " + pb.Name, Params: params,
					Target: names[i], Transport: map[string]string{"": "sim"}[tc.over] + tc.over,
					Open:     open,
					Secrets:  &secret.Resolver{Getenv: func(string) string { return "" }},
					Dir:      filepath.Join(dir, names[i]),
					Yes:      true,
					Observer: observe.NewText(outs[i], false),
					Now:      func() time.Time { return start },
				}); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			results := f.Run(ctx)
			ts := make([]runcase.Target, len(results))
			ends := make([]*engine.EndState, len(results))
			for i, res := range results {
				if res.ExitCode != engine.ExitOK || res.End == nil {
					t.Fatalf("%s: exit %d (%s, %v), end state %v\n%s", names[i], res.ExitCode, res.Status, res.Err, res.End != nil, outs[i])
				}
				ts[i] = runcase.Target{Name: names[i], Dir: res.Dir, Status: string(res.Status), ExitCode: res.ExitCode}
				ends[i] = res.End
			}
			c, err := runcase.Build(dir, pb.Name, start, ts)
			if err != nil {
				t.Fatal(err)
			}
			c.Judge(pb.Case, ends, "critical")
			if len(c.Unevaluated) > 0 {
				t.Errorf("unevaluated: %q", c.Unevaluated)
			}
			var got []string
			for _, fr := range c.Findings {
				t.Logf("%s (%s): %s", fr.ID, fr.Severity, fr.Message)
				got = append(got, fr.ID)
				// Every evidence record names its end and its target.
				for _, ev := range fr.Evidence {
					if ev.End == "" || !slices.Contains(names, ev.Target) {
						t.Errorf("%s: evidence %+v names no end or target", fr.ID, ev)
					}
				}
				for _, n := range names {
					if !strings.Contains(fr.Message, n) {
						t.Errorf("%s: message %q does not name %s", fr.ID, fr.Message, n)
					}
				}
			}
			if !slices.Equal(got, tc.findings) {
				t.Fatalf("case findings %q, want %q", got, tc.findings)
			}
			for _, want := range tc.says {
				if !slices.ContainsFunc(c.Findings, func(f engine.FindingRecord) bool { return strings.Contains(f.Message, want) }) {
					t.Errorf("no finding says %q", want)
				}
			}
			// A critical case finding fails the case (--fail-on critical)
			// though each end ran ok; a warning does not.
			critical := slices.ContainsFunc(c.Findings, func(f engine.FindingRecord) bool { return f.Severity == "critical" })
			if want := map[bool]int{true: engine.ExitFinding, false: engine.ExitOK}[critical]; c.ExitCode != want {
				t.Errorf("case exit %d, want %d", c.ExitCode, want)
			}
			if err := c.Write(dir); err != nil {
				t.Fatal(err)
			}
			sum, err := os.ReadFile(filepath.Join(dir, "summary.md"))
			if err != nil {
				t.Fatal(err)
			}
			s := string(sum)
			across, table := strings.Index(s, "## Across the ends (a = fw1, b = fw2)"), strings.Index(s, "| target |")
			if across < 0 || table < 0 || across > table {
				t.Fatalf("summary.md does not start with the findings across the ends:\n%s", s)
			}
			for _, id := range tc.findings {
				if i := strings.Index(s, id); i < 0 || i > table {
					t.Errorf("summary.md: %s not in the findings across the ends", id)
				}
			}
			if len(tc.findings) == 0 && !strings.Contains(s, "No finding across the ends fired.") {
				t.Errorf("summary.md does not say no finding across the ends fired")
			}
			// Rebuilding (after `runbook cleanup`) keeps them.
			rc, err := runcase.Rebuild(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(rc.Findings) != len(c.Findings) || rc.ExitCode != c.ExitCode {
				t.Errorf("rebuilt case has %d findings, exit %d; want %d, exit %d", len(rc.Findings), rc.ExitCode, len(c.Findings), c.ExitCode)
			}
		})
	}
}
