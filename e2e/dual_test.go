package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/sim"
)

// targetDual reaches the simulated firewall both ways: SSH (password from
// env:) and the XML API (api_key from env:).
const targetDual = "fw-dual"

// addDualTarget appends targetDual to the workspace's inventory, with the
// same parameters as the other targets.
func (w *workspace) addDualTarget(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(w.inventory())
	if err != nil {
		t.Fatal(err)
	}
	// The parameters block of the last target, reused as is.
	params := string(b[strings.LastIndex(string(b), "    params:\n"):])
	dual := fmt.Sprintf(`  %s:
    transport: [ssh, xmlapi]
    host: 127.0.0.1
    ports: {ssh: %d, xmlapi: %d}
    user: admin
    password: env:E2E_SSH_PASSWORD
    known_hosts: %q
    api_key: env:E2E_API_KEY
    tls: {fingerprint: %q}
%s`, targetDual, w.fw.sshPort, w.fw.apiPort, filepath.Join(w.dir, "known_hosts"), w.fw.fingerprint, params)
	if err := os.WriteFile(w.inventory(), append(b, dual...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dualArgs are the arguments of `runbook run` against targetDual.
func (w *workspace) dualArgs(playbook string, extra ...string) []string {
	return append([]string{"run", playbook, "-i", w.inventory(), "-t", targetDual, "-p", "interval=50ms", "--yes", "-o", w.out()}, extra...)
}

// pcapFiles are the data-plane capture files phase1-down exports.
var pcapFiles = []string{"rx.pcap", "tx.pcap", "drop.pcap", "fw.pcap"}

// TestDualTarget runs phase1-down against a firewall reached both ways
// (the Done-when of issue 12 item 5): debug is switched over SSH, the
// four filter captures and the tech-support file are streamed over the
// API into artifacts/ with no scp export at all, and the IKE capture,
// which no documented API category exports, is listed with the exact
// command (no destination) or pushed with `scp export` over SSH (a
// destination given). Every command's transport is in the run folder.
func TestDualTarget(t *testing.T) {
	for _, withScp := range []bool{false, true} {
		t.Run(fmt.Sprintf("scp_to=%t", withScp), func(t *testing.T) {
			sec := newSecrets(t)
			// FreshSessions: the IKE session starts once the filter is set,
			// so the captures hold packets and the files exist.
			fw := startFirewall(t, sim.Options{Scenario: sim.Phase1Down, Seed: 1, FreshSessions: true}, sec)
			w := newWorkspace(t, fw, sec)
			w.addDualTarget(t)
			var extra []string
			if withScp {
				extra = []string{"-p", "scp_to=support@192.0.2.50:/cases/vpn", "-p", "scp_password=env:E2E_SCP_PASSWORD"}
			}
			p, code := w.run(t, w.dualArgs("phase1-down", extra...)...)
			if code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			dir := w.runDir(t)
			m := checkRunFolder(t, dir)
			checkNothingPending(t, dir, m)
			checkClean(t, fw.dev)
			checkNoSecrets(t, sec, dir, map[string][]byte{"stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes()})
			if m.Target.Transport != "ssh+xmlapi" || m.Target.Facts["transport"] != "ssh+xmlapi" || m.Target.Facts["serial"] == "" {
				t.Errorf("manifest target %+v", m.Target)
			}
			checkDualSteps(t, m, withScp)

			// The device: every command over SSH, debug included (the API
			// part reads only the facts when it opens); the only scp export
			// is the IKE capture's, and only with a destination.
			var scps []string
			apiFacts := 0
			for _, e := range fw.dev.Log() {
				if e.CLI == "show system info" && strings.HasPrefix(e.Via, "api:") && apiFacts == 0 {
					apiFacts++
					continue
				}
				if !strings.HasPrefix(e.Via, "ssh:") {
					t.Errorf("command %q reached the device via %s, want ssh", e.CLI, e.Via)
				}
				if strings.HasPrefix(e.CLI, "scp export ") {
					scps = append(scps, e.CLI)
				}
			}
			wantScp := []string(nil)
			if withScp {
				wantScp = []string{"scp export debug-pcap from ikemgr.pcap to support@192.0.2.50:/cases/vpn"}
			}
			if !slices.Equal(scps, wantScp) {
				t.Errorf("scp exports %q, want %q", scps, wantScp)
			}

			// artifacts/: the four captures and the tech-support file.
			var got []string
			for _, a := range m.Artifacts {
				got = append(got, a.Category+" "+filepath.Base(a.Path))
				st, err := os.Stat(filepath.Join(dir, a.Path))
				if err != nil || st.Size() == 0 || st.Size() != a.Size {
					t.Errorf("artifact %s: %v (size %d)", a.Path, err, a.Size)
				}
			}
			for _, f := range pcapFiles {
				if !slices.Contains(got, "filter-pcap "+f) {
					t.Errorf("artifacts %q lack %s", got, f)
				}
			}
			if len(got) != 5 || !strings.HasPrefix(got[4], "tech-support ") {
				t.Errorf("artifacts %q, want the four captures and the tech-support file", got)
			}

			note := "`scp export debug-pcap from ikemgr.pcap to USER@HOST:PATH`"
			hasNote := slices.ContainsFunc(m.Notes, func(n string) bool { return strings.Contains(n, note) })
			if hasNote == withScp {
				t.Errorf("notes %q: the exact command %s listed: %t, want %t", m.Notes, note, hasNote, !withScp)
			}

			// summary.md and report.html say which way each command went.
			sum, err := os.ReadFile(filepath.Join(dir, "summary.md"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(sum), "| # | time (UTC) | step | command | via | status | output |") ||
				!strings.Contains(string(sum), "| debug ike global on debug | ssh | ok |") ||
				!strings.Contains(string(sum), "| export tech-support | xmlapi | ok |") {
				t.Errorf("summary.md does not show the transport of each command:\n%s", sum)
			}
			html, err := os.ReadFile(filepath.Join(dir, "report.html"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(html), "via xmlapi") || !strings.Contains(string(html), "via ssh") {
				t.Error("report.html does not show the transport of each command")
			}
		})
	}
}

// checkDualSteps checks the transport of every step of a dual run: run
// steps and the scp export over SSH, pulled exports over the XML API.
func checkDualSteps(t *testing.T, m *engine.Manifest, withScp bool) {
	t.Helper()
	for _, s := range m.Steps {
		want := ""
		switch {
		case s.Status == "skipped" || s.Kind == "prompt" || s.Kind == "note" || s.Kind == "wait":
		case s.Kind == "export" && s.ID == "ike_pcap":
			want = "ssh" // scp export debug-pcap, pushed by the device
		case s.Kind == "export":
			want = "xmlapi"
		default:
			want = "ssh"
		}
		if s.Transport != want {
			t.Errorf("step %s %q (%s): transport %q, want %q", s.ID, s.Command, s.Kind, s.Transport, want)
		}
		if s.Status != "ok" && s.Status != "skipped" && s.Status != "auto-continued" && !refusedDelete(s) {
			t.Errorf("step %s %q: %s (%s)", s.ID, s.Command, s.Status, s.Error)
		}
		if s.ID == "ike_pcap" && (s.Status == "ok") != withScp {
			t.Errorf("ike_pcap: %s, want ok only with a destination", s.Status)
		}
	}
	for _, u := range append(append([]engine.CleanupRecord(nil), m.Undo...), m.Cleanup...) {
		if u.Status == "ok" && u.Note == "" && u.Transport != "ssh" {
			t.Errorf("undo %q went via %q, want ssh", u.Command, u.Transport)
		}
	}
}

// TestDualRecordReplay records a run against a firewall reached both ways
// into one cassette, each exchange and export tagged with its transport,
// then replays it: the same commands, each over the same transport, the
// same artifacts.
func TestDualRecordReplay(t *testing.T) {
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sim.Phase1Down, Seed: 1, FreshSessions: true}, sec)
	w := newWorkspace(t, fw, sec)
	w.addDualTarget(t)
	cassette := filepath.Join(w.dir, "dual.yaml")
	_, code := w.run(t, w.dualArgs("phase1-down", "--record", cassette)...)
	if code != 0 {
		t.Fatalf("recording: exit %d", code)
	}
	recorded := checkRunFolder(t, w.runDir(t))
	b, err := os.ReadFile(cassette)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  transport: ssh+xmlapi\n", "    transport: ssh\n", "      transport: xmlapi\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the cassette lacks %q", want)
		}
	}
	// The tech-support file is too large to be inline: the cassette
	// points at the recorded run folder's copy, which stays.
	out := filepath.Join(w.dir, "replayed")
	p, code := w.run(t, "run", "phase1-down", "-t", targetDual, "--replay", cassette, "--yes", "-o", out)
	if code != 0 {
		t.Fatalf("replay: exit %d", code)
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "*", "manifest.json"))
	if len(dirs) != 1 {
		t.Fatalf("replay run folders: %q", dirs)
	}
	replayed := checkRunFolder(t, filepath.Dir(dirs[0]))
	b, _ = os.ReadFile(cassette)
	checkNoSecrets(t, sec, out, map[string][]byte{"cassette": b, "stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes()})
	steps := func(m manifest) []string {
		var out []string
		for _, s := range m.Steps {
			if s.Command != "" {
				out = append(out, s.Command+" via "+s.Transport+" => "+s.Status)
			}
		}
		return out
	}
	if a, b := steps(recorded), steps(replayed); !slices.Equal(a, b) {
		t.Errorf("the replay differs from the recording:\nrecorded:\n%s\nreplayed:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if len(replayed.Artifacts) != 5 {
		t.Errorf("replayed artifacts %+v, want the four captures and the tech-support file", replayed.Artifacts)
	}
	for i, a := range replayed.Artifacts {
		if i < len(recorded.Artifacts) && (a.SHA256 != recorded.Artifacts[i].SHA256 || a.Path != recorded.Artifacts[i].Path) {
			t.Errorf("artifact %s differs from the recorded %s", a.Path, recorded.Artifacts[i].Path)
		}
	}
}

// TestRefusedOverAPI runs phase1-down over the XML API alone against a
// firewall that answers its IKE and mprelay debug commands with "debug
// not available to xmlapi client": each is recorded refused with a note
// naming the CLI command to run, nothing is left to undo, and the rest of
// the evidence is collected. The run ends "done, 3 steps failed" (exit 1):
// the three switches (IKE capture, ikemgr and mprelay debug) are missing
// evidence, each with the step's note as the way to take it by hand; the
// refused level reads and capture delete take no evidence and are not.
func TestRefusedOverAPI(t *testing.T) {
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sim.Phase1Down, Seed: 1, FreshSessions: true,
		Refuse: []sim.Refusal{{Match: `^debug (ike|mprelay) `, Error: sim.RefuseXMLAPI}}}, sec)
	w := newWorkspace(t, fw, sec)
	p, code := w.run(t, w.runArgs("phase1-down", targetAPI, "50ms")...)
	if code != 1 {
		t.Errorf("exit %d, want 1 (evidence missing)", code)
	}
	if !strings.Contains(p.stderr.String(), "runbook: done, 3 steps failed") {
		t.Errorf("stderr lacks the outcome \"done, 3 steps failed\":\n%s", p.stderr.String())
	}
	dir := w.runDir(t)
	m := checkRunFolder(t, dir)
	checkNothingPending(t, dir, m)
	checkClean(t, fw.dev)
	checkNoSecrets(t, sec, dir, map[string][]byte{"stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes()})
	refused := map[string]bool{}
	for _, s := range m.Steps {
		ike := strings.HasPrefix(s.Command, "debug ike ") || strings.HasPrefix(s.Command, "debug mprelay ")
		switch {
		case ike && s.Status == "refused":
			refused[s.Command] = true
			if !strings.Contains(s.Note, "Run it on the firewall's CLI (SSH): `"+s.Command+"`") || !strings.Contains(s.Error, "debug not available to xmlapi client") {
				t.Errorf("refused %q: note %q error %q", s.Command, s.Note, s.Error)
			}
		case ike && s.Status == "skipped":
			// Switching back what the device refused to switch on: not needed.
		case ike:
			t.Errorf("%q: %s, want refused (or skipped: the switch back of a refused switch)", s.Command, s.Status)
		case s.ID == "ike_pcap":
			if s.Status != "skipped" {
				t.Errorf("ike_pcap: %s, want skipped (no API export)", s.Status)
			}
		case s.Status != "ok" && s.Status != "skipped" && s.Status != "auto-continued" && !refusedDelete(s):
			t.Errorf("step %s %q: %s (%s)", s.ID, s.Command, s.Status, s.Error)
		}
	}
	switches := []string{"debug ike pcap on", "debug ike global on debug", "debug mprelay on debug"}
	for _, cli := range switches {
		if !refused[cli] {
			t.Errorf("%q was not recorded refused", cli)
		}
	}
	var missing []string
	for _, ms := range m.Missing {
		missing = append(missing, ms.Command)
		if ms.Status != "refused" || !strings.Contains(ms.ByHand, "Run it on the firewall's CLI (SSH): `"+ms.Command+"`") || !strings.Contains(ms.Error, "debug not available to xmlapi client") {
			t.Errorf("missing evidence %+v: want refused, with the step's note", ms)
		}
	}
	if !slices.Equal(missing, switches) {
		t.Errorf("missing evidence %q, want %q", missing, switches)
	}
	note := "Run it on the firewall's CLI (SSH): `debug ike global on debug`, then `one of: \"debug ike global off\", \"debug ike global on normal\"` once the evidence is taken"
	if !slices.ContainsFunc(m.Notes, func(n string) bool { return strings.Contains(n, note) }) {
		t.Errorf("notes %q lack %q", m.Notes, note)
	}
	// Nothing the device refused is undone; what it ran is.
	for _, u := range m.Undo {
		if strings.HasPrefix(u.Command, "debug ike ") || strings.HasPrefix(u.Command, "debug mprelay ") {
			if u.Note == "" || u.Transport != "" {
				t.Errorf("undo %q of a refused command: %+v, want not sent", u.Command, u)
			}
		}
	}
	if len(m.Artifacts) != 5 {
		t.Errorf("artifacts %+v, want the four captures and the tech-support file", m.Artifacts)
	}
	sum, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	if !strings.Contains(string(sum), note) {
		t.Error("summary.md lacks the note")
	}
}
