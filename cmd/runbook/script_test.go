package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/playbooks"
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
			"exits":  cmdExits,
			"rundir": cmdRunDir,
			"ndjson": cmdNDJSON,
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
// directory (run folder names carry a timestamp):
//
//	rundir RUN out
func cmdRunDir(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: rundir VAR DIR")
	}
	ents, err := os.ReadDir(ts.MkAbs(args[1]))
	ts.Check(err)
	var dirs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) != 1 {
		ts.Fatalf("rundir: want one run folder in %s, found %q", args[1], dirs)
	}
	ts.Setenv(args[0], filepath.Join(ts.MkAbs(args[1]), dirs[0]))
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
