package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/sim"
)

// bin is the runbook binary TestMain builds.
var bin string

// Bounds on everything the tests wait for. They are generous: a bound that
// is hit is a failure (a hung run), never a timing assertion.
const (
	processTimeout = 90 * time.Second // one runbook process
	journalTimeout = 30 * time.Second // a journal event to appear
	waitDelay      = 5 * time.Second  // after cancel, for the pipes to close
)

func TestMain(m *testing.M) {
	if os.Getenv(readerRole) != "" {
		os.Exit(reader())
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "runbook-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "runbook")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/runbook-dev/runbook/cmd/runbook").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build runbook: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// secrets are the credentials of one test, random so that finding one in
// the output can only mean it leaked.
type secrets struct {
	sshPassword string // the SSH login, given as env:E2E_SSH_PASSWORD
	apiKey      string // the XML API key, given as env:E2E_API_KEY
	apiPassword string // the XML API account for keygen, given as file:
	scpPassword string // the scp_password parameter, env:E2E_SCP_PASSWORD
}

func newSecrets(t testing.TB) secrets {
	t.Helper()
	r := func(prefix string) string {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return prefix + hex.EncodeToString(b)
	}
	return secrets{sshPassword: r("sshpw-"), apiKey: r("apikey-"), apiPassword: r("apipw-"), scpPassword: r("scppw-")}
}

// all lists every secret plus the prefix of the keys the simulator's
// keygen makes ("LUFRPT..."), which the test cannot know in advance.
func (s secrets) all() []string {
	return []string{s.sshPassword, s.apiKey, s.apiPassword, s.scpPassword, "LUFRPT"}
}

// firewall is one simulated device behind an SSH server and an XML API
// server, both on 127.0.0.1.
type firewall struct {
	dev         *sim.Device
	sshPort     int
	apiPort     int
	hostKey     ssh.PublicKey // the SSH server's host key
	fingerprint string        // tls.fingerprint of the API's certificate
}

func startFirewall(t *testing.T, o sim.Options, s secrets) *firewall {
	t.Helper()
	if o.ScpPassword == "" {
		o.ScpPassword = s.scpPassword
	}
	dev := sim.NewDevice(o)
	sshSrv, err := sim.NewSSHServer(dev, sim.SSHConfig{User: "admin", Password: s.sshPassword})
	if err != nil {
		t.Fatal(err)
	}
	apiSrv, err := sim.NewAPIServer(dev, sim.APIConfig{User: "admin", Password: s.apiPassword, APIKey: s.apiKey, JobPolls: 1})
	if err != nil {
		t.Fatal(err)
	}
	sshLn := listen(t)
	apiLn := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = sshSrv.Serve(ctx, sshLn); done <- struct{}{} }()
	go func() { _ = apiSrv.Serve(ctx, apiLn); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		sshLn.Close()
		apiLn.Close()
		for range 2 {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("simulator did not stop within 10s")
				return
			}
		}
	})
	sshAddr := sshLn.Addr().(*net.TCPAddr)
	return &firewall{
		dev:         dev,
		sshPort:     sshAddr.Port,
		apiPort:     apiLn.Addr().(*net.TCPAddr).Port,
		hostKey:     sshSrv.HostKey(),
		fingerprint: apiSrv.Fingerprint(),
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln := listen(t)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// The inventory's targets: one per way in.
const (
	targetSSH    = "fw-ssh"        // password from env:
	targetAPI    = "fw-api"        // api_key from env:
	targetKeygen = "fw-api-keygen" // user + password (file:) for keygen
)

// workspace is a test's directory: inventory, known_hosts, the API
// password file, and out/ for the run folders.
type workspace struct {
	dir string
	sec secrets
	fw  *firewall
}

func newWorkspace(t *testing.T, fw *firewall, sec secrets) *workspace {
	t.Helper()
	w := &workspace{dir: t.TempDir(), sec: sec, fw: fw}
	w.writeInventory(t, fw.sshPort, fw.apiPort)
	return w
}

func (w *workspace) inventory() string { return filepath.Join(w.dir, "inventory.yaml") }
func (w *workspace) out() string       { return filepath.Join(w.dir, "out") }

// writeInventory writes the three targets, reaching the given ports, with
// the topology's parameters.
func (w *workspace) writeInventory(t *testing.T, sshPort, apiPort int) {
	t.Helper()
	kh := filepath.Join(w.dir, "known_hosts")
	pwFile := filepath.Join(w.dir, "api-password")
	// The host key is known at the port the inventory reaches (the
	// simulator's, or a gate's in front of it).
	khLine := knownhosts.Line([]string{knownhosts.Normalize(fmt.Sprintf("127.0.0.1:%d", sshPort))}, w.fw.hostKey)
	if err := os.WriteFile(kh, []byte(khLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pwFile, []byte(w.sec.apiPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	topo := w.fw.dev.Topology()
	p := topo.Params()
	p["vr"] = topo.VirtualRouter
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var params strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&params, "      %s: %q\n", k, p[k])
	}
	inv := fmt.Sprintf(`targets:
  %[1]s:
    transport: ssh
    host: 127.0.0.1
    port: %[4]d
    user: admin
    password: env:E2E_SSH_PASSWORD
    known_hosts: %[6]q
    params:
%[8]s  %[2]s:
    transport: xmlapi
    host: 127.0.0.1
    port: %[5]d
    api_key: env:E2E_API_KEY
    tls: {fingerprint: %[9]q}
    params:
%[8]s  %[3]s:
    transport: xmlapi
    host: 127.0.0.1
    port: %[5]d
    user: admin
    password: %[7]q
    tls: {fingerprint: %[9]q}
    params:
%[8]s`, targetSSH, targetAPI, targetKeygen, sshPort, apiPort, kh, "file:"+pwFile, params.String(), w.fw.fingerprint)
	if err := os.WriteFile(w.inventory(), []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
}

// env is the environment of a runbook process: this one's, without
// anything that could point it at other credentials, plus the secrets the
// inventory refers to.
func (w *workspace) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PANOS_") || strings.HasPrefix(k, "RUNBOOK_") || strings.HasPrefix(k, "E2E_") || k == "SSH_AUTH_SOCK" || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+w.dir,
		"E2E_SSH_PASSWORD="+w.sec.sshPassword,
		"E2E_API_KEY="+w.sec.apiKey,
		"E2E_SCP_PASSWORD="+w.sec.scpPassword,
	)
}

// runArgs are the arguments of `runbook run` for a playbook against a
// target, with short waits. Over SSH the scp destination and password are
// parameters too: the device pushes the exports with `scp export`, and
// the simulator accepts only the scp password. Over the XML API the
// transport pulls the files itself, and the IKE capture, which has no API
// export, is skipped with a note.
func (w *workspace) runArgs(playbook, target, interval string) []string {
	args := []string{"run", playbook, "-i", w.inventory(), "-t", target, "-p", "interval=" + interval, "--yes", "-o", w.out()}
	if target == targetSSH {
		args = append(args, "-p", "scp_to=support@192.0.2.50:/cases/vpn", "-p", "scp_password=env:E2E_SCP_PASSWORD")
	}
	return args
}

// proc is a running runbook process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
}

// syncBuffer is a bytes.Buffer the test may read while the process writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }

// start starts runbook with args in w's directory; the process is killed
// when the test ends if it is still running.
func (w *workspace) start(t *testing.T, args ...string) *proc {
	t.Helper()
	return w.startWith(t, nil, args...)
}

// startWith is start with setup changing the command before it starts
// (its output streams, its process group).
func (w *workspace) startWith(t *testing.T, setup func(*exec.Cmd), args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Dir = w.dir
	p.cmd.Env = w.env()
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = waitDelay
	if setup != nil {
		setup(p.cmd)
	}
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start runbook: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process (bounded by processTimeout) and returns its
// exit code, -1 if a signal killed it.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	<-p.done
	if p.cmd.ProcessState == nil {
		t.Fatal("runbook: no process state")
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// run runs runbook to the end and returns its exit code.
func (w *workspace) run(t *testing.T, args ...string) (*proc, int) {
	t.Helper()
	p := w.start(t, args...)
	code := p.wait(t)
	t.Logf("runbook %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, p.stderr.String())
	return p, code
}

// runDir is the one run folder under out/.
func (w *workspace) runDir(t *testing.T) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(w.out(), "*", "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 {
		t.Fatalf("want one run folder under %s, found %d", w.out(), len(m))
	}
	return filepath.Dir(m[0])
}

// waitJournal polls the journal of the run p is writing until an entry
// with the event (and, if command is not "", the command) appears, and
// returns the run folder. It fails if the process ends first or nothing
// shows up within journalTimeout.
func (w *workspace) waitJournal(t *testing.T, p *proc, event, command string) string {
	t.Helper()
	return w.waitJournalFunc(t, p, event+" "+command, func(e engine.JournalEntry) bool {
		return e.Event == event && (command == "" || e.Command == command)
	})
}

// pollJournals polls (every 10 ms, for journalTimeout at most) the
// journals journals returns until match holds for the entries of one, and
// returns its run folder. It fails if p ends first or none matches in
// time; what names what it waits for.
func pollJournals(t *testing.T, p *proc, what string, journals func() []string, match func([]engine.JournalEntry) bool) string {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(journalTimeout)
	for {
		select {
		case <-p.done:
			t.Fatalf("runbook ended (exit %d) before the journal showed %s\nstderr:\n%s", p.cmd.ProcessState.ExitCode(), what, p.stderr.String())
		case <-deadline:
			t.Fatalf("no %s in the journal within %v", what, journalTimeout)
		case <-tick.C:
		}
		for _, j := range journals() {
			if entries, err := engine.ReadJournal(j); err == nil && match(entries) {
				return filepath.Dir(j)
			}
		}
	}
}

// killHeld kills the run p (SIGKILL) while fw holds a command, clears
// fw's faults, and checks the kill left the device dirty: what cleans it
// up after that proves something.
func killHeld(t *testing.T, fw *firewall, p *proc) {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
	if code := p.wait(t); code != -1 {
		t.Fatalf("exit %d, want killed", code)
	}
	fw.dev.SetFaults(sim.Faults{})
	if ok, _ := fw.dev.Clean(); ok {
		t.Fatal("device clean right after SIGKILL: the test proves nothing")
	}
}

// checkInterrupted checks what an interrupted run left once it ended (or
// `runbook cleanup` ended it): the device clean, the run folder dir
// finished with nothing pending, status interrupted and exit 130. It
// returns the manifest.
func checkInterrupted(t *testing.T, fw *firewall, dir string) *engine.Manifest {
	t.Helper()
	checkClean(t, fw.dev)
	m := checkRunFolder(t, dir)
	checkNothingPending(t, dir, m)
	if m.Status != "interrupted" || m.ExitCode != 130 {
		t.Errorf("manifest: status %q exit %d, want interrupted 130", m.Status, m.ExitCode)
	}
	return m
}

// finished are the files of a run folder whose run ended.
var finished = []string{"manifest.json", "summary.md", "journal.jsonl", "report.html"}

// checkRunFolder checks the run folder holds the files (finished when
// none are named) and returns its manifest.
func checkRunFolder(t *testing.T, dir string, files ...string) *engine.Manifest {
	t.Helper()
	if len(files) == 0 {
		files = finished
	}
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("run folder: %v", err)
		} else if st.Size() == 0 {
			t.Errorf("run folder: %s is empty", f)
		}
	}
	m, err := engine.ReadManifest(dir)
	if err != nil {
		t.Fatalf("run folder: %v", err)
	}
	return m
}

// checkNothingPending checks the journal leaves nothing to undo and the
// manifest lists no pending cleanup.
func checkNothingPending(t *testing.T, dir string, m *engine.Manifest) {
	t.Helper()
	entries, err := engine.ReadJournal(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if p := engine.Pending(entries); len(p) > 0 {
		t.Errorf("journal: %d undo/cleanup command(s) still pending: %+v", len(p), p)
	}
	if m != nil && len(m.CleanupPending) > 0 {
		t.Errorf("manifest: cleanup_pending = %q", m.CleanupPending)
	}
}

// checkClean checks every debug and capture switch of the device is back
// to its default.
func checkClean(t *testing.T, dev *sim.Device) {
	t.Helper()
	if ok, on := dev.Clean(); !ok {
		t.Errorf("device NOT clean: %s", strings.Join(on, ", "))
	}
}

// checkNoSecrets greps every byte of every file under dir, and the
// captured streams, for every secret.
func checkNoSecrets(t *testing.T, sec secrets, dir string, streams map[string][]byte) {
	t.Helper()
	leaks, files, err := findSecrets(sec, dir, streams)
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Errorf("no file under %s to check", dir)
	}
	for _, l := range leaks {
		t.Error(l)
	}
}

// findSecrets returns where a secret was found (naming the secret by its
// kind, never printing it) and how many files it read.
func findSecrets(sec secrets, dir string, streams map[string][]byte) (leaks []string, files int, err error) {
	find := func(where string, b []byte) {
		for _, s := range sec.all() {
			if bytes.Contains(b, []byte(s)) {
				leaks = append(leaks, fmt.Sprintf("%s holds a secret (%s...)", where, s[:min(len(s), 6)]))
			}
		}
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		find(path, b)
		return nil
	})
	names := make([]string, 0, len(streams))
	for name := range streams {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		find(name, streams[name])
	}
	return leaks, files, err
}

// checkVia checks every command the device received came over one
// transport ("ssh:" or "api:"), and that there were some.
func checkVia(t *testing.T, dev *sim.Device, via string) {
	t.Helper()
	log := dev.Log()
	if len(log) == 0 {
		t.Fatal("the device received no command")
	}
	for _, e := range log {
		if !strings.HasPrefix(e.Via, via) {
			t.Errorf("command %d %q came via %q, want %s...", e.Seq, e.CLI, e.Via, via)
		}
	}
}

// commands lists the commands of the steps, in order, with their status;
// exports are left out (over SSH the device pushes the file with `scp
// export`, over the XML API the file is pulled: the commands differ).
func commands(m *engine.Manifest) []string {
	var out []string
	for _, s := range m.Steps {
		if s.Command != "" && s.Kind != "export" {
			out = append(out, s.Command+" => "+s.Status)
		}
	}
	return out
}

// manifest is a run's manifest.json as the engine reads it back.
type manifest = *engine.Manifest

// refusedDelete reports a step that deleted an earlier capture's file that
// is not there: the device refuses it, and the run expects that.
func refusedDelete(s engine.StepRecord) bool {
	return s.Status == "failed" && strings.HasPrefix(s.Command, "delete debug-filter file ")
}
