package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/runtest"
	"github.com/runbook-dev/runbook/transports/replay"
)

type testOptions struct {
	io *IOStreams

	Paths     []string
	Update    bool
	ByCommand bool
}

var testExitCodesHelp = exitHelp("test")

func newTestCmd(io *IOStreams) *cobra.Command {
	opts := &testOptions{io: io}
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Test playbooks against recorded sessions",
		Long: `Replay recorded sessions (cassettes) through their playbooks and compare what
happens with the expectations stored beside each cassette (CASE.expect.yaml): every
command sent, in order, with undo and cleanup; the findings that fired; the exit code.
Nothing is sent to any device.

A PATH is a playbook file (its cases are the cassettes in testdata/NAME/ beside it),
a cassette, or a directory searched for cassettes (hidden and testdata/ directories
below it skipped, except a playbook's testdata/NAME/); the default is the current
directory, which at this repository's root finds examples/cassettes. A cassette's
playbook is the one its header names: NAME.yaml beside it or in a parent directory
(up to the repository's root), else the built-in of that name. Each case replays
with the params recorded in the cassette and --yes.

See docs/testing-playbooks.md.

` + testExitCodesHelp,
		Example: `  # Every case under the current directory
  runbook test

  # The shipped cassettes, and one of them
  runbook test examples/cassettes
  runbook test examples/cassettes/phase2-down.yaml

  # After changing a playbook on purpose: rewrite the expectations, then review the diff
  runbook test --update examples/cassettes/phase2-down.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			return runTest(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Update, "update", false, "rewrite each case's expectations with what its replay gives")
	f.BoolVar(&opts.ByCommand, "by-command", false, "answer each command with its next recorded answer wherever it comes (for exploring; the default is strict order)")
	return cmd
}

// builtinPlaybook loads a built-in for runtest, from the set the CLI uses.
func builtinPlaybook(name string) (*playbook.Playbook, string, error) {
	if _, ok := builtins.Lookup(name); !ok {
		return nil, "", errNoPlaybook
	}
	pb, err := builtins.Load(name)
	if err != nil {
		return nil, "", err
	}
	return pb, "built-in " + name, nil
}

func runTest(ctx context.Context, opts *testOptions) error {
	io := opts.io
	cases, err := runtest.Find(opts.Paths...)
	if err != nil {
		return &exitError{code: exitInvalid, err: fmt.Errorf("test: %w", err)}
	}
	ro := runtest.Options{Builtin: builtinPlaybook}
	if opts.ByCommand {
		ro.Mode = replay.ByCommand
	}
	run := runtest.Run
	if opts.Update {
		run = runtest.Update
	}
	var passed, failed, bad, updated int
	for _, c := range cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		out := run(ctx, c, ro)
		ms := fmt.Sprintf("(%dms)", out.Elapsed.Milliseconds())
		switch {
		case out.Err != nil && errors.Is(out.Err, runtest.ErrNoExpectation):
			failed++
			fmt.Fprintf(io.Out, "FAIL %s %s\n    %v\n", c.Name, ms, out.Err)
		case out.Err != nil:
			bad++
			fmt.Fprintf(io.Out, "ERROR %s: %s\n", c.Name, indent(out.Err.Error()))
		case opts.Update && out.Diff != "":
			updated++
			fmt.Fprintf(io.Out, "UPDATED %s %s\n%s", c.Name, ms, indentDiff(out.Diff))
		case out.Diff != "":
			failed++
			fmt.Fprintf(io.Out, "FAIL %s %s\n%s", c.Name, ms, indentDiff(out.Diff))
			if out.RunErr != nil {
				fmt.Fprintf(io.Out, "    the run ended with: %s\n", indent(out.RunErr.Error()))
			}
		default:
			passed++
			fmt.Fprintf(io.Out, "PASS %s %s\n", c.Name, ms)
		}
	}
	summary := fmt.Sprintf("%d passed", passed)
	if updated > 0 {
		summary += fmt.Sprintf(", %d updated", updated)
	}
	if failed > 0 {
		summary += fmt.Sprintf(", %d failed", failed)
	}
	if bad > 0 {
		summary += fmt.Sprintf(", %d could not run", bad)
	}
	fmt.Fprintln(io.ErrOut, "runbook test: "+summary)
	switch {
	case bad > 0:
		return &exitError{code: exitInvalid}
	case failed > 0:
		return &exitError{code: exitStepFailed}
	}
	return nil
}

// indent indents the continuation lines of a multi-line message.
func indent(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// indentDiff indents every line of a diff under its FAIL line.
func indentDiff(d string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(strings.TrimRight(d, "\n"), "\n") {
		b.WriteString("    " + l)
	}
	b.WriteString("\n")
	return b.String()
}
