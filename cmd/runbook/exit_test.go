package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/transports"
)

// TestExitHelpFromTable: each command of the table shows its section in
// its help, and only the codes the table gives it.
func TestExitHelpFromTable(t *testing.T) {
	cmds := map[string]bool{}
	for _, c := range subcommands(&IOStreams{Out: io.Discard, ErrOut: io.Discard, Getenv: func(string) string { return "" }}) {
		cmds[c.Name()] = true
		if uses, ok := exitTable[c.Name()]; ok {
			if !strings.Contains(c.Long, exitHelp(c.Name())) {
				t.Errorf("runbook %s --help does not show its exit codes from the table:\n%s", c.Name(), c.Long)
			}
			if !strings.HasSuffix(c.Long, exitHelp(c.Name())) && c.Name() != "run" {
				t.Errorf("runbook %s --help: the exit codes are not its last section", c.Name())
			}
			listed := regexp.MustCompile(`(?m)^  (\d+) `).FindAllStringSubmatch(c.Long[strings.Index(c.Long, "Exit codes:"):], -1)
			if len(listed) != len(uses) {
				t.Errorf("runbook %s --help lists %d codes, the table %d", c.Name(), len(listed), len(uses))
			}
		}
	}
	for name := range exitTable {
		if !cmds[name] {
			t.Errorf("exitTable has %q, which is no command", name)
		}
	}
}

// TestExitPrecedenceWritten: the order run --help states is the one
// engine.WorseExit applies.
func TestExitPrecedenceWritten(t *testing.T) {
	m := regexp.MustCompile(`(\d+(?: > \d+)+)`).FindString(exitCodesHelp)
	var order []int
	for _, f := range strings.Split(m, " > ") {
		n, _ := strconv.Atoi(f)
		order = append(order, n)
	}
	if len(order) != len(exitTable["run"]) {
		t.Fatalf("the precedence %q lists %d codes, run has %d", m, len(order), len(exitTable["run"]))
	}
	for i := range order {
		for j := i + 1; j < len(order); j++ {
			if got := engine.WorseExit(order[i], order[j]); got != order[i] {
				t.Errorf("WorseExit(%d, %d) = %d; the help says %d is worse", order[i], order[j], got, order[i])
			}
		}
	}
}

// TestExitFor maps typed errors, wrapped, to their codes.
func TestExitFor(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{usageError{errors.New("x")}, exitInvalid},
		{fmt.Errorf("pb: %w", playbook.ErrorList{{Msg: "bad"}}), exitInvalid},
		{fmt.Errorf("pb: %w", &playbook.ParamError{Name: "p", Msg: "required"}), exitInvalid},
		{fmt.Errorf("fw1: %w", engine.ErrNeedsConfirmation), exitInvalid},
		{fmt.Errorf("open: %w", &transports.ConnError{Target: "fw1", Err: errors.New("refused")}), exitConnect},
		{fmt.Errorf("run: %w", context.Canceled), exitInterrupted},
		{&exitError{code: exitDirty}, exitDirty},
		{errors.New(`unknown command "x" for "runbook"`), exitInvalid},
	} {
		if got := exitCode(c.err, io.Discard); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
