package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/sim"
)

// TestSessionLog runs phase1-down through the binary with --session-log
// over SSH (the scp exports answer the password question), over the XML
// API with a key, and over the XML API with keygen. The log must hold the
// exchange, the manifest must name it, and no secret may be in it in any
// form a device or an encoder could give it (as written, JSON, XML, URL,
// base64), nor a key the simulator generated.
func TestSessionLog(t *testing.T) {
	cases := []struct {
		target string
		want   []string
	}{
		{targetSSH, []string{"admin@pa-sim> ", "show system info\r\n", "set cli pager off", "debug ike pcap on", "scp export", "password:", secret.Placeholder + "\n", "show clock\r\n"}},
		{targetAPI, []string{">>> POST https://127.0.0.1:", "X-PAN-KEY: " + secret.Placeholder + "\n", "type=op\ncmd=<show><system><info></info></system></show>\n<<< 200 OK\n", "<hostname>", "type=export\ncategory=tech-support\n", "Content-Type: application/octet-stream"}},
		{targetKeygen, []string{"type=keygen\npassword=" + secret.Placeholder + "\nuser=admin\n<<< 200 OK\n", "<key>" + secret.Placeholder + "</key>", "type=op\ncmd=<show><clock></clock></show>\n"}},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			sec := newSecrets(t)
			fw := startFirewall(t, sim.Options{Scenario: sim.Phase1Down, Seed: 1, FreshSessions: true}, sec)
			w := newWorkspace(t, fw, sec)
			logPath := filepath.Join(w.dir, "session.log")
			p, code := w.run(t, append(w.runArgs("phase1-down", c.target, "50ms"), "--session-log", logPath)...)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			dir := w.runDir(t)
			m := checkRunFolder(t, dir)
			if m.SessionLog != logPath {
				t.Errorf("manifest session_log %q, want %q", m.SessionLog, logPath)
			}
			b, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			log := string(b)
			for _, want := range c.want {
				if !strings.Contains(log, want) {
					t.Errorf("session log lacks %q", want)
				}
			}
			for _, s := range sec.all() {
				forms := secret.Encodings(s)
				if s == "LUFRPT" {
					forms = []string{s}
				}
				for _, f := range forms {
					if strings.Contains(log, f) {
						t.Errorf("session log holds a secret (%s...) as %q...", s[:6], f[:min(len(f), 6)])
					}
				}
			}
			checkNoSecrets(t, sec, dir, map[string][]byte{"stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes(), "session.log": b})
			checkClean(t, fw.dev)
		})
	}
}

// TestSessionLogEchoedSecret: a secret parameter typed in a command comes
// back in the device's echo and in its "Unknown command" answer; the
// session log has neither (the writer redacts what it was given), while
// the commands around it are there.
func TestSessionLogEchoedSecret(t *testing.T) {
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Seed: 1}, sec)
	w := newWorkspace(t, fw, sec)
	pb := filepath.Join(w.dir, "matrix.yaml")
	if err := os.WriteFile(pb, []byte(matrixPlaybook), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(w.dir, "session.log")
	p, code := w.run(t, "run", pb, "-i", w.inventory(), "-t", targetSSH, "-p", "token=env:E2E_SCP_PASSWORD", "-p", "interval=50ms", "--yes", "-o", w.out(), "--session-log", logPath)
	if code != 1 { // the refused `show <token>` is missing evidence
		t.Fatalf("exit %d, want 1", code)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	for _, want := range []string{"show " + secret.Placeholder + "\n", "show " + secret.Placeholder + "\r\n", "Unknown command: " + secret.Placeholder, "debug ike global on normal"} {
		if !strings.Contains(log, want) {
			t.Errorf("session log lacks %q", want)
		}
	}
	for _, f := range secret.Encodings(sec.scpPassword) {
		if strings.Contains(log, f) {
			t.Errorf("session log holds the secret parameter as %q...", f[:6])
		}
	}
	checkNoSecrets(t, sec, w.runDir(t), map[string][]byte{"stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes(), "session.log": b})
}
