package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/sim"
)

// The two ends of the pair: an inventory group of two SSH targets, each
// its own simulated firewall on 127.0.0.1.
const (
	endA     = "fw-a"
	endB     = "fw-b"
	pairName = "pair"
)

// writePairInventory writes an inventory with endA reaching a, endB
// reaching b (both over SSH, password from env:, each its own host key)
// and the group pairName of the two, each with the parameters of its own
// topology.
func writePairInventory(t *testing.T, dir string, a, b *firewall) string {
	t.Helper()
	kh := filepath.Join(dir, "known_hosts")
	var lines, targets strings.Builder
	for _, e := range []struct {
		name string
		fw   *firewall
	}{{endA, a}, {endB, b}} {
		lines.WriteString(knownhosts.Line([]string{knownhosts.Normalize(fmt.Sprintf("127.0.0.1:%d", e.fw.sshPort))}, e.fw.hostKey) + "\n")
		topo := e.fw.dev.Topology()
		p := topo.Params()
		keys := make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fmt.Fprintf(&targets, "  %s:\n    transport: ssh\n    host: 127.0.0.1\n    port: %d\n    user: admin\n    password: env:E2E_SSH_PASSWORD\n    known_hosts: %q\n    params:\n",
			e.name, e.fw.sshPort, kh)
		for _, k := range keys {
			fmt.Fprintf(&targets, "      %s: %q\n", k, p[k])
		}
	}
	if err := os.WriteFile(kh, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(dir, "inventory.yaml")
	body := "targets:\n" + targets.String() + fmt.Sprintf("groups:\n  %s: [%s, %s]\n", pairName, endA, endB)
	if err := os.WriteFile(inv, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return inv
}

// caseFile is the part of a case folder's case.json this test reads (the
// package reads run folders through engine only: it decodes the case's
// own file itself).
type caseFile struct {
	Findings []struct {
		ID string `json:"id"`
	} `json:"findings"`
	Ends []struct {
		Target string `json:"target"`
		Dir    string `json:"dir"`
	} `json:"ends"`
	Sampling *struct {
		Ends   []string `json:"ends"`
		Points []struct {
			Step    string            `json:"step"`
			Kind    string            `json:"kind"`
			Run     int               `json:"run"`
			Runs    int               `json:"runs"`
			Met     []string          `json:"met"`
			Missing []json.RawMessage `json:"missing"`
			Late    []string          `json:"late"`
		} `json:"points"`
	} `json:"sampling"`
}

// TestCaseSyncOverSSH runs tunnel-up-no-traffic against a group of two
// simulated firewalls, the two ends of one tunnel, over real SSH. fw-b
// answers every command 50 ms late, so without synchronised sampling it
// would reach the repeated steps well after fw-a and fw-a would sample
// alone. The case says the ends met at every run of every repeated step,
// and the ends' manifests show the order that promises: no end started
// run k+1 of a repeated step before both had started run k. Only the
// order of the recorded starts is read, never their spacing.
func TestCaseSyncOverSSH(t *testing.T) {
	sec := newSecrets(t)
	topo := sim.DefaultTopology()
	peer := topo.Mirror()
	// fw-a encapsulates and decapsulates nothing; fw-b passes nothing
	// either way: fw-a's ESP is lost between them.
	a := startFirewall(t, sim.Options{Hostname: "fw-a", Scenario: sim.NoTraffic, Topology: &topo, Seed: 1}, sec)
	b := startFirewall(t, sim.Options{Hostname: "fw-b", Scenario: sim.Idle, Topology: &peer, Seed: 2, LocalInitiates: true, Latency: 50 * time.Millisecond}, sec)
	w := &workspace{dir: t.TempDir(), sec: sec, fw: a}
	inv := writePairInventory(t, w.dir, a, b)
	const runs = 3
	p, code := w.run(t, "run", "tunnel-up-no-traffic", "-i", inv, "-t", pairName, "-p", fmt.Sprintf("repeat=%d", runs), "-p", "interval=200ms",
		"--yes", "-o", w.out(), "--timeout", "2m")
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	cases, err := filepath.Glob(filepath.Join(w.out(), "*-tunnel-up-no-traffic-case"))
	if err != nil || len(cases) != 1 {
		t.Fatalf("want one case folder under %s, found %q (%v)", w.out(), cases, err)
	}
	caseDir := cases[0]
	raw, err := os.ReadFile(filepath.Join(caseDir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c caseFile
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("case.json: %v", err)
	}

	// The findings across the ends: fw-a's ESP is lost, nothing from fw-b.
	var ids []string
	for _, f := range c.Findings {
		ids = append(ids, f.ID)
	}
	if !slices.Equal(ids, []string{"lost-a-to-b"}) {
		t.Errorf("findings across the ends %q, want [lost-a-to-b]", ids)
	}

	// Every run of every repeated step: met by both ends, none missing.
	ends := []string{endA, endB}
	if c.Sampling == nil || !slices.Equal(c.Sampling.Ends, ends) {
		t.Fatalf("case.json sampling: %+v, want the ends %q", c.Sampling, ends)
	}
	points := map[string][]int{}
	for _, pt := range c.Sampling.Points {
		if pt.Kind != "repeat" {
			continue
		}
		if !slices.Equal(pt.Met, ends) || len(pt.Missing) > 0 || len(pt.Late) > 0 || pt.Runs != runs {
			t.Errorf("%s run %d/%d: met %q, missing %s, late %q", pt.Step, pt.Run, pt.Runs, pt.Met, pt.Missing, pt.Late)
		}
		points[pt.Step] = append(points[pt.Step], pt.Run)
	}
	for _, step := range []string{"counters", "flow"} {
		if !slices.Equal(points[step], []int{1, 2, 3}) {
			t.Errorf("sampling points of %s: runs %v, want [1 2 3]", step, points[step])
		}
	}

	// The order, from each end's own manifest: the earliest start of run
	// k+1 on any end is no earlier than the latest start of run k on any.
	manifests := map[string]*engine.Manifest{}
	for _, e := range c.Ends {
		dir := filepath.Join(caseDir, e.Dir)
		m := checkRunFolder(t, dir)
		checkNothingPending(t, dir, m)
		manifests[e.Target] = m
	}
	if len(manifests) != 2 {
		t.Fatalf("case ends %+v, want %q", c.Ends, ends)
	}
	for step := range points {
		type span struct{ first, last time.Time }
		byRun := map[int]*span{}
		for _, name := range ends {
			seen := map[int]bool{}
			for _, s := range manifests[name].Steps {
				if s.ID != step || s.Seq == 0 || s.Run == 0 {
					continue
				}
				seen[s.Run] = true
				sp := byRun[s.Run]
				if sp == nil {
					sp = &span{first: s.Start, last: s.Start}
					byRun[s.Run] = sp
				}
				if s.Start.Before(sp.first) {
					sp.first = s.Start
				}
				if s.Start.After(sp.last) {
					sp.last = s.Start
				}
			}
			if len(seen) != runs {
				t.Errorf("%s: step %s ran runs %v, want %d", name, step, seen, runs)
			}
		}
		for k := 1; k < runs; k++ {
			cur, next := byRun[k], byRun[k+1]
			if cur == nil || next == nil {
				continue // reported above
			}
			if next.first.Before(cur.last) {
				t.Errorf("step %s: run %d started at %s on one end, before the other end started run %d at %s",
					step, k+1, next.first.Format(time.RFC3339Nano), k, cur.last.Format(time.RFC3339Nano))
			}
		}
	}

	checkClean(t, a.dev)
	checkClean(t, b.dev)
	checkNoSecrets(t, sec, caseDir, streamsOf(p))
}
