package examples_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/sim"
)

// TestEveryCommandRefused sweeps the refusals a real firewall may give:
// for each built-in playbook, against a healthy tunnel whose operator left
// their own state on the device, the device refuses each command the
// reference run sent, one at a time, with PAN-OS's `Invalid syntax.`. Every
// run must end with the device as it was found, or with exit 3 and the
// commands still owed listed; every export is still attempted; and no
// other evidence is lost but what the refused command provides (the flow
// counters need the SA's tunnel id, a session's detail its id, the
// filtered counters the filter). The refused command's evidence is listed
// as missing (the run ends "done, N steps failed", exit 1) unless its step
// says evidence: false; a run with nothing missing exits 0.
func TestEveryCommandRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("the refusal sweep runs every playbook once per command")
	}
	refs := map[string]simCase{}
	for _, c := range simCases {
		switch c.name {
		case "phase1-down-operator-state", "tunnel-up-no-traffic-operator-state":
			refs[c.playbook] = c
		case "phase2-down", "performance-healthy":
			if _, ok := refs[c.playbook]; !ok {
				c.opts = func(o *sim.Options) { o.Setup = operatorState }
				refs[c.playbook] = c
			}
		}
	}
	if len(refs) != 4 {
		t.Fatalf("reference cases for %d playbooks, want 4", len(refs))
	}
	for _, pb := range slices.Sorted(func(yield func(string) bool) {
		for k := range refs {
			if !yield(k) {
				return
			}
		}
	}) {
		ref := refs[pb]
		ref.findings, ref.exit = nil, 0
		res, dev := simRun(t, ref, filepath.Join(t.TempDir(), "ref.yaml"))
		var sent []string
		for _, e := range dev.Log() {
			if !slices.Contains(sent, e.CLI) {
				sent = append(sent, e.CLI)
			}
		}
		exports := countExports(t, res.Dir)
		loaded, err := playbooks.Load(pb)
		if err != nil {
			t.Fatal(err)
		}
		notEvidence := map[string]bool{}
		playbook.Walk(loaded.Steps, func(s *playbook.Step) {
			if s.ID != "" && s.NotEvidence {
				notEvidence[s.ID] = true
			}
		})
		for _, cli := range sent {
			t.Run(pb+"/"+cli, func(t *testing.T) {
				c := ref
				opts := ref.opts
				c.opts = func(o *sim.Options) {
					if opts != nil {
						opts(o)
					}
					o.Refuse = []sim.Refusal{{Match: "^" + regexp.QuoteMeta(cli) + "$", Error: sim.RefuseInvalid}}
				}
				res, dev := simRun(t, c, filepath.Join(t.TempDir(), "run.yaml"))
				// A level that cannot be read is set back to its documented
				// default, and a note says so.
				unread := map[string]string{"debug ike global show": "ike.global", "debug mprelay show": "mprelay"}[cli]
				switch res.ExitCode {
				case 0, 1:
					if unread != "" {
						def := map[string]string{"ike.global": "normal", "mprelay": "info"}[unread]
						if got := dev.DebugState()[unread]; got != def {
							t.Errorf("%s is %s, want its default %s once its level could not be read", unread, got, def)
						}
						if !slices.ContainsFunc(res.Manifest.Notes, func(n string) bool { return strings.Contains(n, "could not be read") }) {
							t.Errorf("no note says the level could not be read: %q", res.Manifest.Notes)
						}
					} else if ok, found, now := dev.AsFound(); !ok {
						t.Errorf("exit %d but the device is not as found:\nfound:\n%s\nnow:\n%s", res.ExitCode, found, now)
					}
					if len(res.Pending) > 0 {
						t.Errorf("exit %d with commands pending: %v", res.ExitCode, res.Pending)
					}
				case 3:
					if len(res.Pending) == 0 {
						t.Errorf("exit 3 names nothing still on")
					}
					if ok, _, _ := dev.AsFound(); ok {
						t.Errorf("exit 3 but the device is as found: pending %v", res.Pending)
					}
				default:
					t.Errorf("exit %d (%v)", res.ExitCode, res.Err)
				}
				checkMissing(t, res, cli, notEvidence)
				if n := countExports(t, res.Dir); n != exports {
					t.Errorf("%d exports attempted, want %d as in the reference run", n, exports)
				}
				got := map[string]bool{}
				for _, e := range dev.Log() {
					got[e.CLI] = true
				}
				for _, want := range sent {
					if want != cli && !got[want] && !dependsOn(want, cli) {
						t.Errorf("%q not sent once %q was refused", want, cli)
					}
				}
			})
		}
	}
}

// countExports counts the export steps that were attempted (sent or
// pulled), skipped ones aside.
// countExports counts the exports attempted in the run folder dir's
// manifest.json (none when the run kept no folder).
func countExports(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	if dir == "" {
		return n
	}
	_, err := runfolder.Scan(dir, func(s engine.StepRecord) error {
		if s.Kind == "export" && s.Status != "skipped" {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// dependsOn reports whether want, a command of the reference run, needs
// what the refused command gives: the evidence a refusal may cost.
func dependsOn(want, refused string) bool {
	switch {
	case strings.HasPrefix(refused, "show vpn ipsec-sa"):
		return strings.HasPrefix(want, "show vpn flow tunnel-id") || want == "show vpn ipsec-sa"
	case strings.HasPrefix(refused, "show session all filter"):
		return strings.HasPrefix(want, "show session id ") || strings.HasPrefix(want, "show session all filter")
	case strings.HasPrefix(refused, "debug dataplane packet-diag set filter index"),
		strings.HasPrefix(refused, "debug dataplane packet-diag show setting"):
		// No filter, no capture: the capture switches, its files and the
		// filtered counters go (the settings unread, the run may use
		// slots in use).
		return strings.HasPrefix(want, "debug dataplane packet-diag") || strings.Contains(want, "packet-filter yes") ||
			strings.Contains(want, "filter-pcap") || strings.HasPrefix(want, "delete debug-filter")
	case strings.HasPrefix(refused, "debug ike pcap on"):
		return strings.Contains(want, "debug-pcap") || want == "debug ike pcap off"
	case strings.HasPrefix(refused, "debug ike global on"), strings.HasPrefix(refused, "debug mprelay on"):
		// The switch back is not needed when the switch on was refused.
		return strings.HasPrefix(want, "debug ike global") || strings.HasPrefix(want, "debug mprelay")
	case strings.HasPrefix(refused, "debug dataplane packet-diag set capture stage "):
		// The stage was not set: nothing to clear.
		stage := strings.Fields(refused)[6]
		return want == "debug dataplane packet-diag clear capture stage "+stage
	case refused == "debug dataplane packet-diag set filter on" || refused == "debug dataplane packet-diag set capture on":
		return strings.HasPrefix(want, "debug dataplane packet-diag")
	}
	return false
}

// checkMissing checks the missing evidence of a run in which the device
// refused cli: the refused step is listed unless it takes no evidence
// (notEvidence, by step id), each entry says what the device said and how
// to take it by hand, and the exit code agrees with the list.
func checkMissing(t *testing.T, res *engine.Result, cli string, notEvidence map[string]bool) {
	t.Helper()
	missing := res.Manifest.Missing
	for _, m := range missing {
		if m.Error == "" || m.ByHand == "" || m.Command == "" {
			t.Errorf("missing evidence %+v lacks the device's words or how to take it", m)
		}
	}
	listed := slices.ContainsFunc(missing, func(m engine.MissingRecord) bool { return m.Command == cli })
	_, err := runfolder.Scan(res.Dir, func(s engine.StepRecord) error {
		if s.Command != cli || s.ID == "" || (s.Status != "failed" && s.Status != "refused") || s.AcceptedForm != nil {
			return nil
		}
		if notEvidence[s.ID] && listed {
			t.Errorf("%s (evidence: false) is listed as missing evidence", s.ID)
		}
		if !notEvidence[s.ID] && !listed {
			t.Errorf("%s was refused but is not listed as missing evidence: %+v", s.ID, missing)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case res.ExitCode == engine.ExitDirty:
	case len(missing) > 0 && (res.ExitCode != engine.ExitStepFailed || res.Status != engine.StatusIncomplete && res.Status != engine.StatusFailed):
		t.Errorf("%d steps missing evidence, but status %s exit %d", len(missing), res.Status, res.ExitCode)
	case len(missing) == 0 && res.Status == engine.StatusIncomplete:
		t.Errorf("status incomplete with no missing evidence listed")
	}
}
