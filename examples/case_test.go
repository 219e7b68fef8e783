package examples_test

import (
	"context"
	"errors"
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
)

// caseEnd is one end of a two-end case against the simulator.
type caseEnd struct {
	scenario sim.Scenario
	faults   sim.Faults
	opts     func(o *sim.Options)
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
}

func initiates(o *sim.Options) { o.LocalInitiates = true }

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
				if i == 1 { // the other end: its own address is fw1's peer
					topo.LocalIP, topo.PeerIP = topo.PeerIP, topo.LocalIP
				}
				o := sim.Options{Scenario: e.scenario, Topology: &topo, Seed: int64(i + 1), Faults: e.faults}
				if e.opts != nil {
					e.opts(&o)
				}
				st := newSimTransport(o)
				params, err := pb.Bind(tc.params(topo))
				if err != nil {
					t.Fatal(err)
				}
				opened := false
				outs[i] = &strings.Builder{}
				if _, err := f.Add(engine.Options{
					Folder:   runfolder.Create,
					Playbook: pb, Source: "built-in " + pb.Name, Params: params,
					Target: names[i], Transport: "sim",
					Open: func(context.Context) (transports.Transport, error) {
						if opened {
							return nil, errors.New("sim: the end does not reconnect")
						}
						opened = true
						return st, nil
					},
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
			// A critical case finding fails the case (--fail-on critical)
			// though each end ran ok.
			if want := map[bool]int{true: engine.ExitFinding, false: engine.ExitOK}[len(tc.findings) > 0]; c.ExitCode != want {
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
