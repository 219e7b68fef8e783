package main

import (
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// IOStreams is the only way commands read input and write output, so tests
// can capture both.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// IsTerminal reports whether In and Out are an interactive terminal.
	IsTerminal bool
	// Getenv reads the environment (tests replace it).
	Getenv func(string) string
}

func defaultStreams() *IOStreams {
	return &IOStreams{
		In:         os.Stdin,
		Out:        &lossyWriter{w: os.Stdout},
		ErrOut:     &lossyWriter{w: os.Stderr},
		IsTerminal: term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())),
		Getenv:     os.Getenv,
	}
}

// run executes the command line and returns the process exit code.
func run(args []string, io *IOStreams) int {
	ctx, stop := signalContext(context.Background(), io)
	defer stop()
	root := newRootCmd(io)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	err := root.ExecuteContext(ctx)
	return exitCode(err, io.ErrOut)
}

func newRootCmd(io *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "runbook",
		Short: "Run vendor troubleshooting procedures against network devices, safely",
		Long: `runbook turns a troubleshooting procedure into a YAML playbook and runs it against
a device the same way every time: typed parameters, repeated samples, operator
prompts, captured values, findings, files brought back, and cleanup (debug switched
off again) that is guaranteed on every path.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// The completion verb is ours (completion.go), with its exit codes.
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	for _, c := range subcommands(io) {
		root.AddCommand(c)
	}
	return root
}
