package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// stalledExport is a replay whose transport can pull debug-pcap but stalls
// each pull after its first bytes, until the run's context is done: a
// download the run is stopped in. started is called once those bytes are
// written.
type stalledExport struct {
	*replay.Transport
	started func()
}

func (s *stalledExport) CanExport(category string) bool { return category == "debug-pcap" }

func (s *stalledExport) Export(ctx context.Context, req transports.ExportRequest, w io.Writer) (transports.ExportInfo, error) {
	if _, err := w.Write([]byte("\xd4\xc3\xb2\xa1 partial pcap")); err != nil {
		return transports.ExportInfo{}, err
	}
	s.started()
	select {
	case <-ctx.Done():
		return transports.ExportInfo{}, fmt.Errorf("export %s: %w", req.Category, ctx.Err())
	case <-time.After(10 * time.Second):
		return transports.ExportInfo{}, fmt.Errorf("export %s: the run was not stopped", req.Category)
	}
}

// TestStoppedInExport: a run stopped (Ctrl-C) while an export step
// downloads its file lists that file as missing evidence, kind export,
// with what was exported and how to export it by hand, in its own
// manifest and in the one runbook cleanup rebuilds from the folder of the
// same run killed as it ended; the partial download is not kept, nor
// listed as an artifact. A step that says `evidence: false` lists none.
func TestStoppedInExport(t *testing.T) {
	for _, c := range []struct {
		name        string
		notEvidence bool
		// timeout: the run's --timeout stops it, not a Ctrl-C.
		timeout bool
	}{
		{name: "Ctrl-C"},
		{name: "--timeout", timeout: true},
		{name: "evidence false", notEvidence: true},
	} {
		notEvidence := c.notEvidence
		t.Run(c.name, func(t *testing.T) {
			src := `name: export
title: Stopped while the pcap downloads
steps:
  - run: show clock
  - id: ike_pcap
    export: debug-pcap
    file: ikemgr.pcap
`
			if notEvidence {
				src += "    evidence: false\n"
			}
			src += "  - run: show system info\n"
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			killed := filepath.Join(t.TempDir(), "killed")
			tr := &stalledExport{
				Transport: replay.New(&replay.Cassette{Exchanges: []replay.Exchange{{Command: "show clock", Output: "Fri Jan  2 03:04:06 UTC 2026\n"}}}, replay.Options{}),
				started:   cancel, // the first Ctrl-C, mid-download
			}
			status, stopper := engine.StatusInterrupted, "the run was interrupted"
			var timeout time.Duration
			if c.timeout {
				tr.started = func() {}
				status, stopper, timeout = engine.StatusTimeout, "the run's --timeout passed", 300*time.Millisecond
			}
			res := engine.New(engine.Options{
				Timeout:  timeout,
				Folder:   wrapped(func(f engine.Folder) engine.Folder { return &killedAt{Folder: f, t: t, killed: killed} }),
				Playbook: parsed(t, "export.yaml", src), Params: map[string]any{}, Target: "fw1", Transport: "replay",
				Dir: filepath.Join(t.TempDir(), "run"), Yes: true,
				Open: func(context.Context) (transports.Transport, error) { return tr, nil },
			}).Run(ctx)
			if res.Status != status {
				t.Fatalf("status %s exit %d: %v", res.Status, res.ExitCode, res.Err)
			}
			var want []engine.MissingRecord
			if !notEvidence {
				want = []engine.MissingRecord{{Seq: 2, Step: "ike_pcap", Kind: "export", Command: "export debug-pcap ikemgr.pcap", Status: string(status),
					Error:  "cut short: " + stopper + " while it exported the file: it was not taken",
					ByHand: "On the firewall's CLI (SSH) run `scp export debug-pcap from ikemgr.pcap to USER@HOST:PATH`, then attach the file to the case."}}
			}
			m := written(t, res)
			if !reflect.DeepEqual(m.Missing, want) {
				t.Errorf("the run's missing_evidence\n%+v\nwant\n%+v", m.Missing, want)
			}
			if len(m.Artifacts) != 0 {
				t.Errorf("the run lists artifacts %+v", m.Artifacts)
			}
			if s := step(t, m, "ike_pcap"); s.Status != string(status) || s.Output != "" || s.SHA256 != "" {
				t.Errorf("the export's record %+v", s)
			}
			for _, dir := range []string{res.Dir, killed} {
				ents, err := os.ReadDir(filepath.Join(dir, "artifacts"))
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				for _, e := range ents {
					t.Errorf("%s: artifacts/ holds %s after the stopped download", dir, e.Name())
				}
			}
			rm := rebuild(t, killed)
			if !reflect.DeepEqual(rm.Missing, want) {
				t.Errorf("the missing_evidence runbook cleanup rebuilt\n%+v\nwant the run's\n%+v", rm.Missing, want)
			}
			if len(rm.Artifacts) != 0 {
				t.Errorf("runbook cleanup lists artifacts %+v", rm.Artifacts)
			}
		})
	}
}

// TestStoppedInScpExport: an export pushed with `scp export` (the
// transport cannot pull it) that the run is stopped in lists the file as
// the pulled one is: kind export, the command as shown, how to run it by
// hand; runbook cleanup rebuilds the same.
func TestStoppedInScpExport(t *testing.T) {
	const scp = "scp export tech-support to support@192.0.2.50:/cases"
	checkSendCase(t, sendCase{
		playbook: `name: export
title: Stopped while scp export runs
steps:
  - id: ts
    export: tech-support
    scp: {to: "support@192.0.2.50:/cases"}
  - run: show clock
`,
		exchanges: []replay.Exchange{{Command: scp, Duration: time.Minute}},
		stop:      func(e engine.Event) bool { return e.Type == engine.EvStepStarted && e.Step == "ts" },
		missing: []engine.MissingRecord{{Seq: 1, Step: "ts", Kind: "export", Command: scp, Status: "interrupted",
			Error:  "cut short: the run was interrupted while it exported the file: it was not taken",
			ByHand: "On the firewall's CLI (SSH) run `" + scp + "`, then attach the file to the case."}},
	})
}

// TestStoppedInOneOf: a step sent once with one_of forms, stopped while
// a form is in flight, lists by_hand every form the device may still
// take: the one in flight and those not tried yet, not those it refused;
// runbook cleanup rebuilds the same from the forms its step-start
// journals.
func TestStoppedInOneOf(t *testing.T) {
	checkSendCase(t, sendCase{
		playbook: `name: oneof
title: Stopped while form 2 is in flight
steps:
  - id: routes
    run:
      one_of:
      - show advanced-routing route
      - show routing route
      - show routing summary
  - run: show clock
`,
		exchanges: []replay.Exchange{{Command: "show advanced-routing route", Error: unknown}, {Command: "show routing route", Duration: time.Minute}},
		stop:      func(e engine.Event) bool { return e.Type == engine.EvFormTried && e.Form == 2 },
		missing: []engine.MissingRecord{{Seq: 1, Step: "routes", Kind: "run", Command: "show routing route", Status: "interrupted",
			Error: "cut short: the run was interrupted while it sent its command: it was not taken",
			ByHand: "Run on the firewall's CLI, while the problem happens, the form of this command the release takes: " +
				"`show routing route` or `show routing summary`; save its output with the run folder."}},
	})
}

// TestKilledInExport: the engine killed while an export step downloads
// its file leaves the partial download in artifacts/; runbook cleanup
// lists the file as missing evidence (cut short), names no artifact and
// removes the partial file, which is never the evidence.
func TestKilledInExport(t *testing.T) {
	src := `name: export
title: Killed while the pcap downloads
steps:
  - id: ike_pcap
    export: debug-pcap
    file: ikemgr.pcap
`
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killed := filepath.Join(t.TempDir(), "killed")
	dir := filepath.Join(t.TempDir(), "run")
	tr := &stalledExport{Transport: replay.New(&replay.Cassette{}, replay.Options{})}
	tr.started = func() {
		// The folder as a kill leaves it, mid-download.
		if err := os.CopyFS(killed, os.DirFS(dir)); err != nil {
			t.Error(err)
		}
		cancel()
	}
	engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: parsed(t, "export.yaml", src), Params: map[string]any{}, Target: "fw1", Transport: "replay",
		Dir: dir, Yes: true,
		Open: func(context.Context) (transports.Transport, error) { return tr, nil },
	}).Run(ctx)
	partial, _ := filepath.Glob(filepath.Join(killed, "artifacts", ".partial-*"))
	if len(partial) != 1 {
		t.Fatalf("the killed folder holds %q in artifacts/, want one partial file", partial)
	}
	m := rebuild(t, killed)
	if len(m.Missing) != 1 || m.Missing[0].Kind != "export" || m.Missing[0].Step != "ike_pcap" || m.Missing[0].Command != "export debug-pcap ikemgr.pcap" ||
		!strings.HasPrefix(m.Missing[0].Error, "cut short") ||
		m.Missing[0].ByHand != "On the firewall's CLI (SSH) run `scp export debug-pcap from ikemgr.pcap to USER@HOST:PATH`, then attach the file to the case." {
		t.Errorf("missing_evidence %+v", m.Missing)
	}
	if len(m.Artifacts) != 0 {
		t.Errorf("artifacts %+v", m.Artifacts)
	}
	if ents, _ := os.ReadDir(filepath.Join(killed, "artifacts")); len(ents) != 0 {
		t.Errorf("runbook cleanup left %d files in artifacts/ (%s...)", len(ents), ents[0].Name())
	}
}

// TestStoppedInOneOfOldJournal: a journal from before the step-start's
// forms still rebuilds: the step sent once the run was stopped in is
// listed with the step-start's command, as before.
func TestStoppedInOneOfOldJournal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killed := filepath.Join(t.TempDir(), "killed")
	runStrict(t, ctx, parsed(t, "oneof.yaml", `name: oneof
title: Stopped while form 2 is in flight
steps:
  - id: routes
    run:
      one_of:
      - show advanced-routing route
      - show routing route
`), map[string]any{}, func(o *engine.Options) {
		o.Folder = wrapped(func(f engine.Folder) engine.Folder { return &killedAt{Folder: f, t: t, killed: killed} })
		o.Observer = engine.ObserverFunc(func(e engine.Event) {
			if e.Type == engine.EvFormTried && e.Form == 2 {
				cancel()
			}
		})
	}, replay.Exchange{Command: "show advanced-routing route", Error: unknown}, replay.Exchange{Command: "show routing route", Duration: time.Minute})
	p := filepath.Join(killed, engine.JournalFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	dropped := false
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if e["event"] == "step-start" && e["forms"] != nil {
			delete(e, "forms")
			dropped = true
		}
		nb, _ := json.Marshal(e)
		out = append(out, string(nb))
	}
	if !dropped {
		t.Fatal("no step-start journals the forms")
	}
	if err := os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := rebuild(t, killed)
	if len(m.Missing) != 1 || m.Missing[0].Step != "routes" || m.Missing[0].Command != "show advanced-routing route" {
		t.Errorf("missing_evidence rebuilt from a journal without forms %+v", m.Missing)
	}
}
