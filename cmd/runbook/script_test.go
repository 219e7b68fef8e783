package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/runcase"
)

// TestMain lets the scripts run this binary as the "runbook" command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"runbook": func() {
			// Scripts may stand in their own built-ins: the shipped set
			// changes as playbooks are written.
			if d := os.Getenv("RUNBOOK_TEST_BUILTINS"); d != "" {
				builtins = playbooks.Set{FS: os.DirFS(d)}
			}
			os.Exit(run(os.Args[1:], defaultStreams()))
		},
	})
}

// TestScript runs the CLI scripts in testdata/script. UPDATE_SCRIPTS=1
// rewrites their golden sections in place.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: os.Getenv("UPDATE_SCRIPTS") != "",
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exits":   cmdExits,
			"rundir":  cmdRunDir,
			"ndjson":  cmdNDJSON,
			"sampled": cmdSampled,
			"waitfor": cmdWaitFor,
		},
	})
}

// cmdExits runs a command and checks its exit code:
//
//	exits 2 runbook validate bad.yaml
//
// Its stdout and stderr are kept for the commands that follow.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit code %d, want %d", got, want)
	}
}

// cmdRunDir sets an environment variable to the only run folder under a
// directory (run folder names carry a timestamp), or the only one whose
// name ends with SUFFIX (an end's run folder in a case folder):
//
//	rundir RUN out
//	rundir PEER $CASE -demo-peer
func cmdRunDir(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: rundir VAR DIR [SUFFIX]")
	}
	ents, err := os.ReadDir(ts.MkAbs(args[1]))
	ts.Check(err)
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && (len(args) < 3 || strings.HasSuffix(e.Name(), args[2])) {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) != 1 {
		ts.Fatalf("rundir: want one run folder in %s, found %q", args[1], dirs)
	}
	ts.Setenv(args[0], filepath.Join(ts.MkAbs(args[1]), dirs[0]))
}

// cmdWaitFor waits until a file matching GLOB holds a line matching
// REGEXP: a script that signals a background run waits for the run to be
// where the signal must find it, instead of sleeping a guess (a loaded
// machine starts the run late). It gives up after 60 s.
//
//	waitfor out/*/journal.jsonl '"event":"undo-armed".*"debug ike pcap on"'
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfor GLOB REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	deadline := time.Now().Add(60 * time.Second)
	for {
		files, err := filepath.Glob(ts.MkAbs(args[0]))
		ts.Check(err)
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && re.Match(b) {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfor: no file matching %s holds %q after 60s", args[0], args[1])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdSampled checks in a case folder's case.json that the ends met at
// every run of a repeated step, in order: each run 1..RUNS is a point of
// kind repeat that every END met (none missing, none late), each END
// started it, and no end started run k+1 before every end had started
// run k. It reads the order of the starts, never their spacing.
//
//	sampled $CASE flow 2 demo demo-peer
func cmdSampled(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: sampled CASEDIR STEP RUNS END...")
	}
	runs, err := strconv.Atoi(args[2])
	if err != nil || runs < 1 {
		ts.Fatalf("sampled: bad RUNS %q", args[2])
	}
	step, ends := args[1], args[3:]
	c, err := runcase.Read(ts.MkAbs(args[0]))
	ts.Check(err)
	if c.Sampling == nil {
		ts.Fatalf("sampled: case.json has no sampling")
	}
	if !slices.Equal(c.Sampling.Ends, ends) {
		ts.Fatalf("sampled: ends %q, want %q", c.Sampling.Ends, ends)
	}
	var prevLast time.Time
	for run := 1; run <= runs; run++ {
		var p *runcase.Sampled
		for i := range c.Sampling.Points {
			if q := &c.Sampling.Points[i]; q.Step == step && q.Run == run {
				if p != nil {
					ts.Fatalf("sampled: %s run %d is recorded twice", step, run)
				}
				p = q
			}
		}
		if p == nil {
			ts.Fatalf("sampled: no point for %s run %d", step, run)
		}
		if p.Kind != "repeat" || p.Runs != runs {
			ts.Fatalf("sampled: %s run %d: kind %s, runs %d; want repeat, %d", step, run, p.Kind, p.Runs, runs)
		}
		if !slices.Equal(p.Met, ends) || len(p.Missing) > 0 || len(p.Late) > 0 {
			ts.Fatalf("sampled: %s run %d: met %q, missing %v, late %q; want met by %q", step, run, p.Met, p.Missing, p.Late, ends)
		}
		var first, last time.Time
		for _, e := range ends {
			i := slices.IndexFunc(p.Starts, func(s runcase.SampledStart) bool { return s.Target == e })
			if i < 0 {
				ts.Fatalf("sampled: %s run %d: no start of %s", step, run, e)
			}
			st := p.Starts[i].Start
			if first.IsZero() || st.Before(first) {
				first = st
			}
			if st.After(last) {
				last = st
			}
		}
		if run > 1 && first.Before(prevLast) {
			ts.Fatalf("sampled: %s run %d started at %s, before the last end started run %d at %s", step, run, first, run-1, prevLast)
		}
		prevLast = last
	}
}

// cmdNDJSON checks that the last command's stdout is nothing but events
// (one JSON object per line, each of the current schema), and that each
// TYPE given is among them:
//
//	ndjson run-started step-ended run-ended
func cmdNDJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: ndjson [TYPE...]")
	}
	out := ts.ReadFile("stdout")
	if out == "" {
		ts.Fatalf("ndjson: stdout is empty")
	}
	seen := map[engine.EventType]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var e engine.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			ts.Fatalf("ndjson: stdout line %d is not JSON: %v\n%s", i+1, err, line)
		}
		if e.V != engine.EventSchema || e.Type == "" {
			ts.Fatalf("ndjson: stdout line %d is not an event of schema %d:\n%s", i+1, engine.EventSchema, line)
		}
		seen[e.Type] = true
	}
	for _, t := range args {
		if !seen[engine.EventType(t)] {
			ts.Fatalf("ndjson: no %s event on stdout", t)
		}
	}
}
