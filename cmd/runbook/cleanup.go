package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/internal/words"
	"github.com/runbook-dev/runbook/inventory"
	"github.com/runbook-dev/runbook/observe"
	"github.com/runbook-dev/runbook/report"
	"github.com/runbook-dev/runbook/runcase"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

type cleanupOptions struct {
	io        *IOStreams
	Dir       string
	Inventory string
	Force     bool
}

func newCleanupCmd(io *IOStreams) *cobra.Command {
	opts := &cleanupOptions{io: io}
	cmd := &cobra.Command{
		Use:   "cleanup RUNDIR|CASEDIR",
		Short: "Finish the cleanup of a run that was killed or could not reach the device",
		Long: `Read the journal of a run folder, reconnect to its target, and run every undo
and cleanup command that was not done yet (undo newest first, then cleanup),
recording each in the journal. Running it twice does nothing the second time.
Given a case folder (a run of several targets), it finishes the cleanup of
every run folder in it, one after the other, and rewrites the case's
summary; the exit code is the worst of theirs.
It drains the same ledger as the run itself, with the same labels (undo:,
cleanup:), the same 30s per command and the same reconnects. An entry with
several forms (one_of) tries them in order, skipping those the device already
refused; one whose when: the run never decided (or that failed) is printed for
you to run by hand, and stays pending.

` + exitHelp("cleanup"),
		Example: `  # Finish what a killed run left pending (needs: that run's folder and its target)
  runbook cleanup runs/20261127T100233Z-phase2-down-fw1
  runbook cleanup -i lab-inventory.yaml runs/20261127T100233Z-phase2-down-fw1`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("cleanup: want exactly one RUNDIR, got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return runCleanup(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Inventory, "inventory", "i", "", "inventory file")
	cmd.ValidArgsFunction = completeRunDir
	_ = cmd.RegisterFlagCompletionFunc("inventory", completeYAMLFile)
	cmd.Flags().BoolVar(&opts.Force, "force", false, "clean up even though the run's process seems alive")
	return cmd
}

// runEnded reports whether the journal records the end of the run.
func runEnded(entries []engine.JournalEntry) bool {
	for _, e := range entries {
		if e.Event == "run-end" {
			return true
		}
	}
	return false
}

func runCleanup(ctx context.Context, opts *cleanupOptions) error {
	if runcase.IsCase(opts.Dir) {
		return cleanupCase(ctx, opts)
	}
	return cleanupRun(ctx, opts)
}

// cleanupCase finishes the cleanup of every end of a case folder, one
// after the other (each is attempted whatever the others did), then
// rewrites the case. The exit code is the worst of theirs.
func cleanupCase(ctx context.Context, opts *cleanupOptions) error {
	io := opts.io
	c, err := runcase.Read(opts.Dir)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	worst := exitOK
	for _, dir := range c.Dirs(opts.Dir) {
		o := *opts
		o.Dir = dir
		code := exitCode(cleanupRun(ctx, &o), io.ErrOut)
		worst = engine.WorseExit(worst, code)
	}
	if _, err := runcase.Rebuild(opts.Dir); err != nil {
		fmt.Fprintf(io.ErrOut, "runbook: case %s: %v\n", opts.Dir, err)
	}
	if worst == exitOK {
		return nil
	}
	return &exitError{code: worst}
}

func cleanupRun(ctx context.Context, opts *cleanupOptions) error {
	io := opts.io
	start, entries, err := engine.ReadRunStart(opts.Dir)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	if pid := start.PID; !opts.Force && pid > 0 && !runEnded(entries) && processAlive(pid) {
		return &exitError{code: exitInvalid, err: fmt.Errorf("%s: the run is still going (pid %d) and cleans up itself when it ends; "+
			"stop it with Ctrl-C or `kill %d` (it still cleans up), or give --force if pid %d is not that run", opts.Dir, pid, pid, pid)}
	}
	// A run whose engine died (SIGKILL, a forced third Ctrl-C) left its
	// record at "running": rebuild it from the journal first, so the folder
	// says what happened whatever comes next.
	rf := runfolder.Open(opts.Dir)
	if rebuilt, err := engine.CompleteRunFolder(rf); err != nil {
		fmt.Fprintf(io.ErrOut, "runbook: %s: rebuilding the run's record: %v\n", opts.Dir, err)
	} else if rebuilt {
		writeReport(io, rf)
	}
	if len(engine.Pending(entries)) == 0 {
		// Nothing to send: no target, no inventory needed.
		fmt.Fprintf(io.ErrOut, "runbook: %s: nothing left to clean up\n", opts.Dir)
		return nil
	}
	if isDemo(start.Target) && start.Transport == "ssh" {
		// The demo devices are simulators inside the runbook process that
		// ran them: they ended with that process, debug switches and all.
		fmt.Fprintf(io.ErrOut, "runbook: %s: the %s device ran inside the runbook process and ended with it; nothing is left on any device\n", opts.Dir, start.Target)
		return nil
	}
	t, err := cleanupTarget(opts, start)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	redactor := &secret.Redactor{}
	resolver := &secret.Resolver{Redactor: redactor, Getenv: io.Getenv, Prompt: newTerminalPrompter(io).secret}
	dial := registry()[t.Transport]
	if t.Transport == "replay" {
		// The undo commands are recorded after the steps: find them by command.
		dial = replayDialer(replay.ByCommand, 0)
	}
	if dial == nil {
		return &exitError{code: exitInvalid, err: fmt.Errorf("target %s: transport %q is not available", t.Name, t.Transport)}
	}
	do := transports.DialOptions{Resolve: resolver.Resolve, Warn: io.ErrOut, Redact: redactor.String, Secret: redactor.Add}
	open := func(ctx context.Context) (transports.Transport, error) { return dial(ctx, t, do) }
	rep, err := engine.FinishCleanup(ctx, rf, open, observe.NewText(io.ErrOut, false), redactor.String)
	if err != nil {
		var ce *transports.ConnError
		if errors.As(err, &ce) {
			return &exitError{code: exitConnect, err: err}
		}
		return &exitError{code: exitDirty, err: err}
	}
	writeReport(io, rf)
	if len(rep.Failed) > 0 {
		return &exitError{code: exitDirty, err: fmt.Errorf("cleanup incomplete: %s failed; the device may still be in debug", words.Count(len(rep.Failed), "command"))}
	}
	if len(rep.Done) > 0 {
		fmt.Fprintf(io.ErrOut, "runbook: %s: cleanup finished (%s)\n", opts.Dir, words.Count(len(rep.Done), "command"))
	}
	return nil
}

// cleanupTarget finds the target a run used: the inventory's or the
// cassette it replayed.
func cleanupTarget(opts *cleanupOptions, start engine.JournalEntry) (transports.Target, error) {
	if start.Transport == "replay" && start.Cassette != "" {
		return transports.Target{Name: start.Target, Transport: "replay", Cassette: start.Cassette}, nil
	}
	path, err := inventory.Find(opts.Inventory, opts.io.Getenv)
	if err != nil {
		return transports.Target{}, err
	}
	inv, err := loadInventory(path)
	if err != nil {
		return transports.Target{}, err
	}
	t, ok := inv.Targets[start.Target]
	if !ok && inv.IsAlias(start.Target) {
		return inv.Alias(start.Target)
	}
	if !ok {
		return transports.Target{}, fmt.Errorf("%s: target %q of the run is not in the inventory", path, start.Target)
	}
	return t, nil
}

// writeReport writes report.html from the run folder's manifest, if it has
// one that reads (its steps are not held: Manifest skips them).
func writeReport(io *IOStreams, rf *runfolder.Resumed) {
	if _, err := rf.Manifest(); err != nil {
		return
	}
	if err := report.WriteDir(rf.Dir()); err != nil {
		fmt.Fprintf(io.ErrOut, "runbook: report %s: %v\n", rf.Dir(), err)
	}
}
