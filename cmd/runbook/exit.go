package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// The exit codes, chosen in one place (exitCode). Listed in `runbook run --help`.
const (
	exitOK          = 0   // done and clean
	exitStepFailed  = 1   // a step failed, cleanup done
	exitInvalid     = 2   // invalid input (usage, playbook, inventory, params), nothing sent
	exitDirty       = 3   // cleanup incomplete: the device may still be in debug
	exitConnect     = 4   // could not connect or authenticate, nothing sent
	exitFinding     = 5   // done and clean, and a finding at --fail-on or worse fired
	exitInterrupted = 130 // interrupted, cleanup done
)

const exitCodesHelp = `Exit codes:
  0    done and clean
  1    a step failed (or an export failed, the other steps still ran), cleanup done
  2    invalid input (usage, playbook, inventory, params); nothing was sent
  3    cleanup incomplete: the device may still be in debug (wins over every other code)
  4    could not connect or authenticate; nothing was sent
  5    done and clean, and a finding of the --fail-on severity or worse fired
  130  interrupted, cleanup done
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
	var ue usageError
	if errors.As(err, &ue) {
		return exitInvalid
	}
	if errors.Is(err, context.Canceled) {
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
