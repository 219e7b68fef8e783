package engine_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports/replay"
)

// spyFolder is the run folder package runfolder writes, with what it was
// handed kept aside (each event, without its Write), and the errors fail
// says for an event returned instead of handing it over.
type spyFolder struct {
	engine.Folder
	seen []engine.Event
	// writes counts the events that carried something to write, steps
	// those that carried a step record.
	writes, steps int
	fail          func(e engine.Event) error
}

func (f *spyFolder) Record(e engine.Event) error {
	if e.Write != nil {
		f.writes++
		if e.Write.Step != nil {
			f.steps++
		}
	}
	var err error
	if f.fail != nil {
		err = f.fail(e)
	}
	if err == nil {
		err = f.Folder.Record(e)
	}
	e.Write = nil
	f.seen = append(f.seen, e)
	return err
}

// spying makes o's run folder a spyFolder, set up by setup.
func spying(o *engine.Options, setup func(*spyFolder)) **spyFolder {
	var spy *spyFolder
	o.Folder = wrapped(func(f engine.Folder) engine.Folder {
		spy = &spyFolder{Folder: f}
		if setup != nil {
			setup(spy)
		}
		return spy
	})
	return &spy
}

// recorded reads the step records the folder holds so far (RecordsFile
// while the run runs), by seq.
func recorded(t *testing.T, dir string) map[int]engine.StepRecord {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, runfolder.RecordsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int]engine.StepRecord{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec engine.StepRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		out[rec.Seq] = rec
	}
	return out
}

// TestFolderSeesEveryEventFirst: the run folder gets every event the
// other observers get, in the same order, and each before them: when an
// observer sees step-ended, its output file is on disk and its record in
// the folder; when it sees run-ended, manifest.json and summary.md are
// the finished record. No other observer ever sees what only the folder
// gets (Event.Write).
func TestFolderSeesEveryEventFirst(t *testing.T) {
	for name, edit := range map[string]func(*replay.Cassette){
		"basic": nil,
		// The export is pulled into artifacts/ (Folder.Artifact).
		"pulled export": func(c *replay.Cassette) {
			c.ExportCategories = []string{"debug-pcap"}
			c.Exports = []replay.Export{{Category: "debug-pcap", File: "ikemgr.pcap", Name: "ikemgr.pcap", Size: 5, Content: []byte("pcap!"), After: 99}}
		},
	} {
		t.Run(name, func(t *testing.T) { folderFirst(t, edit, edit != nil) })
	}
}

func folderFirst(t *testing.T, edit func(*replay.Cassette), pulls bool) {
	var spy **spyFolder
	var got []engine.Event
	ended, artifacts := 0, 0
	res, _ := runIt(t, runCfg{edit: edit, opts: func(o *engine.Options) {
		spy = spying(o, nil)
		o.Observer = engine.ObserverFunc(func(e engine.Event) {
			if e.Write != nil {
				t.Errorf("%s reached an observer with Write %+v", e.Type, e.Write)
			}
			seen := (*spy).seen
			if len(seen) != len(got)+1 || !reflect.DeepEqual(seen[len(got)], e) {
				t.Fatalf("event %d %s: the folder had not seen it first (it saw %d events)", len(got), e.Type, len(seen))
			}
			got = append(got, e)
			dir := (*spy).Dir()
			switch e.Type {
			case engine.EvStepEnded:
				ended++
				if strings.HasPrefix(e.Output, "artifacts/") {
					artifacts++
				}
				if _, err := os.Stat(filepath.Join(dir, e.Output)); err != nil {
					t.Errorf("step-ended %d: output %s not on disk (%v)", e.Seq, e.Output, err)
				}
				if rec, ok := recorded(t, dir)[e.Seq]; !ok || rec.Output != e.Output || rec.SHA256 == "" {
					t.Errorf("step-ended %d: record %+v, want it recorded with %s and its sha256", e.Seq, rec, e.Output)
				}
			case engine.EvRunEnded:
				m, err := runfolder.ReadManifest(dir)
				if err != nil || m.Status != string(engine.StatusOK) || len(m.Steps) == 0 {
					t.Errorf("at run-ended manifest.json is not the finished record: %+v, %v", m, err)
				}
				if _, err := os.Stat(filepath.Join(dir, "summary.md")); err != nil {
					t.Errorf("at run-ended: %v", err)
				}
			}
		})
	}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	if ended == 0 || (*spy).writes == 0 || pulls != (artifacts == 1) {
		t.Fatalf("%d step-ended (%d pulled), %d writes: the test proves nothing", ended, artifacts, (*spy).writes)
	}
	if !reflect.DeepEqual((*spy).seen, got) {
		t.Errorf("the folder saw %v\nthe observer %v", types((*spy).seen), types(got))
	}
	// Every step on record came with its event.
	if n := len(written(t, res).Steps); n == 0 || n != (*spy).steps {
		t.Errorf("%d steps recorded, %d events carried a step", n, (*spy).steps)
	}
}

// TestFolderErrors: the folder is an observer that can fail, and the
// engine deals with each failure where it knows what failed: an output
// file that cannot be written is a problem of its step, before its
// step-ended (which names no file; nor does its record), and the run goes
// on; a step record that cannot be written and a finished record that
// cannot be written are problems of the run; a manifest that cannot be
// written at run-started refuses the run before anything is sent or
// shown.
func TestFolderErrors(t *testing.T) {
	full := errors.New("no space left on device")
	t.Run("output", func(t *testing.T) {
		var got []engine.Event
		res, tr := runIt(t, runCfg{opts: func(o *engine.Options) {
			spying(o, func(f *spyFolder) {
				f.fail = func(e engine.Event) error {
					if e.Type != engine.EvStepEnded || e.Command != "show clock" {
						return nil
					}
					// The rest of what the event carries is written.
					w := *e.Write
					w.File, w.Output = "", nil
					e.Write = &w
					return errors.Join(&engine.OutputError{File: e.Output, Err: full}, f.Folder.Record(e))
				}
			})
			o.Observer = engine.ObserverFunc(func(e engine.Event) { got = append(got, e) })
		}})
		if res.ExitCode != 0 || tr == nil {
			t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
		}
		i := slices.IndexFunc(got, func(e engine.Event) bool { return e.Type == engine.EvStepEnded && e.Command == "show clock" })
		if i < 1 {
			t.Fatalf("no step-ended of show clock: %v", types(got))
		}
		p := got[i-1]
		if p.Type != engine.EvProblem || p.Scope != "step" || !strings.HasPrefix(p.Message, "could not write steps/003-clock.txt: ") ||
			!strings.HasSuffix(p.Message, full.Error()) {
			t.Errorf("before step-ended: %+v, want the step's problem", p)
		}
		if got[i].Output != "" || got[i].Status != engine.EvOK {
			t.Errorf("step-ended %+v: want ok, naming no output", got[i])
		}
		for _, s := range written(t, res).Steps {
			if s.Command == "show clock" && (s.Output != "" || s.SHA256 != "") {
				t.Errorf("record %+v names an output not written", s)
			}
		}
		if _, err := os.Stat(filepath.Join(res.Dir, "steps", "003-clock.txt")); !os.IsNotExist(err) {
			t.Errorf("steps/003-clock.txt: %v", err)
		}
	})
	t.Run("record", func(t *testing.T) {
		var problems []string
		res, _ := runIt(t, runCfg{opts: func(o *engine.Options) {
			spying(o, func(f *spyFolder) {
				f.fail = func(e engine.Event) error {
					if e.Type == engine.EvStepEnded && e.Seq == 2 {
						return full
					}
					return nil
				}
			})
			o.Observer = engine.ObserverFunc(func(e engine.Event) {
				if e.Type == engine.EvProblem {
					problems = append(problems, e.Scope+": "+e.Message)
				}
			})
		}})
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
		}
		if want := []string{"run: recording step 2: " + full.Error()}; !slices.Equal(problems, want) {
			t.Errorf("problems %q, want %q", problems, want)
		}
	})
	t.Run("end", func(t *testing.T) {
		var got []engine.Event
		res, _ := runIt(t, runCfg{opts: func(o *engine.Options) {
			spying(o, func(f *spyFolder) {
				f.fail = func(e engine.Event) error {
					if e.Type == engine.EvRunEnded {
						return full
					}
					return nil
				}
			})
			o.Observer = engine.ObserverFunc(func(e engine.Event) { got = append(got, e) })
		}})
		n := len(got)
		if n < 2 || got[n-1].Type != engine.EvRunEnded || got[n-2].Type != engine.EvProblem ||
			got[n-2].Message != "writing the run folder: "+full.Error() || got[n-2].Scope != "run" {
			t.Fatalf("the run ended with %v (%+v)", types(got), got[max(n-2, 0)])
		}
		if res.ExitCode != 0 {
			t.Errorf("exit %d: %v", res.ExitCode, res.Err)
		}
	})
	t.Run("run-started", func(t *testing.T) {
		var got []engine.Event
		res, tr := runIt(t, runCfg{opts: func(o *engine.Options) {
			spying(o, func(f *spyFolder) {
				f.fail = func(e engine.Event) error {
					if e.Type == engine.EvRunStarted {
						return full
					}
					return nil
				}
			})
			o.Observer = engine.ObserverFunc(func(e engine.Event) { got = append(got, e) })
		}})
		if res.Status != engine.StatusRefused || res.ExitCode != engine.ExitInvalid || !errors.Is(res.Err, full) {
			t.Fatalf("status %s exit %d: %v; want refused", res.Status, res.ExitCode, res.Err)
		}
		if tr != nil || len(got) > 0 {
			t.Errorf("a refused run connected (%v) or showed %v", tr != nil, types(got))
		}
	})
}
