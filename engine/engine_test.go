package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// fixture loads the test playbook and its cassette.
func fixture(t *testing.T) (*playbook.Playbook, *replay.Cassette) {
	t.Helper()
	pb, err := playbook.Load("testdata/basic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := replay.Load("testdata/basic-cassette.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return pb, c
}

type runCfg struct {
	params  map[string]string
	edit    func(c *replay.Cassette)
	opts    func(o *engine.Options)
	ctx     context.Context
	mode    replay.Mode
	onStart func(r *engine.Runner)
	pbEdit  func(pb *playbook.Playbook)
}

func runIt(t *testing.T, cfg runCfg) (*engine.Result, *replay.Transport) {
	t.Helper()
	pb, c := fixture(t)
	pristine, _ := replay.Load("testdata/basic-cassette.yaml")
	if cfg.edit != nil {
		cfg.edit(c)
	}
	if cfg.pbEdit != nil {
		cfg.pbEdit(pb)
	}
	given := map[string]string{"tunnel": "sap-sap"}
	for k, v := range cfg.params {
		given[k] = v
	}
	params, err := pb.Bind(given)
	if err != nil {
		t.Fatal(err)
	}
	var tr *replay.Transport
	o := engine.Options{
		Folder:    runfolder.Create,
		Playbook:  pb,
		Source:    "file testdata/basic.yaml",
		Params:    params,
		Target:    "fw1",
		Transport: "replay",
		Dir:       filepath.Join(t.TempDir(), "run"),
		Yes:       true,
		Open: func(ctx context.Context) (transports.Transport, error) {
			if tr == nil {
				tr = replay.New(c, replay.Options{Mode: cfg.mode})
				return tr, nil
			}
			// A reconnect: the device answers as recorded, without the
			// injected faults.
			return replay.New(pristine, replay.Options{Mode: replay.ByCommand}), nil
		},
	}
	if cfg.opts != nil {
		cfg.opts(&o)
	}
	ctx := cfg.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	r := engine.New(o)
	if cfg.onStart != nil {
		cfg.onStart(r)
	}
	return r.Run(ctx), tr
}

// written is the manifest of res as written to its run folder, steps
// included (Result.Manifest leaves them on disk); the result's own when
// no folder was kept.
func written(t *testing.T, res *engine.Result) *engine.Manifest {
	t.Helper()
	if res.Dir == "" {
		return res.Manifest
	}
	m, err := runfolder.ReadManifest(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sent lists the commands of a run in order: steps, then undo, then cleanup.
func sent(m *engine.Manifest) []string {
	var out []string
	for _, s := range m.Steps {
		if s.Command != "" && s.Status != "skipped" {
			out = append(out, s.Command)
		}
	}
	for _, u := range m.Undo {
		out = append(out, "undo: "+u.Command)
	}
	for _, c := range m.Cleanup {
		out = append(out, "cleanup: "+c.Command)
	}
	return out
}

func TestRunSuccess(t *testing.T) {
	res, tr := runIt(t, runCfg{})
	if res.ExitCode != engine.ExitOK || res.Status != engine.StatusOK {
		t.Fatalf("exit %d status %s err %v", res.ExitCode, res.Status, res.Err)
	}
	want := []string{
		"debug ike global on debug",
		"debug ike pcap on",
		"show clock",
		"show vpn ipsec-sa tunnel sap-sap",
		"show vpn flow tunnel-id 207",
		"show vpn flow tunnel-id 207",
		"show vpn flow tunnel-id 207",
		"undo: debug ike pcap off",
		"undo: debug ike global on normal",
		"cleanup: show clock",
	}
	if got := sent(written(t, res)); !reflect.DeepEqual(got, want) {
		t.Errorf("commands:\n got %q\nwant %q", got, want)
	}
	if n := tr.Remaining(); n != 0 {
		t.Errorf("%d exchanges not consumed", n)
	}
	// The result holds nothing per step: the steps are in the folder.
	if res.Manifest.Steps != nil {
		t.Errorf("Result.Manifest holds %d steps", len(res.Manifest.Steps))
	}
	m := res.Manifest
	if m.DeviceClock != "Fri Nov 27 10:02:33 UTC 2026" {
		t.Errorf("device clock %q", m.DeviceClock)
	}
	if len(m.Findings) != 1 || m.Findings[0].ID != "decap-flat" {
		t.Fatalf("findings %+v (unevaluated %v)", m.Findings, m.Unevaluated)
	}
	if ev := m.Findings[0].Evidence; len(ev) != 1 || len(ev[0].Values) != 3 {
		t.Errorf("evidence %+v", ev)
	}
	// Virtual time: the 10m wait and the two 10s intervals passed in the
	// manifest's clock without sleeping.
	if d := m.Ended.Sub(m.Started); d < 10*time.Minute+20*time.Second {
		t.Errorf("virtual run took %s, want at least 10m20s", d)
	}
	// The export could not be pulled over this cassette and no scp_to was
	// given: a note says how to attach the file by hand.
	if len(m.Notes) != 1 || !strings.Contains(m.Notes[0], "scp export debug-pcap from ikemgr.pcap to USER@HOST:PATH") {
		t.Errorf("notes %q", m.Notes)
	}
	for _, f := range []string{"manifest.json", "summary.md", "journal.jsonl", "steps/003-clock.txt", "steps/005-flow.txt"} {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	sum, _ := os.ReadFile(filepath.Join(res.Dir, "summary.md"))
	for _, want := range []string{"Fri Nov 27 10:02:33 UTC 2026", "decap-flat", "debug ike pcap off"} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
	entries, err := engine.ReadJournal(filepath.Join(res.Dir, engine.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	if p := engine.Pending(entries); len(p) != 0 {
		t.Errorf("journal still has pending entries: %+v", p)
	}
}

func TestRunNoSA(t *testing.T) {
	res, _ := runIt(t, runCfg{edit: func(c *replay.Cassette) {
		c.Exchanges[3].Output = "Show IPSec SA: Total 0 tunnels found. 0 ipsec sa found.\n"
		c.Exchanges = append(c.Exchanges[:4], c.Exchanges[7:]...)
	}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	m := res.Manifest
	if len(m.Notes) < 1 || !strings.Contains(m.Notes[0], "No IPSec SA for sap-sap") {
		t.Errorf("notes %q", m.Notes)
	}
	if len(m.Findings) != 0 {
		t.Errorf("findings fired on no data: %+v", m.Findings)
	}
}

// TestCleanupOnEveryPath: whatever stops the run, the undo stack runs newest
// first and then cleanup:, and the exit code says how it ended.
func TestCleanupOnEveryPath(t *testing.T) {
	undoAndCleanup := []string{"undo: debug ike pcap off", "undo: debug ike global on normal", "cleanup: show clock"}
	tests := []struct {
		name   string
		cfg    runCfg
		exit   int
		status engine.Status
		steps  []string // commands sent before cleanup
	}{
		{
			name: "step error",
			cfg: runCfg{mode: replay.ByCommand, edit: func(c *replay.Cassette) {
				c.Exchanges[2].Error = &replay.Error{Kind: replay.KindUnknownCommand, Message: "Unknown command: clock"}
			}},
			exit: engine.ExitStepFailed, status: engine.StatusFailed,
			steps: []string{"debug ike global on debug", "debug ike pcap on", "show clock"},
		},
		{
			name: "step timeout",
			cfg: runCfg{mode: replay.ByCommand, edit: func(c *replay.Cassette) {
				c.Exchanges[3].Duration = 10 * time.Minute
			}},
			exit: engine.ExitStepFailed, status: engine.StatusFailed,
			steps: []string{"debug ike global on debug", "debug ike pcap on", "show clock", "show vpn ipsec-sa tunnel sap-sap"},
		},
		{
			// The debug command timed out: it may still have taken effect
			// on the device, so its undo runs too.
			name: "debug command timeout",
			cfg: runCfg{mode: replay.ByCommand, edit: func(c *replay.Cassette) {
				c.Exchanges[1].Duration = 10 * time.Minute
			}},
			exit: engine.ExitStepFailed, status: engine.StatusFailed,
			steps: []string{"debug ike global on debug", "debug ike pcap on"},
		},
		{
			name: "overall timeout",
			cfg: runCfg{mode: replay.ByCommand, opts: func(o *engine.Options) {
				o.Timeout = time.Nanosecond
			}},
			exit: engine.ExitStepFailed, status: engine.StatusTimeout,
		},
		{
			name: "operator abort",
			cfg: runCfg{mode: replay.ByCommand, opts: func(o *engine.Options) {
				o.Yes = false
				o.Prompter = abortPrompter{}
			}, pbEdit: func(pb *playbook.Playbook) {
				pb.Warnings = []string{"debug raises CPU"}
			}},
			exit: engine.ExitInterrupted, status: engine.StatusInterrupted,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := runIt(t, tc.cfg)
			if res.ExitCode != tc.exit || res.Status != tc.status {
				t.Fatalf("exit %d status %s (%v), want exit %d status %s", res.ExitCode, res.Status, res.Err, tc.exit, tc.status)
			}
			got := sent(written(t, res))
			want := append(append([]string(nil), tc.steps...), undoAndCleanup...)
			if len(tc.steps) == 0 {
				// Stopped before any command: nothing to undo; cleanup
				// still runs once connected.
				want = nil
				for _, g := range got {
					if strings.HasPrefix(g, "undo: ") {
						t.Errorf("undo ran for a command never sent: %q", got)
					}
				}
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("commands:\n got %q\nwant %q", got, want)
			}
		})
	}
}

type abortPrompter struct{}

func (abortPrompter) Ask(ctx context.Context, msg string, d time.Duration) (bool, error) {
	return false, nil
}

// cancelPrompter cancels the run (as a signal does) when asked.
type cancelPrompter struct{ cancel context.CancelFunc }

func (p cancelPrompter) Ask(ctx context.Context, msg string, d time.Duration) (bool, error) {
	p.cancel()
	<-ctx.Done()
	return false, ctx.Err()
}

func TestCancelMidRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pb, c := fixture(t)
	// A prompt after the debug commands: cancelling there is Ctrl-C mid-run.
	pb.Steps = append(pb.Steps[:2:2], append([]*playbook.Step{{Kind: playbook.KindPrompt, Message: mustTemplate(t, pb)}}, pb.Steps[2:]...)...)
	params, _ := pb.Bind(map[string]string{"tunnel": "sap-sap"})
	r := engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Params: params, Target: "fw1", Transport: "replay",
		Dir:      filepath.Join(t.TempDir(), "run"),
		Prompter: cancelPrompter{cancel},
		Open: func(context.Context) (transports.Transport, error) {
			return replay.New(c, replay.Options{Mode: replay.ByCommand}), nil
		},
	})
	res := r.Run(ctx)
	if res.ExitCode != engine.ExitInterrupted {
		t.Fatalf("exit %d (%v)", res.ExitCode, res.Err)
	}
	want := []string{"debug ike global on debug", "debug ike pcap on", "undo: debug ike pcap off", "undo: debug ike global on normal", "cleanup: show clock"}
	if got := sent(written(t, res)); !reflect.DeepEqual(got, want) {
		t.Errorf("commands:\n got %q\nwant %q", got, want)
	}
	if !errors.Is(res.Err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", res.Err)
	}
}

func mustTemplate(t *testing.T, pb *playbook.Playbook) *playbook.Template {
	t.Helper()
	return &playbook.Template{Src: "Start traffic now", Parts: []playbook.Part{{Lit: "Start traffic now"}}}
}

// TestCleanupFailureIsDirty: an undo that fails leaves the run dirty (exit 3,
// which wins over the step failure) and the journal lists it as pending.
func TestCleanupFailureIsDirty(t *testing.T) {
	res, _ := runIt(t, runCfg{mode: replay.ByCommand, edit: func(c *replay.Cassette) {
		c.Exchanges[2].Error = &replay.Error{Kind: replay.KindDevice, Message: "Server error"}
		c.Exchanges[7].Error = &replay.Error{Kind: replay.KindDevice, Message: "Server error"}
	}})
	if res.ExitCode != engine.ExitDirty {
		t.Fatalf("exit %d, want %d", res.ExitCode, engine.ExitDirty)
	}
	if !reflect.DeepEqual(res.Pending, []string{"debug ike pcap off"}) {
		t.Errorf("pending %q", res.Pending)
	}
	entries, err := engine.ReadJournal(filepath.Join(res.Dir, engine.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	p := engine.Pending(entries)
	if len(p) != 1 || p[0].Command != "debug ike pcap off" {
		t.Errorf("journal pending %+v", p)
	}
}

func TestRefusesWithoutOperator(t *testing.T) {
	pb, c := fixture(t)
	pb.Warnings = []string{"debug raises CPU"}
	params, _ := pb.Bind(map[string]string{"tunnel": "x"})
	opened := false
	r := engine.New(engine.Options{Folder: runfolder.Create, Playbook: pb, Params: params, Dir: t.TempDir(),
		Open: func(context.Context) (transports.Transport, error) {
			opened = true
			return replay.New(c, replay.Options{}), nil
		}})
	if err := r.Check(); !errors.Is(err, engine.ErrNeedsConfirmation) {
		t.Fatalf("Check: %v", err)
	}
	res := r.Run(context.Background())
	if res.ExitCode != engine.ExitInvalid || opened {
		t.Errorf("exit %d, opened %v", res.ExitCode, opened)
	}
}

// TestCleanupReconnects: a session lost during cleanup is re-opened and the
// undo still reaches the device.
func TestCleanupReconnects(t *testing.T) {
	res, _ := runIt(t, runCfg{mode: replay.ByCommand, edit: func(c *replay.Cassette) {
		c.Exchanges[2].Error = &replay.Error{Kind: replay.KindDevice, Message: "Server error"}
		c.Exchanges[7].Error = &replay.Error{Kind: replay.KindClosed, Message: "connection lost"}
	}})
	if res.ExitCode != engine.ExitStepFailed || len(res.Pending) != 0 {
		t.Fatalf("exit %d, pending %q", res.ExitCode, res.Pending)
	}
	for _, u := range res.Manifest.Undo {
		if u.Status != "ok" {
			t.Errorf("undo %q: %s %s", u.Command, u.Status, u.Error)
		}
	}
}

// TestScpFallbackNeedsACLI: over a transport that cannot answer prompts
// (the XML API), the scp export fallback is not sent; a note says how to
// export the file by hand.
func TestScpFallbackNeedsACLI(t *testing.T) {
	res, _ := runIt(t, runCfg{
		params: map[string]string{"scp_to": "support@192.0.2.50:/cases"},
		edit:   func(c *replay.Cassette) { c.Target.Transport = "xmlapi" },
	})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	for _, s := range written(t, res).Steps {
		if strings.HasPrefix(s.Command, "scp export") {
			t.Errorf("sent %q over a transport that cannot answer its password question", s.Command)
		}
	}
	m := res.Manifest
	if len(m.Notes) != 1 || !strings.Contains(m.Notes[0], "run `scp export debug-pcap from ikemgr.pcap to support@192.0.2.50:/cases`") {
		t.Errorf("notes %q", m.Notes)
	}
}

// TestCannotReconnectIsDirty: the session drops and cannot be re-opened for
// cleanup: exit 3, the undo commands pending in the result and the journal.
func TestCannotReconnectIsDirty(t *testing.T) {
	pb, c := fixture(t)
	c.Exchanges[2].Error = &replay.Error{Kind: replay.KindClosed, Message: "connection reset"}
	c.Exchanges = c.Exchanges[:3]
	params, _ := pb.Bind(map[string]string{"tunnel": "sap-sap"})
	opened := 0
	r := engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Params: params, Target: "fw1", Transport: "replay", Yes: true,
		Dir: filepath.Join(t.TempDir(), "run"),
		Open: func(context.Context) (transports.Transport, error) {
			if opened++; opened > 1 {
				return nil, &transports.ConnError{Target: "fw1", Err: errors.New("connection refused")}
			}
			return replay.New(c, replay.Options{}), nil
		},
	})
	res := r.Run(context.Background())
	if res.ExitCode != engine.ExitDirty {
		t.Fatalf("exit %d (%v), want %d", res.ExitCode, res.Err, engine.ExitDirty)
	}
	want := []string{"debug ike pcap off", "debug ike global on normal", "show clock"}
	if !reflect.DeepEqual(res.Pending, want) {
		t.Errorf("pending %q, want %q", res.Pending, want)
	}
	if opened != 4 { // the run, then 3 bounded attempts for the first undo
		t.Errorf("opened %d times", opened)
	}
	entries, _ := engine.ReadJournal(filepath.Join(res.Dir, engine.JournalFile))
	if p := engine.Pending(entries); len(p) != 3 {
		t.Errorf("journal pending %+v", p)
	}
}

// TestRunFoldersNeverShared: two runs of the same playbook against the same
// target in the same second get two folders.
func TestRunFoldersNeverShared(t *testing.T) {
	out := t.TempDir()
	now := func() time.Time { return time.Date(2026, 11, 27, 10, 2, 33, 0, time.UTC) }
	var dirs []string
	for range 2 {
		res, _ := runIt(t, runCfg{opts: func(o *engine.Options) { o.Dir, o.OutDir, o.Now = "", out, now }})
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
		}
		dirs = append(dirs, res.Dir)
	}
	want := []string{filepath.Join(out, "20261127T100233Z-basic-fw1"), filepath.Join(out, "20261127T100233Z-basic-fw1-2")}
	if !reflect.DeepEqual(dirs, want) {
		t.Errorf("dirs %q, want %q", dirs, want)
	}
}

// panicky is a transport with a bug: it panics on one command.
type panicky struct {
	transports.Transport
	on string
}

func (p panicky) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	if cmd.CLI == p.on {
		panic("parser bug")
	}
	return p.Transport.Run(ctx, cmd)
}

// TestPanicStillCleansUp: a bug that panics mid-run fails the run, and the
// undo stack still runs; the cleanup: entry that panics too is reported
// (pending, so exit 3) without stopping the others.
func TestPanicStillCleansUp(t *testing.T) {
	res, _ := runIt(t, runCfg{mode: replay.ByCommand, opts: func(o *engine.Options) {
		open := o.Open
		o.Open = func(ctx context.Context) (transports.Transport, error) {
			tr, err := open(ctx)
			return panicky{tr, "show clock"}, err
		}
	}})
	if res.ExitCode != engine.ExitDirty || res.Status != engine.StatusFailed || !strings.Contains(res.Err.Error(), "internal error") {
		t.Fatalf("exit %d, err %v", res.ExitCode, res.Err)
	}
	var undone []string
	for _, u := range res.Manifest.Undo {
		if u.Status == "ok" {
			undone = append(undone, u.Command)
		}
	}
	if want := []string{"debug ike pcap off", "debug ike global on normal"}; !reflect.DeepEqual(undone, want) {
		t.Errorf("undone %q, want %q", undone, want)
	}
	if len(res.Pending) != 1 || res.Pending[0] != "show clock" {
		t.Errorf("pending %q", res.Pending)
	}
}

// TestFinishCleanupNeverSendsAPlaceholder: an undo whose command held a
// secret was journaled redacted; runbook cleanup reports it for the
// operator instead of sending the placeholder.
func TestFinishCleanupNeverSendsAPlaceholder(t *testing.T) {
	dir := t.TempDir()
	lines := []engine.JournalEntry{
		{Event: "run-start", Target: "fw1", Transport: "replay"},
		{Event: "undo-intent", Seq: 1, Command: "debug x on", Undo: []engine.Forms{{"debug x off token «redacted»"}, {"debug ike pcap off"}}},
	}
	var b strings.Builder
	for _, l := range lines {
		j, _ := json.Marshal(l)
		b.Write(append(j, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, engine.JournalFile), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &replay.Cassette{Exchanges: []replay.Exchange{{Command: "debug ike pcap off"}}}
	tr := replay.New(c, replay.Options{Mode: replay.ByCommand})
	rep, err := engine.FinishCleanup(context.Background(), runfolder.Open(dir), func(context.Context) (transports.Transport, error) { return tr, nil }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Done, []string{"debug ike pcap off"}) || !reflect.DeepEqual(rep.Failed, []string{"debug x off token «redacted»"}) {
		t.Errorf("done %q failed %q", rep.Done, rep.Failed)
	}
}

// TestRefusedOverAPI: a command the firewall refuses to an API client is
// recorded refused with a note naming the CLI command and its undo, its
// undo is neither armed nor pending, and the run goes on to its end:
// "done, 1 step failed" (exit 1), the step listed as missing evidence with
// the device's words and the note as the way to take it by hand. With
// evidence: false it is not missing evidence (exit 0); on_error: fail
// still stops the run.
func TestRefusedOverAPI(t *testing.T) {
	refuse := func(c *replay.Cassette) {
		var xs []replay.Exchange
		for _, x := range c.Exchanges {
			switch x.Command {
			case "debug ike global on debug":
				x.Output, x.Error = "", &replay.Error{Kind: replay.KindNotOverAPI, Message: "debug not available to xmlapi client", Code: "17"}
			case "debug ike global on normal":
				continue // never sent: the device did not run what it undoes
			}
			xs = append(xs, x)
		}
		c.Exchanges = xs
	}
	res, tr := runIt(t, runCfg{edit: refuse})
	if res.Status != engine.StatusIncomplete || res.ExitCode != engine.ExitStepFailed || len(res.Pending) > 0 {
		t.Fatalf("status %s exit %d pending %q: %v", res.Status, res.ExitCode, res.Pending, res.Err)
	}
	if got := engine.Outcome(string(res.Status), res.ExitCode, res.Manifest.Findings, len(res.Manifest.Missing)); got != "done, 1 step failed, 1 warning finding" {
		t.Errorf("outcome %q", got)
	}
	if n := tr.Remaining(); n != 0 {
		t.Errorf("%d exchanges not used", n)
	}
	s := written(t, res).Steps[0]
	note := "Run it on the firewall's CLI (SSH): `debug ike global on debug`, then `debug ike global on normal` once the evidence is taken"
	if s.Status != "refused" || !strings.Contains(s.Note, note) || !strings.Contains(s.Error, "debug not available to xmlapi client") || s.Transport != "replay" {
		t.Errorf("refused step %+v", s)
	}
	if !strings.Contains(strings.Join(res.Manifest.Notes, "\n"), note) {
		t.Errorf("notes %q", res.Manifest.Notes)
	}
	if ms := res.Manifest.Missing; len(ms) != 1 || ms[0].Command != "debug ike global on debug" || ms[0].Status != "refused" ||
		ms[0].Error != s.Error || ms[0].ByHand != s.Note || ms[0].Seq != s.Seq {
		t.Errorf("missing evidence %+v, want the refused step with its note", ms)
	}
	entries, err := engine.ReadJournal(filepath.Join(res.Dir, engine.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	if p := engine.Pending(entries); len(p) > 0 {
		t.Errorf("the journal leaves %+v pending", p)
	}

	res, _ = runIt(t, runCfg{edit: refuse, pbEdit: func(pb *playbook.Playbook) { pb.Steps[0].NotEvidence = true }})
	if res.Status != engine.StatusOK || res.ExitCode != 0 || len(res.Manifest.Missing) != 0 {
		t.Errorf("evidence: false: status %s exit %d missing %+v", res.Status, res.ExitCode, res.Manifest.Missing)
	}

	res, _ = runIt(t, runCfg{edit: refuse, mode: replay.ByCommand, pbEdit: func(pb *playbook.Playbook) { pb.Steps[0].OnError = playbook.OnErrorFail }})
	if res.Status != engine.StatusFailed || res.ExitCode != engine.ExitStepFailed || len(res.Pending) > 0 {
		t.Errorf("on_error: fail: status %s exit %d pending %q", res.Status, res.ExitCode, res.Pending)
	}
}

// TestDivergedReplayStops: a replay whose cassette went another way stops
// the run even on a step that says on_error: continue (every later answer
// would be out of step), and the undo stack still runs.
func TestDivergedReplayStops(t *testing.T) {
	res, _ := runIt(t, runCfg{
		mode: replay.ByCommand,
		edit: func(c *replay.Cassette) {
			var kept []replay.Exchange
			for _, x := range c.Exchanges {
				if x.Command != "show clock" {
					kept = append(kept, x)
				}
			}
			c.Exchanges = kept
		},
		pbEdit: func(pb *playbook.Playbook) {
			pb.Steps[2].OnError = playbook.OnErrorContinue
			pb.Cleanup = nil
		},
	})
	if res.ExitCode != engine.ExitStepFailed {
		t.Fatalf("exit %d, want %d: %v", res.ExitCode, engine.ExitStepFailed, res.Err)
	}
	if !errors.Is(res.Err, transports.ErrDiverged) {
		t.Fatalf("error %v, want one that is transports.ErrDiverged", res.Err)
	}
	var sent []string
	if _, err := runfolder.Scan(res.Dir, func(s engine.StepRecord) error {
		if s.Seq > 0 {
			sent = append(sent, s.Command)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"debug ike global on debug", "debug ike pcap on", "show clock"}; !reflect.DeepEqual(sent, want) {
		t.Errorf("steps sent %q, want %q: the run went on after the replay diverged", sent, want)
	}
	entries, err := engine.ReadJournal(filepath.Join(res.Dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if p := engine.Pending(entries); len(p) != 0 {
		t.Errorf("pending after the run: %q", p)
	}
}
