package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/sim"
)

// transportCase is one way into the simulated firewall.
type transportCase struct {
	name   string
	target string
	via    string // the device log's Via prefix
}

var (
	overSSH    = transportCase{name: "ssh", target: targetSSH, via: "ssh:"}
	overAPI    = transportCase{name: "xmlapi", target: targetAPI, via: "api:"}
	overKeygen = transportCase{name: "xmlapi-keygen", target: targetKeygen, via: "api:"}
)

// TestPlaybooks runs each built-in playbook against the scenario it is for
// (and phase2-down also against a healthy tunnel, where it captures the
// tunnel id and the ESP session id), over SSH and over the XML API, through
// the binary. Every run must end with exit 0, a complete run folder,
// nothing pending, the device clean, the captured ids used, the same
// commands and findings over both transports, and no secret anywhere.
func TestPlaybooks(t *testing.T) {
	cases := []struct {
		playbook string
		scenario sim.Scenario
		// api is the XML API way in: an API key, or keygen from user and
		// password.
		api transportCase
		// want are commands that must have run, ok, over both transports:
		// they use the tunnel id and session id the run captured.
		want     []string
		findings []string
		// name tells apart two cases of one playbook and scenario; opts
		// changes the simulator's options.
		name string
		opts func(o *sim.Options)
		// noCaptures: the capture filter marked no session (the tunnel's
		// IKE session is older than the filter), so the device has no
		// capture file: those exports fail with its words and a note
		// lists them.
		noCaptures bool
	}{
		// The peer keeps starting IKE after the capture filter is set, as
		// the playbook asks: its sessions are new and captured.
		{playbook: "phase1-down", scenario: sim.Phase1Down, api: overKeygen,
			opts:     func(o *sim.Options) { o.FreshSessions = true },
			findings: []string{"ike-no-rule-matches", "no-ike-sa", "ike-no-reply"}},
		{playbook: "phase2-down", scenario: sim.Phase2Down, api: overAPI,
			findings: []string{"no-sa", "no-esp-session"}},
		{playbook: "phase2-down", scenario: sim.Healthy, api: overKeygen,
			want: []string{"show session id 145372", "show vpn flow tunnel-id 207"}},
		// A healthy tunnel raises no finding in any of the four playbooks,
		// over SSH and over the XML API.
		{playbook: "phase1-down", scenario: sim.Healthy, api: overAPI, noCaptures: true},
		{playbook: "tunnel-up-no-traffic", scenario: sim.Healthy, api: overKeygen},
		{playbook: "performance", scenario: sim.Healthy, api: overAPI},
		// A tunnel with two proxy IDs: each SA's flow is sampled.
		{playbook: "phase2-down", scenario: sim.Healthy, api: overAPI, name: "proxy-ids",
			opts: func(o *sim.Options) { t := sim.ProxyIDTopology(); o.Topology = &t },
			want: []string{"show vpn flow tunnel-id 208", "show vpn flow tunnel-id 209"}},
		{playbook: "tunnel-up-no-traffic", scenario: sim.NoTraffic, api: overAPI,
			want:     []string{"show session id 145390", "show vpn flow tunnel-id 207"},
			findings: []string{"decap-flat"}},
		{playbook: "performance", scenario: sim.Performance, api: overAPI,
			want:     []string{"show vpn flow tunnel-id 207"},
			findings: []string{"dataplane-cpu-high", "packet-buffers-low", "capture-rate-limited"}},
	}
	for _, c := range cases {
		name := c.playbook + "/" + string(c.scenario)
		if c.name != "" {
			name += "-" + c.name
		}
		t.Run(name, func(t *testing.T) {
			got := map[string][]string{}
			for _, tc := range []transportCase{overSSH, c.api} {
				t.Run(tc.name, func(t *testing.T) {
					sec := newSecrets(t)
					o := sim.Options{Scenario: c.scenario, Seed: 1}
					if c.opts != nil {
						c.opts(&o)
					}
					fw := startFirewall(t, o, sec)
					w := newWorkspace(t, fw, sec)
					p, code := w.run(t, w.runArgs(c.playbook, tc.target, "50ms")...)
					if code != 0 {
						t.Errorf("exit %d, want 0", code)
					}
					dir := w.runDir(t)
					m := checkRunFolder(t, dir)
					checkNothingPending(t, dir, m)
					checkClean(t, fw.dev)
					checkVia(t, fw.dev, tc.via)
					checkNoSecrets(t, sec, dir, map[string][]byte{"stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes()})
					if m.Status != "ok" || m.ExitCode != 0 {
						t.Errorf("manifest: status %q exit_code %d, want ok 0 (error %q)", m.Status, m.ExitCode, m.Error)
					}
					if m.Target.Transport != strings.TrimSuffix(tc.name, "-keygen") {
						t.Errorf("manifest: transport %q, want %s", m.Target.Transport, tc.name)
					}
					cmds := commands(m)
					for _, want := range c.want {
						if !slices.Contains(cmds, want+" => ok") {
							t.Errorf("%q did not run ok; commands:\n%s", want, strings.Join(cmds, "\n"))
						}
					}
					for _, s := range m.Steps {
						if s.Status != "ok" && s.Status != "skipped" && s.Status != "auto-continued" && !refusedDelete(s) && !(c.noCaptures && isPcap(s.ID)) {
							t.Errorf("step %s %q: status %s (%s)", s.ID, s.Command, s.Status, s.Error)
						}
					}
					var findings []string
					for _, f := range m.Findings {
						findings = append(findings, f.ID)
					}
					if !sameSet(findings, c.findings) {
						t.Errorf("findings %q, want %q", findings, c.findings)
					}
					if c.noCaptures {
						checkNoCaptures(t, m)
					} else {
						checkExports(t, dir, m, tc)
					}
					got[tc.name] = cmds
				})
			}
			if a, b := got[overSSH.name], got[c.api.name]; a != nil && b != nil && !slices.Equal(a, b) {
				t.Errorf("the playbook ran different commands over the two transports:\nssh:\n%s\n%s:\n%s",
					strings.Join(a, "\n"), c.api.name, strings.Join(b, "\n"))
			}
		})
	}
}

// checkExports checks the export steps: over SSH each is pushed by the
// device with `scp export` (which the simulator accepts only with the scp
// password); over the XML API each is pulled into artifacts/, except the
// IKE capture (debug-pcap), which has no API export and is skipped.
func checkExports(t *testing.T, dir string, m manifest, tc transportCase) {
	t.Helper()
	pulled := 0
	for _, s := range m.Steps {
		if s.Kind != "export" {
			continue
		}
		want := "ok"
		if tc.via == "api:" && s.ID == "ike_pcap" { // the debug-pcap export of phase1-down and phase2-down
			want = "skipped"
		}
		if s.Status != want {
			t.Errorf("export %s %q: status %s, want %s (%s)", s.ID, s.Command, s.Status, want, s.Error)
		}
		if s.Status == "ok" {
			pulled++
		}
	}
	if pulled == 0 {
		t.Fatal("no export step ran")
	}
	if tc.via == "api:" {
		if len(m.Artifacts) != pulled {
			t.Errorf("%d artifacts for %d exports", len(m.Artifacts), pulled)
		}
		for _, a := range m.Artifacts {
			st, err := os.Stat(filepath.Join(dir, a.Path))
			if err != nil || st.Size() != a.Size || a.Size == 0 || a.SHA256 == "" {
				t.Errorf("artifact %s: size %d sha256 %q on disk: %v", a.Path, a.Size, a.SHA256, err)
			}
		}
	} else if len(m.Artifacts) != 0 {
		t.Errorf("over SSH the device pushes the files; got artifacts %+v", m.Artifacts)
	}
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func isPcap(id string) bool { return strings.HasPrefix(id, "pcap_") }

// checkNoCaptures checks a run whose capture marked no session: each
// capture file's export failed with the device's "not found", and a note
// says which files were not brought back and why.
func checkNoCaptures(t *testing.T, m manifest) {
	t.Helper()
	n := 0
	for _, s := range m.Steps {
		if !isPcap(s.ID) {
			continue
		}
		n++
		if s.Status != "failed" || !strings.Contains(s.Error, "not found") {
			t.Errorf("export %s: status %s (%s), want failed: the device has no such file", s.ID, s.Status, s.Error)
		}
	}
	if n != 4 {
		t.Errorf("%d capture exports, want 4", n)
	}
	note := false
	for _, x := range m.Notes {
		note = note || strings.Contains(x, "Capture files not brought back")
	}
	if !note {
		t.Errorf("no note lists the capture files not brought back: %q", m.Notes)
	}
}
