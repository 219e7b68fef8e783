package examples_test

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/transports/replay"
)

// proofs maps each finding of each built-in playbook (playbook → finding
// id) to the cassettes built to show it. A finding must fire on each of
// them and on no other cassette of its playbook; every finding of the four
// playbooks must be here (TestFindingsHaveProof), so a new finding without
// a cassette that shows it fails.
var proofs = map[string]map[string][]string{
	"phase1-down": {
		"peer-unreachable":           {"phase1-down-peer-unreachable", "phase1-down-no-route"},
		"ping-unanswered":            {"phase1-down-healthy-no-icmp"},
		"ike-not-allowed":            {"phase1-down-ike-denied"},
		"ike-no-rule-matches":        {"phase1-down", "phase1-down-peer-unreachable", "phase1-down-no-route", "phase1-down-wrong-interface", "phase1-down-operator-state", "phase1-down-no-filter-slot"},
		"no-route":                   {"phase1-down-no-route"},
		"peer-route-wrong-interface": {"phase1-down-wrong-interface"},
		"ike-no-reply":               {"phase1-down", "phase1-down-no-route", "phase1-down-wrong-interface", "phase1-down-ike-denied", "phase1-down-operator-state", "phase1-down-no-filter-slot"},
		"ike-peer-unanswered":        {"phase1-down-peer-unanswered"},
		"no-ike-seen":                {"phase1-down-peer-unreachable"},
		"no-ike-sa":                  {"phase1-down", "phase1-down-peer-unreachable", "phase1-down-no-route", "phase1-down-wrong-interface", "phase1-down-ike-denied", "phase1-down-peer-unanswered", "phase1-down-operator-state", "phase1-down-no-filter-slot"},
		"phase1-only":                {"phase1-down-phase1-only"},
		"drops-rising":               {"phase1-down-ike-denied"},
		"mgmt-cpu-high":              {"phase1-down-mgmt-cpu"},
	},
	"phase2-down": {
		"esp-not-allowed":     {"phase2-down-esp-blocked"},
		"esp-no-rule-matches": {"phase2-down-no-rule"},
		"no-sa":               {"phase2-down-no-sa", "phase2-down-esp-blocked", "phase2-down-no-rule"},
		"no-esp-session":      {"phase2-down-no-sa", "phase2-down-esp-blocked", "phase2-down-no-rule"},
		"decap-flat":          {"phase2-down-decap-flat"},
		"encap-flat":          {"phase2-down-encap-flat"},
		"auth-errors":         {"phase2-down-tunnel-errors"},
		"replay-drops":        {"phase2-down-tunnel-errors"},
		"mgmt-cpu-high":       {"phase2-down-mgmt-cpu"},
	},
	"tunnel-up-no-traffic": {
		"decap-flat":                   {"tunnel-up-no-traffic-decap-flat", "tunnel-up-no-traffic-proxy-ids-decap-flat"},
		"nothing-decrypted":            {"tunnel-up-no-traffic-one-way-healthy"},
		"encap-flat":                   {"tunnel-up-no-traffic-encap-flat"},
		"tunnel-idle":                  {"tunnel-up-no-traffic-idle"},
		"no-sa":                        {"tunnel-up-no-traffic-no-sa"},
		"no-route":                     {"tunnel-up-no-traffic-no-fib-route"},
		"route-not-into-tunnel":        {"tunnel-up-no-traffic-no-route"},
		"tunnel-not-by-route":          {"tunnel-up-no-traffic-pbf-healthy"},
		"route-lookup-not-into-tunnel": {"tunnel-up-no-traffic-no-route-no-session"},
		"auth-errors":                  {"tunnel-up-no-traffic-tunnel-errors"},
		"replay-drops":                 {"tunnel-up-no-traffic-tunnel-errors"},
		"drops-rising":                 {"tunnel-up-no-traffic-no-sa"},
		"traffic-outside-selectors":    {"tunnel-up-no-traffic-outside-selectors"},
	},
	"performance": {
		"dataplane-cpu-high":   {"performance"},
		"mgmt-cpu-high":        {"performance-mgmt-cpu"},
		"packet-buffers-low":   {"performance"},
		"descriptors-high":     {"performance-descriptors"},
		"capture-rate-limited": {"performance"},
		"no-sa":                {"performance-no-sa"},
		"decap-flat":           {"performance-decap-flat"},
		"encap-flat":           {"performance-encap-flat"},
		"auth-errors":          {"performance-tunnel-errors"},
		"replay-drops":         {"performance-tunnel-errors"},
		"drops-rising":         {"performance-no-sa"},
	},
}

// healthy names, for each built-in playbook, the cassette recorded against
// the simulator's healthy tunnel: no finding of the playbook may fire on it.
var healthy = map[string]string{
	"phase1-down":          "phase1-down-healthy",
	"phase2-down":          "phase2-down",
	"tunnel-up-no-traffic": "tunnel-up-no-traffic",
	"performance":          "performance-healthy",
}

// TestFindingsHaveProof checks that the proof table covers exactly the
// findings of the built-in playbooks, that each finding names a cassette
// of its playbook, and that each playbook has a healthy cassette recorded
// from the healthy simulator.
func TestFindingsHaveProof(t *testing.T) {
	if got, want := slices.Sorted(maps.Keys(proofs)), playbooks.Names(); !slices.Equal(got, want) {
		t.Errorf("proofs cover playbooks %v, the built-ins are %v", got, want)
	}
	sims := map[string]simCase{}
	for _, c := range simCases {
		sims[c.name] = c
	}
	for _, name := range playbooks.Names() {
		pb, err := playbooks.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, f := range pb.Findings {
			ids[f.ID] = true
			cs, ok := proofs[name][f.ID]
			switch {
			case !ok:
				t.Errorf("%s: finding %s has no cassette that shows it: add one to proofs", name, f.ID)
			case len(cs) == 0:
				t.Errorf("%s: finding %s: empty list of cassettes", name, f.ID)
			}
			for _, c := range cs {
				if !strings.HasPrefix(c, name) {
					t.Errorf("%s: finding %s: cassette %s is not one of the playbook's", name, f.ID, c)
				}
			}
		}
		for id := range proofs[name] {
			if !ids[id] {
				t.Errorf("%s: proofs name finding %s, which the playbook does not have", name, id)
			}
		}
		h, ok := healthy[name]
		if !ok {
			t.Errorf("%s has no healthy cassette", name)
			continue
		}
		if c, ok := sims[h]; !ok || c.playbook != name || c.scenario != "healthy" || c.topo != nil || c.faults != (simCase{}).faults {
			t.Errorf("%s: healthy cassette %s is not recorded from the healthy simulator unchanged", name, h)
		}
	}
}

// TestFindingsProven replays every cassette of the built-in playbooks: each
// finding fires exactly on the cassettes the proof table names for it (so
// never on the healthy one), its message is rendered, and the evidence it
// names carries values in manifest.json.
func TestFindingsProven(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("cassettes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, ".expect.yaml") { // runbook test's expectations
			continue
		}
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		c, err := replay.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		table, ok := proofs[c.Playbook]
		if !ok {
			continue // a playbook written from scratch (examples/playbooks)
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			res, _ := replayRun(t, c)
			fired := map[string]engine.FindingRecord{}
			for _, f := range res.Manifest.Findings {
				fired[f.ID] = f
			}
			if name == healthy[c.Playbook] && len(fired) > 0 {
				t.Errorf("healthy cassette: findings %v fired", slices.Sorted(maps.Keys(fired)))
			}
			for _, id := range slices.Sorted(maps.Keys(table)) {
				want := slices.Contains(table[id], name)
				f, got := fired[id]
				switch {
				case want && !got:
					t.Errorf("finding %s did not fire (not evaluated: %v)", id, res.Manifest.Unevaluated)
				case !want && got:
					t.Errorf("finding %s fired where it should not: %s", id, f.Message)
				case got:
					t.Logf("%s [%s] %s evidence %v", id, f.Severity, f.Message, f.Evidence)
					checkEvidence(t, f)
				}
			}
		})
	}
	for pb, table := range proofs {
		for id, cs := range table {
			for _, c := range cs {
				if !seen[c] {
					t.Errorf("%s: finding %s: cassette %s does not exist", pb, id, c)
				}
			}
		}
	}
}

// checkEvidence checks that a finding's message was rendered and that the
// evidence it names carries at least one value when it names a field.
func checkEvidence(t *testing.T, f engine.FindingRecord) {
	t.Helper()
	if strings.Contains(f.Message, "${") || strings.Contains(f.Message, "<nil>") || strings.Contains(f.Message, "NaN") {
		t.Errorf("finding %s: message not rendered: %s", f.ID, f.Message)
	}
	if len(f.Evidence) == 0 {
		t.Errorf("finding %s names no evidence", f.ID)
	}
	fields, values := 0, 0
	for _, e := range f.Evidence {
		if e.Field == "" {
			continue
		}
		fields++
		for _, v := range e.Values {
			if v != nil {
				values++
			}
		}
	}
	if fields > 0 && values == 0 {
		t.Errorf("finding %s: its evidence carries no value: %+v", f.ID, f.Evidence)
	}
}

// TestEgressEvidence: the findings that compare the route with the
// session's egress interface read it as egress_interface (show session
// id's text), else egr_if (the egr-if element public XML API clients
// read from its XML answer), else egress (the element they read from
// show session all's entries): whichever the session detail holds, the
// finding's evidence names that field with the value the message states.
// The recorded no-route session is replayed as its text, then with the
// egress interface in each element alone (the XML forms are unverified
// against a device, docs/simulator.md: this pins only that the evidence
// covers what the finding read).
func TestEgressEvidence(t *testing.T) {
	const egress = "ethernet1/21" // the recorded session's
	for _, field := range []string{"egress_interface", "egr_if", "egress"} {
		t.Run(field, func(t *testing.T) {
			c, err := replay.Load(filepath.Join("cassettes", "tunnel-up-no-traffic-no-route.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			edited := false
			for i, x := range c.Exchanges {
				if !strings.HasPrefix(x.Command, "show session id ") {
					continue
				}
				if !strings.Contains(x.Output, "egress interface                     : "+egress) {
					t.Fatalf("the recorded session does not leave by %s:\n%s", egress, x.Output)
				}
				if field != "egress_interface" {
					c.Exchanges[i].Output, c.Exchanges[i].Data = "", map[string]any{strings.ReplaceAll(field, "_", "-"): egress}
				}
				edited = true
			}
			if !edited {
				t.Fatal("the cassette has no show session id")
			}
			res, _ := replayRun(t, c)
			var f *engine.FindingRecord
			for i := range res.Manifest.Findings {
				if res.Manifest.Findings[i].ID == "route-not-into-tunnel" {
					f = &res.Manifest.Findings[i]
				}
			}
			if f == nil {
				t.Fatalf("route-not-into-tunnel did not fire: %+v", res.Manifest.Findings)
			}
			if !strings.Contains(f.Message, "leaves by "+egress+" too") {
				t.Errorf("message does not say the session leaves by %s: %s", egress, f.Message)
			}
			if !slices.ContainsFunc(f.Evidence, func(e engine.EvidenceRecord) bool {
				return e.Step == "session" && e.Field == field && slices.Contains(e.Values, any(egress))
			}) {
				t.Errorf("evidence %+v does not show session.%s = %s, which the message states", f.Evidence, field, egress)
			}
		})
	}
}
