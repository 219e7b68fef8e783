package e2e

// The fault suite's harness: a TCP gate in front of the SSH server (to take
// the server away and bring it back, or hold a login), reference runs that
// say which steps a playbook sends (never hard-coded: the playbooks change),
// the process that reads runbook's output through a pipe, and the checks
// every fault case shares.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/sim"
)

// readerRole, set in the environment, makes the test binary a reader of a
// pipe (as tee is in `runbook run ... 2>&1 | tee run.log`): it copies its
// stdin to the file the variable names until the pipe ends or it is killed.
const readerRole = "E2E_PIPE_READER_OUT"

func reader() int {
	f, err := os.Create(os.Getenv(readerRole))
	if err != nil {
		return 1
	}
	defer f.Close()
	if _, err := io.Copy(f, os.Stdin); err != nil {
		return 1
	}
	return 0
}

// gateMode is what the gate does with a new connection.
type gateMode int

const (
	gateUp   gateMode = iota // forwarded to the server
	gateDown                 // accepted and closed at once: the server is gone
	gateHold                 // accepted and never answered: a login that hangs
)

// gate is a TCP proxy on 127.0.0.1 in front of the simulator's SSH server.
// Connections already forwarded are not touched by a mode change: the
// simulator's own faults cut them.
type gate struct {
	ln   net.Listener
	to   string
	port int

	mu       sync.Mutex
	mode     gateMode
	upAfter  int // in gateDown, come back up after this many refusals (0: never)
	refused  int
	conns    []net.Conn
	accepted chan gateMode // one value per accepted connection (buffered)
}

func newGate(t *testing.T, sshPort int) *gate {
	t.Helper()
	g := &gate{ln: listen(t), to: fmt.Sprintf("127.0.0.1:%d", sshPort), accepted: make(chan gateMode, 64)}
	g.port = g.ln.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := g.ln.Accept()
			if err != nil {
				return
			}
			g.handle(c)
		}
	}()
	t.Cleanup(func() {
		g.ln.Close()
		<-done
		g.mu.Lock()
		for _, c := range g.conns {
			c.Close()
		}
		g.mu.Unlock()
	})
	return g
}

func (g *gate) handle(c net.Conn) {
	g.mu.Lock()
	mode := g.mode
	g.conns = append(g.conns, c)
	if mode == gateDown {
		g.refused++
		if g.upAfter > 0 && g.refused >= g.upAfter {
			g.mode = gateUp
		}
	}
	g.mu.Unlock()
	select {
	case g.accepted <- mode:
	default:
	}
	switch mode {
	case gateDown:
		c.Close()
	case gateHold:
	case gateUp:
		s, err := net.Dial("tcp", g.to)
		if err != nil {
			c.Close()
			return
		}
		g.mu.Lock()
		g.conns = append(g.conns, s)
		g.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

// set changes what the gate does with new connections; upAfter > 0 (with
// gateDown) brings the server back after that many refused connections.
func (g *gate) set(m gateMode, upAfter int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mode, g.upAfter, g.refused = m, upAfter, 0
}

func (g *gate) refusals() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused
}

// waitAccepted waits for a connection accepted in mode m.
func (g *gate) waitAccepted(t *testing.T, p *proc, m gateMode) {
	t.Helper()
	deadline := time.After(journalTimeout)
	for {
		select {
		case got := <-g.accepted:
			if got == m {
				return
			}
		case <-p.done:
			t.Fatalf("runbook ended (exit %d) before the gate saw a connection\nstderr:\n%s", p.cmd.ProcessState.ExitCode(), p.stderr.String())
		case <-deadline:
			t.Fatalf("no connection reached the gate within %v", journalTimeout)
		}
	}
}

// sweepScenario is the scenario each built-in playbook runs against in the
// fault suite: the one it is for (phase2-down against a healthy tunnel, so
// that it finds the tunnel and repeats the flow counters).
var sweepScenario = map[string]sim.Scenario{
	"phase1-down":          sim.Phase1Down,
	"phase2-down":          sim.Healthy,
	"tunnel-up-no-traffic": sim.NoTraffic,
	"performance":          sim.Performance,
}

// builtins are the built-in playbooks, in a fixed order.
var builtins = []string{"phase1-down", "phase2-down", "tunnel-up-no-traffic", "performance"}

// sweepArgs are the arguments of a fault-suite run: two runs of each
// repeated step, one millisecond apart.
func (w *workspace) sweepArgs(playbook string, over transportCase) []string {
	return append(w.runArgs(playbook, over.target, "1ms"), "-p", "repeat=2")
}

// refStep is one command a reference run sent as a step.
type refStep struct {
	seq     int    // the journal's seq
	command string // as shown
	// dev is the position of the command in the device's log (0-based,
	// so also the number of commands the device had answered when it
	// arrived), -1 if it reached the device as no command (an export the
	// XML API pulls).
	dev int
}

// reference is what a run of a playbook without any fault did: the steps
// it sent, their records, its exit code.
type reference struct {
	steps   []refStep
	records map[int]engine.StepRecord // by seq
	cmds    []string                  // commands(manifest)
	exit    int
}

var references = struct {
	sync.Mutex
	m map[string]*referenceOnce
}{m: map[string]*referenceOnce{}}

type referenceOnce struct {
	once sync.Once
	ref  *reference
	err  string
}

// referenceRun runs playbook over over once without a fault (once per test
// binary) and returns what it sent. Every sweep derives its step indexes
// from it.
func referenceRun(t *testing.T, playbook string, over transportCase) *reference {
	t.Helper()
	key := playbook + "/" + over.name
	references.Lock()
	r := references.m[key]
	if r == nil {
		r = &referenceOnce{}
		references.m[key] = r
	}
	references.Unlock()
	r.once.Do(func() { r.ref, r.err = buildReference(t, playbook, over) })
	if r.err != "" || r.ref == nil {
		t.Fatalf("reference run of %s failed: %s", key, r.err)
	}
	return r.ref
}

func buildReference(t *testing.T, playbook string, over transportCase) (*reference, string) {
	sec := newSecrets(t)
	fw := startFirewall(t, sim.Options{Scenario: sweepScenario[playbook], Seed: 1}, sec)
	w := newWorkspace(t, fw, sec)
	p, code := w.run(t, w.sweepArgs(playbook, over)...)
	if code != 0 && code != 1 {
		return nil, fmt.Sprintf("exit %d\n%s", code, p.stderr.String())
	}
	dir := w.runDir(t)
	m, err := engine.ReadManifest(dir)
	if err != nil {
		return nil, err.Error()
	}
	journal, err := engine.ReadJournal(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		return nil, err.Error()
	}
	ref := &reference{records: map[int]engine.StepRecord{}, cmds: commands(m), exit: code}
	for _, s := range m.Steps {
		if s.Seq > 0 {
			ref.records[s.Seq] = s
		}
	}
	log := fw.dev.Log()
	next := 0
	for _, e := range journal {
		if e.Event != "step-start" {
			continue
		}
		st := refStep{seq: e.Seq, command: e.Command, dev: -1}
		for i := next; i < len(log); i++ {
			if log[i].CLI == e.Command {
				st.dev, next = i, i+1
				break
			}
		}
		ref.steps = append(ref.steps, st)
	}
	if len(ref.steps) == 0 {
		return nil, "no step was sent"
	}
	return ref, ""
}

// sample is the indexes a sweep runs: every one, or with -short the
// first, the middle and the last.
func sample(n int) []int {
	if !testing.Short() || n <= 3 {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return []int{0, n / 2, n - 1}
}

// checkCollected checks that every step the reference run completed
// before seq is in the run folder as it was then: its record with the same
// status, and its output file, whose sha256 the manifest gives.
func checkCollected(t *testing.T, dir string, m *engine.Manifest, ref *reference, before int) {
	t.Helper()
	got := map[int]engine.StepRecord{}
	for _, s := range m.Steps {
		if s.Seq > 0 {
			got[s.Seq] = s
		}
	}
	for _, st := range ref.steps {
		if st.seq >= before {
			break
		}
		want := ref.records[st.seq]
		rec, ok := got[st.seq]
		switch {
		case !ok:
			t.Errorf("step %d %q, done before the fault, is not in the manifest", st.seq, st.command)
			continue
		case rec.Command != want.Command || rec.Status != want.Status:
			t.Errorf("step %d: %q %s, the run without the fault had %q %s", st.seq, rec.Command, rec.Status, want.Command, want.Status)
		}
		if rec.Output == "" {
			if want.Output != "" {
				t.Errorf("step %d %q: no output file", st.seq, st.command)
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, rec.Output))
		if err != nil {
			t.Errorf("step %d: %v", st.seq, err)
			continue
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != rec.SHA256 {
			t.Errorf("step %d: %s does not match its sha256 in the manifest", st.seq, rec.Output)
		}
	}
}

// stepBySeq returns the manifest's record of the step seq.
func stepBySeq(m *engine.Manifest, seq int) (engine.StepRecord, bool) {
	i := slices.IndexFunc(m.Steps, func(s engine.StepRecord) bool { return s.Seq == seq })
	if i < 0 {
		return engine.StepRecord{}, false
	}
	return m.Steps[i], true
}

// waitJournalSeq waits for the journal's step-start of seq.
func (w *workspace) waitJournalSeq(t *testing.T, p *proc, seq int) string {
	t.Helper()
	return w.waitJournalFunc(t, p, fmt.Sprintf("step-start %d", seq), func(e engine.JournalEntry) bool {
		return e.Event == "step-start" && e.Seq == seq
	})
}

// waitJournalFunc polls the journal of the run p is writing (its one
// run folder) until an entry matches (see waitJournal).
func (w *workspace) waitJournalFunc(t *testing.T, p *proc, what string, match func(engine.JournalEntry) bool) string {
	t.Helper()
	one := func() []string {
		m, _ := filepath.Glob(filepath.Join(w.out(), "*", "journal.jsonl"))
		if len(m) != 1 {
			return nil
		}
		return m
	}
	return pollJournals(t, p, what, one, func(entries []engine.JournalEntry) bool { return slices.ContainsFunc(entries, match) })
}

// waitStderr polls the process's stderr until it holds text.
func waitStderr(t *testing.T, p *proc, text string) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(journalTimeout)
	for !strings.Contains(p.stderr.String(), text) {
		select {
		case <-p.done:
			t.Fatalf("runbook ended (exit %d) before it printed %q\nstderr:\n%s", p.cmd.ProcessState.ExitCode(), text, p.stderr.String())
		case <-deadline:
			t.Fatalf("runbook did not print %q within %v\nstderr:\n%s", text, journalTimeout, p.stderr.String())
		case <-tick.C:
		}
	}
}

// checkEnded is what every fault case checks at the end: the run folder
// is complete, nothing is pending, the device is clean, no secret leaked,
// and the manifest's exit code is the process's.
func checkEnded(t *testing.T, sec secrets, fw *firewall, dir string, code int, streams map[string][]byte) *engine.Manifest {
	t.Helper()
	m := checkRunFolder(t, dir)
	checkNothingPending(t, dir, m)
	checkClean(t, fw.dev)
	checkNoSecrets(t, sec, dir, streams)
	if m.ExitCode != code {
		t.Errorf("manifest: exit_code %d, the process exited %d", m.ExitCode, code)
	}
	if m.Status == "running" {
		t.Error("manifest: status still running")
	}
	return m
}

// streamsOf are a process's captured output streams, for checkNoSecrets.
func streamsOf(p *proc) map[string][]byte {
	return map[string][]byte{"stdout": p.stdout.Bytes(), "stderr": p.stderr.Bytes()}
}

// undone lists the undo commands a manifest records as done.
func undone(m *engine.Manifest) []string {
	var out []string
	for _, u := range m.Undo {
		if u.Status == "ok" {
			out = append(out, u.Command)
		}
	}
	return out
}
