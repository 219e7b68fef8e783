package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/sim"
)

// TestScpExports runs phase1-down over SSH through the binary against a
// firewall whose `scp export` asks the host-key question, refuses the
// password, or fails with each of the failure texts the firewall's OpenSSH
// client prints. Every export must be attempted (a failed one does not
// stop the others or the tech-support file), each failed export is a
// failed step carrying the device's words, the device ends clean with
// nothing pending, no secret leaks, and the exit code is 1 when an export
// failed, 0 when none did.
func TestScpExports(t *testing.T) {
	cases := []struct {
		name   string
		faults sim.Faults
		flags  []string
		code   int
		words  string // in every export step's error
		note   string // in the summary
	}{
		{name: "new host key, not allowed", faults: sim.Faults{ScpNewHost: true}, code: 1,
			words: "Host key verification failed.; lost connection (the firewall has not seen this host's SSH key; to let it answer yes, run again with --scp-accept-new-host-key)", note: "--scp-accept-new-host-key"},
		{name: "new host key, allowed", faults: sim.Faults{ScpNewHost: true}, flags: []string{"--scp-accept-new-host-key"}, code: 0},
		{name: "password refused", faults: sim.Faults{ScpRefusePassword: true}, code: 1,
			words: "Permission denied, please try again."},
		{name: "failed to open file", faults: sim.Faults{ScpFail: "scp: Failed to open file /cases/vpn\nlost connection"}, code: 1,
			words: "scp: Failed to open file /cases/vpn; lost connection"},
		{name: "lost connection", faults: sim.Faults{ScpFail: "lost connection"}, code: 1, words: "lost connection"},
		{name: "no such directory", faults: sim.Faults{ScpFail: "scp: /cases/vpn: No such file or directory"}, code: 1,
			words: "scp: /cases/vpn: No such file or directory"},
		{name: "connection refused", faults: sim.Faults{ScpFail: "ssh: connect to host 192.0.2.50 port 22: Connection refused\nlost connection", ScpFailEarly: true},
			code: 1, words: "ssh: connect to host 192.0.2.50 port 22: Connection refused"},
		{name: "connection timed out", faults: sim.Faults{ScpFail: "ssh: connect to host 192.0.2.50 port 22: Connection timed out\nlost connection", ScpFailEarly: true},
			code: 1, words: "ssh: connect to host 192.0.2.50 port 22: Connection timed out"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sec := newSecrets(t)
			// The peer starts IKE after the filter is set: the capture
			// files exist, so each export fails only for the fault's reason.
			fw := startFirewall(t, sim.Options{Scenario: sim.Phase1Down, Seed: 1, Faults: c.faults, FreshSessions: true}, sec)
			w := newWorkspace(t, fw, sec)
			args := append(w.runArgs("phase1-down", targetSSH, "50ms"), c.flags...)
			p, code := w.run(t, args...)
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			dir := w.runDir(t)
			m := checkRunFolder(t, dir)
			checkNothingPending(t, dir, m)
			checkClean(t, fw.dev)
			checkNoSecrets(t, sec, dir, map[string][]byte{"stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes()})
			if m.ExitCode != c.code {
				t.Errorf("manifest exit_code %d, want %d", m.ExitCode, c.code)
			}
			exports := 0
			for _, s := range m.Steps {
				if s.Kind != "export" {
					if s.Status != "ok" && s.Status != "skipped" && s.Status != "auto-continued" && !refusedDelete(s) {
						t.Errorf("step %s %q: %s (%s)", s.ID, s.Command, s.Status, s.Error)
					}
					continue
				}
				exports++
				if c.words == "" {
					if s.Status != "ok" {
						t.Errorf("export %s: %s (%s)", s.ID, s.Status, s.Error)
					}
					continue
				}
				if s.Status != "failed" || !strings.Contains(s.Error, c.words) {
					t.Errorf("export %s: status %s error %q, want failed with %q", s.ID, s.Status, s.Error, c.words)
				}
				if b, err := os.ReadFile(filepath.Join(dir, s.Output)); err != nil || !strings.Contains(string(b), strings.Split(c.words, ";")[0]) {
					t.Errorf("export %s: output %s lacks the device's words: %q %v", s.ID, s.Output, b, err)
				}
			}
			// The IKE capture, four filter captures and the tech-support file.
			if exports != 6 {
				t.Errorf("%d export steps ran, want 6", exports)
			}
			var tried int
			for _, e := range fw.dev.Log() {
				if strings.HasPrefix(e.CLI, "scp export ") {
					tried++
				}
			}
			if tried != 6 {
				t.Errorf("the device received %d scp exports, want 6", tried)
			}
			if c.note != "" {
				b, err := os.ReadFile(filepath.Join(dir, "summary.md"))
				if err != nil || !strings.Contains(string(b), c.note) {
					t.Errorf("summary.md does not name %s: %v", c.note, err)
				}
				if !strings.Contains(p.stderr.String(), c.note) {
					t.Errorf("stderr does not name %s", c.note)
				}
			}
		})
	}
}
