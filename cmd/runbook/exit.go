package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/transports"
)

// The exit codes, chosen in one place (exitCode). They are the engine's
// (engine.Outcome's table maps each run status to one); the commands that
// run nothing use the same numbers for the same kinds of ending.
const (
	exitOK = engine.ExitOK // done and clean
	// a step failed, cleanup done; also a run whose steps all ran but some
	// that let it go on failed (engine.StatusIncomplete): evidence is
	// missing, so it is not "done and clean" and a job checking the exit
	// code must not read it as 0 (nor as 5: a finding that did not fire
	// may have lacked its evidence)
	exitStepFailed  = engine.ExitStepFailed
	exitInvalid     = engine.ExitInvalid     // invalid input (usage, playbook, inventory, params), nothing sent
	exitDirty       = engine.ExitDirty       // cleanup incomplete: the device may still be in debug
	exitConnect     = engine.ExitConnect     // could not connect or authenticate, nothing sent
	exitFinding     = engine.ExitFinding     // done and clean, and a finding at --fail-on or worse fired
	exitInterrupted = engine.ExitInterrupted // interrupted, cleanup done
)

// exitUse is one exit code of a command and what it means there.
type exitUse struct {
	code  int
	words string
}

// exitTable is the one table of exit codes per command: each command's help
// lists its codes from here (exitHelp), and a test checks each command's
// help has its section.
var exitTable = map[string][]exitUse{
	"run": {
		{exitOK, "done and clean (--dry-run: the plan was printed, nothing was sent)"},
		{exitStepFailed, "a step failed (or steps that let the run go on failed: an export, an on_error:\ncontinue step; the other steps still ran and the summary lists the missing\nevidence), cleanup done"},
		{exitInvalid, "invalid input (usage, playbook, inventory, params); nothing was sent"},
		{exitDirty, "cleanup incomplete: the device may still be in debug (wins over every other code)"},
		{exitConnect, "could not connect or authenticate; nothing was sent"},
		{exitFinding, "done and clean, and a finding of the --fail-on severity or worse fired"},
		{exitInterrupted, "interrupted, cleanup done"},
	},
	"cleanup": {
		{exitOK, "nothing left to do, or everything done"},
		{exitInvalid, "invalid input (not a run folder, unknown target)"},
		{exitDirty, "some commands still failed: the device may still be in debug"},
		{exitConnect, "could not connect or authenticate"},
	},
	"completion": {
		{exitOK, "the script was printed"},
		{exitInvalid, "no shell, or one runbook has no script for"},
	},
	"show": {
		{exitOK, "shown"},
		{exitInvalid, "the playbook has mistakes (see runbook validate) or does not exist"},
	},
	"validate": {
		{exitOK, "every playbook is valid"},
		{exitInvalid, "a playbook has mistakes, or an argument names nothing"},
	},
	"targets": {
		{exitOK, "the inventory is valid (--panorama: the managed firewalls were listed)"},
		{exitInvalid, "it is not, or none was found, or --panorama names no xmlapi target"},
		{exitConnect, "--panorama: could not connect to the Panorama or authenticate"},
	},
	"sim": {
		{exitOK, "stopped by Ctrl-C"},
		{exitInvalid, "invalid flags"},
		{exitConnect, "cannot listen on the address"},
	},
	"test": {
		{exitOK, "every case passed (or, with --update, every case ran)"},
		{exitStepFailed, "a case failed: its replay differs from its expectations, or it has none"},
		{exitInvalid, "invalid input: a path that does not exist, a playbook without cases, a\ncassette or playbook that does not load, params that do not bind"},
	},
}

// exitHelp is the "Exit codes:" section of a command's help, from
// exitTable.
func exitHelp(command string) string {
	uses := exitTable[command]
	width := 0
	for _, u := range uses {
		width = max(width, len(strconv.Itoa(u.code)))
	}
	var b strings.Builder
	b.WriteString("Exit codes:")
	for _, u := range uses {
		lines := strings.Split(u.words, "\n")
		fmt.Fprintf(&b, "\n  %-*d  %s", width, u.code, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(&b, "\n  %*s  %s", width, "", l)
		}
	}
	return b.String()
}

// exitCodesHelp is run's section, with how several targets combine
// (engine.WorseExit; a test checks the order written here).
var exitCodesHelp = exitHelp("run") + `
With several targets the exit code is the worst of theirs, in this order:
3 > 130 > 4 > 1 > 2 > 5 > 0. A finding never hides a failure: a run whose
step failed exits 1 whatever its findings.`

// usageError is bad command-line usage (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries an explicit exit code; its message, if any, is printed.
type exitError struct {
	code int
	err  error // nil: already reported
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// exitCode prints err (if not yet reported) and maps it to the exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "runbook:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "runbook:", err)
	return exitFor(err)
}

// exitFor maps a typed error to its exit code: bad usage, a playbook's
// mistakes, bad params and a run that needs an operator are invalid input;
// a connection that failed is exitConnect; a cancelled context (a signal)
// is exitInterrupted. Anything else is invalid input too (cobra's unknown
// commands and flags).
func exitFor(err error) int {
	var ue usageError
	var list playbook.ErrorList
	var ce *transports.ConnError
	switch {
	case errors.As(err, &ue), errors.As(err, &list), errors.Is(err, playbook.ErrParams),
		errors.Is(err, engine.ErrNeedsConfirmation):
		return exitInvalid
	case errors.As(err, &ce):
		return exitConnect
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	// Unknown commands and flags from cobra are usage errors too.
	return exitInvalid
}

// signalContext returns a context cancelled by the first SIGINT, SIGTERM or
// SIGHUP. Later signals are reported to the handlers registered with
// onRepeatedSignal (the run command says what cleanup is still pending, and
// the third forces exit).
func signalContext(parent context.Context, io *IOStreams) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 3)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case s := <-ch:
				n++
				if n == 1 {
					cancel(interruptedError{s})
					continue
				}
				repeatedSignal(n, io)
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruptedError is the cause of a context cancelled by a signal.
type interruptedError struct{ sig os.Signal }

func (e interruptedError) Error() string {
	switch e.sig {
	case os.Interrupt:
		return "interrupted (Ctrl-C, SIGINT)"
	case syscall.SIGTERM:
		return "interrupted (SIGTERM)"
	case syscall.SIGHUP:
		return "interrupted (SIGHUP)"
	}
	return "interrupted by " + e.sig.String()
}
func (e interruptedError) Unwrap() error { return context.Canceled }

// pendingFunc reports the undo/cleanup commands still to run and the run
// folders they belong to.
type pendingFunc func() (pending, dirs []string)

var signalHook struct {
	sync.Mutex
	pending pendingFunc
}

// watchSignals makes the second and third signals report pending cleanup;
// the returned func removes the hook.
func watchSignals(f pendingFunc) func() {
	signalHook.Lock()
	signalHook.pending = f
	signalHook.Unlock()
	return func() {
		signalHook.Lock()
		signalHook.pending = nil
		signalHook.Unlock()
	}
}

// repeatedSignal handles the second and later signals: the second says what
// cleanup is still running, the third forces exit, printing what was not
// undone and how to finish.
func repeatedSignal(n int, io *IOStreams) {
	signalHook.Lock()
	f := signalHook.pending
	signalHook.Unlock()
	var pending, dirs []string
	if f != nil {
		pending, dirs = f()
	}
	if n == 2 {
		if len(pending) == 0 {
			fmt.Fprintln(io.ErrOut, "runbook: interrupted again; finishing cleanup. Press Ctrl-C once more to force exit")
			return
		}
		fmt.Fprintln(io.ErrOut, "runbook: interrupted again; cleanup is still running these commands:")
		for _, p := range pending {
			fmt.Fprintln(io.ErrOut, "  "+p)
		}
		fmt.Fprintln(io.ErrOut, "runbook: press Ctrl-C once more to force exit (the device may stay in debug)")
		return
	}
	if len(pending) == 0 {
		fmt.Fprintln(io.ErrOut, "runbook: forced exit")
		os.Exit(exitInterrupted)
	}
	fmt.Fprintln(io.ErrOut, "runbook: forced exit; these commands were NOT undone, the device may still be in debug:")
	for _, p := range pending {
		fmt.Fprintln(io.ErrOut, "  "+p)
	}
	for _, d := range dirs {
		fmt.Fprintf(io.ErrOut, "runbook: finish with: runbook cleanup %s\n", d)
	}
	os.Exit(exitDirty)
}
