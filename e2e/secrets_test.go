package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/sim"
)

// trickySecrets are secrets that once broke the run folder or leaked: common
// words that are also journal keys, event names or playbook commands, very
// short ones (one a prefix of a PAN-OS word), one with a space, and
// characters that JSON, XML, URLs and Markdown escape.
var trickySecrets = []string{"undo", "command", "debug", "deb", "a", "ab", "x y", `"q'`, `<&%\`, "pässwörd"}

// matrixPlaybook uses a secret parameter in two commands: one the
// simulator does not know (over SSH the device answers "Unknown command:
// <first word>", echoing it; the XML API client cannot convert it and says
// so), and one that takes it as a value on both ways in. It exports the
// tech-support file: over SSH with `scp export`, answering the scp
// password; over the XML API by pulling it (a job polled once a second, so
// only some cases do: see the export parameter).
const matrixPlaybook = `name: secret-matrix
title: A secret parameter in a command
params:
  token: {type: secret, required: true}
  interval: {type: duration, default: 1s}
  export: {type: bool, default: true}
  scp_to: {type: string}
  scp_password: {type: secret}
steps:
  - run: debug ike pcap on
    undo: debug ike pcap off
  - run: debug ike global on debug
    undo: debug ike global on normal
  - run: show ${params.token}
    on_error: continue
  - run: show vpn ipsec-sa tunnel ${params.token}
    on_error: continue
  - export: tech-support
    when: params.export
    scp: {to: "${params.scp_to}", password: "${params.scp_password}"}
  - wait: ${params.interval}
  - run: show clock
cleanup:
  - run: show clock
`

// matrixRoles are where a secret goes and the way in it is used over.
var matrixRoles = []struct {
	name string
	over transportCase
	set  func(sec *secrets, token *string, s string)
}{
	{"ssh-password", overSSH, func(sec *secrets, _ *string, s string) { sec.sshPassword = s }},
	{"api-key", overAPI, func(sec *secrets, _ *string, s string) { sec.apiKey = s }},
	{"keygen-password", overKeygen, func(sec *secrets, _ *string, s string) { sec.apiPassword = s }},
	{"scp-password", overSSH, func(sec *secrets, _ *string, s string) { sec.scpPassword = s }},
	{"param", overSSH, func(_ *secrets, token *string, s string) { *token = s }},
	{"param", overAPI, func(_ *secrets, token *string, s string) { *token = s }},
}

// matrixModes are the ways a run ends. Every run writes everything it
// can: the --json stream, a --record cassette, a --session-log and a
// --bundle.
var matrixModes = []string{"live", "SIGINT", "SIGKILL"}

// TestSecretMatrix runs every tricky secret in every role (SSH password,
// XML API key, keygen password, scp password, secret parameter used in a
// command over SSH and over the XML API) in every mode (a live run; a run
// interrupted by SIGINT in the wait; a run killed by SIGKILL in the wait,
// then `runbook cleanup`), each run with --json, --record, --session-log
// and --bundle. Every file written (the run folder, the cassette, the
// session log, each member of the bundle) and every byte printed is
// searched for the secret in each of its forms; the device must end clean
// and as found, nothing pending, and the undo commands must be the
// playbook's, untouched.
func TestSecretMatrix(t *testing.T) {
	type matrixCase struct {
		s    string
		role int
		mode string
	}
	var cases []matrixCase
	for _, s := range trickySecrets {
		for r := range matrixRoles {
			for _, mode := range matrixModes {
				cases = append(cases, matrixCase{s, r, mode})
			}
		}
	}
	pool(t, len(cases), func(i int) {
		c := cases[i]
		r := matrixRoles[c.role]
		t.Run(fmt.Sprintf("%s/%s/%q/%s", r.name, r.over.name, c.s, c.mode), func(t *testing.T) {
			secretRun(t, c.s, c.role, c.mode)
		})
	})
}

func secretRun(t *testing.T, s string, role int, mode string) {
	r := matrixRoles[role]
	sec := newSecrets(t)
	token := "tok-" + sec.apiKey // distinctive unless it is the secret under test
	r.set(&sec, &token, s)
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
	// The inputs hold the secrets on purpose; everything else under w.dir
	// was written by runbook.
	inputs := map[string]bool{pb: true, tokFile: true, w.inventory(): true,
		filepath.Join(w.dir, "known_hosts"): true, filepath.Join(w.dir, "api-password"): true}
	// Over the XML API the export is a job the client polls once a second:
	// it runs with the API key as the secret, live.
	export := r.over.name == overSSH.name || (r.name == "api-key" && mode == "live")
	interval := "50ms"
	if mode != "live" {
		interval = longInterval
	}
	args := []string{"run", pb, "-i", w.inventory(), "-t", r.over.target, "--yes", "-o", w.out(),
		"-p", "token=file:" + tokFile, "-p", "interval=" + interval, "-p", fmt.Sprintf("export=%t", export),
		"-p", "scp_to=support@192.0.2.50:/cases/vpn", "-p", "scp_password=env:E2E_SCP_PASSWORD",
		"--json", "--record", filepath.Join(w.dir, "cassette.yaml"),
		"--session-log", filepath.Join(w.dir, "session.log"), "--bundle"}
	// The steps before the wait: the secret commands and the export (a
	// step whose when: is false ends with no step-end).
	ends := 4
	if export {
		ends = 5
	}
	streams := map[string][]byte{}
	var dir string
	switch mode {
	case "live":
		// The device refuses `show <token>`: its evidence is missing (the
		// list redacted as everything else), so the run ends incomplete.
		p, code := w.run(t, args...)
		if code != 1 {
			t.Errorf("run: exit %d, want 1 (the refused step's evidence is missing)", code)
		}
		dir = w.runDir(t)
		streams["run stdout"], streams["run stderr"] = p.stdout.Bytes(), p.stderr.Bytes()
		checkStream(t, p.stdout.Bytes(), 1, ends)
	case "SIGINT", "SIGKILL":
		p := w.start(t, args...)
		dir = w.waitJournalCount(t, p, "step-end", ends)
		if ok, _ := fw.dev.Clean(); ok {
			t.Fatal("device clean while debug is on: the test proves nothing")
		}
		sig, want := syscall.SIGINT, 130
		if mode == "SIGKILL" {
			sig, want = syscall.SIGKILL, -1
		}
		p.signal(t, sig)
		if code := p.wait(t); code != want {
			t.Fatalf("exit %d, want %d\nstderr:\n%s", code, want, p.stderr.String())
		}
		streams["run stdout"], streams["run stderr"] = p.stdout.Bytes(), p.stderr.Bytes()
		if mode == "SIGINT" {
			checkStream(t, p.stdout.Bytes(), 130, ends)
			break
		}
		if ok, _ := fw.dev.Clean(); ok {
			t.Fatal("device clean right after SIGKILL: the test proves nothing")
		}
		c, code := w.run(t, "cleanup", dir, "-i", w.inventory())
		if code != 0 {
			t.Errorf("cleanup: exit %d, want 0\n%s", code, c.stderr.String())
		}
		streams["cleanup stdout"], streams["cleanup stderr"] = c.stdout.Bytes(), c.stderr.Bytes()
	}
	checkClean(t, fw.dev)
	if ok, found, now := fw.dev.AsFound(); !ok {
		t.Errorf("device not as found:\nfound:\n%s\nnow:\n%s", found, now)
	}
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
	// The secret was used (the test would prove nothing otherwise).
	log := fw.dev.Log()
	// (Over the XML API a secret holding a quote cannot be converted to
	// XML and is never sent: the client's error is searched instead.)
	if r.name == "param" && (r.over.name == overSSH.name || !strings.Contains(s, `"`)) {
		sent := "show vpn ipsec-sa tunnel " + s
		if r.over.name == overSSH.name {
			sent = "show " + s
		}
		if !slices.ContainsFunc(log, func(e sim.LogEntry) bool { return e.CLI == sent }) {
			t.Errorf("the device never received %q", sent)
		}
	}
	if r.name == "scp-password" && !slices.ContainsFunc(log, func(e sim.LogEntry) bool { return strings.HasPrefix(e.CLI, "scp export tech-support ") }) {
		t.Error("the device never received the scp export")
	}
	files := written(t, w.dir, inputs)
	// What each mode must have written, so that the search covers it.
	want := []string{filepath.Join(w.dir, "session.log")}
	if mode != "SIGKILL" {
		want = append(want, filepath.Join(w.dir, "cassette.yaml"), dir+".tar.gz", dir+".tar.gz:"+filepath.Base(dir)+"/journal.jsonl")
	}
	for _, f := range want {
		if len(files[f]) == 0 {
			t.Errorf("%s: missing or empty", f)
		}
	}
	checkShortRule(t, s, r.over.name, files[filepath.Join(w.dir, "session.log")])
	for _, l := range leaks(s, files, streams) {
		t.Error(l)
	}
	others := secrets{apiKey: distinct(sec.apiKey), apiPassword: distinct(sec.apiPassword), scpPassword: distinct(sec.scpPassword), sshPassword: distinct(sec.sshPassword)}
	for _, l := range findIn(others, files, streams) {
		t.Error(l)
	}
}

// innocent are texts of the session log of a matrix run (over SSH, over
// the XML API) that hold a short secret of the matrix inside a longer word.
var innocent = map[string][]string{
	overSSH.name: {"debug ike pcap on", "ipsec sa found", "Total 0 tunnels found"},
	overAPI.name: {"<debug><ike><pcap><on>", "ipsec sa found", "Total 0 tunnels found"},
}

// checkShortRule checks the short-secret rule (docs/run-folder.md,
// "Secrets"): a secret shorter than secret.MinAnywhere is hidden as a
// whole token only, so the device's words that merely contain it (the
// "a" of "ipsec sa", the "deb" of "debug") are still in the session log.
func checkShortRule(t *testing.T, s, over string, log []byte) {
	t.Helper()
	if len(s) >= secret.MinAnywhere {
		return
	}
	if over == overKeygen.name {
		over = overAPI.name
	}
	for _, txt := range innocent[over] {
		if strings.Contains(txt, s) && !bytes.Contains(log, []byte(txt)) {
			t.Errorf("session log lacks %q: a %d-byte secret scrubbed a longer word", txt, len(s))
		}
	}
}

// written reads every file under dir but the inputs, and each member of
// every .tar.gz bundle among them (named "bundle.tar.gz:member").
func written(t *testing.T, dir string, inputs map[string]bool) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || inputs[path] {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[path] = b
		if strings.HasSuffix(path, ".tar.gz") {
			if err := untar(path, b, files); err != nil {
				return fmt.Errorf("bundle %s: %w", path, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// untar adds each member of the .tar.gz b to files.
func untar(name string, b []byte, files map[string][]byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		body, err := io.ReadAll(io.LimitReader(tr, 64<<20))
		if err != nil {
			return err
		}
		files[name+":"+h.Name] = body
		n++
	}
	if n == 0 {
		return errors.New("no member")
	}
	return nil
}

// checkStream checks that the --json stream is whole: only events, ended
// with the exit code. (leaks searches it for the secret.)
func checkStream(t *testing.T, b []byte, exit, minSteps int) {
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
			if e.ExitCode == nil || *e.ExitCode != exit {
				t.Errorf("run-ended %+v, want exit %d", e, exit)
			}
		}
	}
	if steps < minSteps || ended != 1 {
		t.Errorf("stream: %d step-ended, %d run-ended; want %d or more and 1:\n%s", steps, ended, minSteps, b)
	}
}

// leaks searches every file (its name and its bytes) and every stream for
// s, in each of its forms, and for the words the device echoes it in. A
// secret of 4 bytes or more that is not a word of the run's own text is
// searched everywhere. A shorter one, or one that is a word the run folder
// holds anyway (a command of the playbook, a journal key), is searched in
// every context it could leak in: after "show " (the command), after
// "command: " (the device's echo), as a login or scp password, as an API
// key (header, parameter, keygen answer) and as a whole JSON string.
func leaks(s string, files, streams map[string][]byte) []string {
	first := strings.Fields(s)[0]
	var needles []string
	for _, f := range forms(s) {
		for _, ctx := range []string{"show ", "-> ", "tunnel ", "<tunnel>", "Unknown command: ", "password: ", "password=", "key=", "X-PAN-KEY: ", "<key>", "'s password: "} {
			needles = append(needles, ctx+f)
		}
	}
	for _, f := range forms(s) {
		needles = append(needles, "<show><"+f+">")
	}
	// A whole JSON string value (not a key: "undo" and "command" are keys).
	j, _ := json.Marshal(s)
	for _, pre := range []string{`:`, `: `, `[`, `,`, `, `} {
		for _, post := range []string{`,`, `]`, `}`, "\n"} {
			needles = append(needles, pre+string(j)+post)
		}
	}
	for _, f := range forms(first) {
		needles = append(needles, "Unknown command: "+f+"\n", "Unknown command: "+f+`"`, "Unknown command: "+f+" ", "Unknown command: "+f+`\n`)
	}
	if len(s) >= 4 && !ownWord(s) {
		needles = append(needles, forms(s)...)
	}
	var out []string
	find := func(where string, b []byte) {
		b = structure.ReplaceAll(b, nil)
		for _, n := range needles {
			if i := bytes.Index(b, []byte(n)); i >= 0 && token(b, i, len(n)) {
				out = append(out, fmt.Sprintf("%s holds the secret as %q at byte %d", where, n, i))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(files)) {
		find(k+" (name)", []byte(k))
		find(k, files[k])
	}
	for _, k := range slices.Sorted(maps.Keys(streams)) {
		find(k, streams[k])
	}
	return out
}

// structure matches the JSON fields whose values are words of the format
// (a cleanup entry's label), not text: leaks leaves them out.
var structure = regexp.MustCompile(`"label": ?"(undo|cleanup)"`)

// findIn searches the files and streams for every secret of sec, naming
// the secret by its kind, never printing it.
func findIn(sec secrets, files, streams map[string][]byte) []string {
	var out []string
	find := func(where string, b []byte) {
		for _, s := range sec.all() {
			if bytes.Contains(b, []byte(s)) {
				out = append(out, fmt.Sprintf("%s holds a secret (%s...)", where, s[:min(len(s), 6)]))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(files)) {
		find(k, files[k])
	}
	for _, k := range slices.Sorted(maps.Keys(streams)) {
		find(k, streams[k])
	}
	return out
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
