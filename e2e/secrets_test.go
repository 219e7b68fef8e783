package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/sim"
)

// trickySecrets are secrets that once broke the run folder or leaked: common
// words that are also journal keys, event names or playbook commands, very
// short ones, one with a space, and characters that JSON, XML, URLs and
// Markdown escape.
var trickySecrets = []string{"undo", "command", "debug", "a", "ab", "x y", `"q'`, `<&%\`, "pässwörd"}

// matrixPlaybook uses a secret parameter in a command the simulator does
// not know: the device answers "Unknown command: <first word>", echoing it.
const matrixPlaybook = `name: secret-matrix
title: A secret parameter in a command
params:
  token: {type: secret, required: true}
  interval: {type: duration, default: 1s}
steps:
  - run: debug ike pcap on
    undo: debug ike pcap off
  - run: debug ike global on debug
    undo: debug ike global on normal
  - run: show ${params.token}
    on_error: continue
  - wait: ${params.interval}
  - run: show clock
cleanup:
  - run: show clock
`

// TestSecretMatrix runs, for each tricky secret as the SSH password and as
// a secret parameter used in a command, a live run over SSH and a run
// killed with SIGKILL then finished by `runbook cleanup`. Every file of the
// run folder and every byte printed is searched for the secret in each of
// its forms; the device must end clean and the undo commands must be the
// playbook's, untouched.
func TestSecretMatrix(t *testing.T) {
	for _, s := range trickySecrets {
		for _, role := range []string{"ssh-password", "param"} {
			for _, kill := range []bool{false, true} {
				name := fmt.Sprintf("%s/%q", role, s)
				if kill {
					name += "/SIGKILL"
				}
				t.Run(name, func(t *testing.T) { secretRun(t, s, role, kill) })
			}
		}
	}
}

func secretRun(t *testing.T, s, role string, kill bool) {
	sec := newSecrets(t)
	token := "tok-" + sec.apiKey // distinctive unless it is the secret under test
	if role == "ssh-password" {
		sec.sshPassword = s
	} else {
		token = s
	}
	fw := startFirewall(t, sim.Options{Scenario: sim.Healthy}, sec)
	w := newWorkspace(t, fw, sec)
	pb := filepath.Join(w.dir, "matrix.yaml")
	if err := os.WriteFile(pb, []byte(matrixPlaybook), 0o600); err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(w.dir, "token")
	if err := os.WriteFile(tokFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	interval := "1s"
	if kill {
		interval = longInterval
	}
	// --json: the event stream on stdout is searched too.
	args := []string{"run", pb, "-i", w.inventory(), "-t", targetSSH, "--yes", "--json", "-o", w.out(),
		"-p", "token=file:" + tokFile, "-p", "interval=" + interval}
	streams := map[string][]byte{}
	var dir string
	if kill {
		p := w.start(t, args...)
		dir = w.waitJournalCount(t, p, "step-end", 3) // in the wait, after the secret command
		p.signal(t, syscall.SIGKILL)
		if code := p.wait(t); code != -1 {
			t.Fatalf("exit %d, want killed by a signal", code)
		}
		if ok, _ := fw.dev.Clean(); ok {
			t.Fatal("device clean right after SIGKILL: the test proves nothing")
		}
		streams["run stdout"], streams["run stderr"] = p.stdout.Bytes(), p.stderr.Bytes()
		c, code := w.run(t, "cleanup", dir, "-i", w.inventory())
		if code != 0 {
			t.Errorf("cleanup: exit %d, want 0\n%s", code, c.stderr.String())
		}
		streams["cleanup stdout"], streams["cleanup stderr"] = c.stdout.Bytes(), c.stderr.Bytes()
	} else {
		p, code := w.run(t, args...)
		if code != 0 {
			t.Errorf("run: exit %d, want 0", code)
		}
		dir = w.runDir(t)
		streams["run stdout"], streams["run stderr"] = p.stdout.Bytes(), p.stderr.Bytes()
		checkStream(t, p.stdout.Bytes())
	}
	checkClean(t, fw.dev)
	m := checkRunFolder(t, dir)
	checkNothingPending(t, dir, m)
	// The undo commands are the playbook's, whatever the secret.
	var undone []string
	for _, u := range m.Undo {
		if u.Status == "ok" {
			undone = append(undone, u.Command)
		}
	}
	if want := []string{"debug ike global on normal", "debug ike pcap off"}; !slices.Equal(undone, want) {
		t.Errorf("manifest: undo %q, want %q", undone, want)
	}
	// The device saw the secret (the test would prove nothing otherwise).
	if role == "param" && !slices.ContainsFunc(fw.dev.Log(), func(e sim.LogEntry) bool { return e.CLI == "show "+s }) {
		t.Errorf("the device never received %q", "show "+s)
	}
	for _, l := range leaks(t, s, dir, streams) {
		t.Error(l)
	}
	checkNoSecrets(t, secrets{apiKey: sec.apiKey, apiPassword: sec.apiPassword, scpPassword: sec.scpPassword, sshPassword: distinct(sec.sshPassword)}, dir, streams)
}

// checkStream checks that the --json stream is whole: only events, the
// secret command among the steps, ended with exit 0. (leaks and
// checkNoSecrets search it for the secret.)
func checkStream(t *testing.T, b []byte) {
	t.Helper()
	var steps, ended int
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var e engine.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.V != engine.EventSchema {
			t.Fatalf("stdout line %q is not an event (%v)", line, err)
		}
		switch e.Type {
		case engine.EvStepEnded:
			steps++
		case engine.EvRunEnded:
			ended++
			if e.ExitCode == nil || *e.ExitCode != 0 {
				t.Errorf("run-ended %+v, want exit 0", e)
			}
		}
	}
	if steps != 4 || ended != 1 {
		t.Errorf("stream: %d step-ended, %d run-ended; want 4 and 1:\n%s", steps, ended, b)
	}
}

// waitJournalCount polls the journal of the run p is writing until it
// holds n entries of the event, and returns the run folder.
func (w *workspace) waitJournalCount(t *testing.T, p *proc, event string, n int) string {
	t.Helper()
	deadline := time.After(journalTimeout)
	for {
		select {
		case <-p.done:
			t.Fatalf("runbook ended (exit %d) before the journal showed %d %s\nstderr:\n%s", p.cmd.ProcessState.ExitCode(), n, event, p.stderr.String())
		case <-deadline:
			t.Fatalf("no %d %s in the journal within %v", n, event, journalTimeout)
		case <-time.After(20 * time.Millisecond):
		}
		m, _ := filepath.Glob(filepath.Join(w.out(), "*", "journal.jsonl"))
		if len(m) != 1 {
			continue
		}
		entries, err := engine.ReadJournal(m[0])
		if err != nil {
			continue
		}
		c := 0
		for _, e := range entries {
			if e.Event == event {
				c++
			}
		}
		if c >= n {
			return filepath.Dir(m[0])
		}
	}
}

// distinct returns s when finding it in the output can only mean a leak,
// else a value that is never found.
func distinct(s string) string {
	if len(s) >= 12 {
		return s
	}
	return "\x00never\x00"
}

// forms are the ways a secret may be written in a file or a stream.
func forms(s string) []string {
	var out []string
	add := func(f string) {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	add(s)
	j, _ := json.Marshal(s)
	add(string(j[1 : len(j)-1]))
	var x bytes.Buffer
	_ = xml.EscapeText(&x, []byte(s))
	add(x.String())
	add(url.QueryEscape(s))
	add(url.PathEscape(s))
	add(base64.StdEncoding.EncodeToString([]byte(s)))
	return out
}

// leaks searches every file under dir and every stream for s, in each of
// its forms, and for the words the device echoes it in. A form of 4 bytes
// or more that is a word of the run's own text (a command of the playbook,
// a journal key) is searched in the contexts it leaks in only: after
// "show " (the command), after "command: " (the device's echo) and as a
// JSON string.
func leaks(t *testing.T, s, dir string, streams map[string][]byte) []string {
	t.Helper()
	first := strings.Fields(s)[0]
	var needles []string
	for _, f := range forms(s) {
		needles = append(needles, "show "+f, "command: "+f)
	}
	for _, f := range forms(first) {
		needles = append(needles, "command: "+f+"\n", "command: "+f+`"`, "command: "+f+" ", "command: "+f+`\n`)
	}
	if len(s) >= 4 && !ownWord(s) {
		needles = append(needles, forms(s)...)
	}
	var out []string
	find := func(where string, b []byte) {
		for _, n := range needles {
			if i := bytes.Index(b, []byte(n)); i >= 0 && token(b, i, len(n)) {
				out = append(out, fmt.Sprintf("%s holds the secret as %q at byte %d", where, n, i))
			}
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		find(path, []byte(path))
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		find(path, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range streams {
			if !yield(k) {
				return
			}
		}
	}) {
		find(k, streams[k])
	}
	return out
}

// ownWord reports whether s is a word the run folder holds anyway.
func ownWord(s string) bool {
	return strings.Contains(matrixPlaybook+" journal event step-start step-end undo-intent undo-armed cleanup-entry", s)
}

// token reports whether b[i:i+n] is not glued to a letter or digit after
// it (a needle ending in a word character must end the word).
func token(b []byte, i, n int) bool {
	r, _ := utf8.DecodeLastRune(b[i : i+n])
	if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
		return true
	}
	next, _ := utf8.DecodeRune(b[i+n:])
	return i+n >= len(b) || !(unicode.IsLetter(next) || unicode.IsDigit(next))
}
