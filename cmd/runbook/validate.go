package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/transports/xmlapi"
)

type validateOptions struct {
	io        *IOStreams
	Playbooks []string
	Quiet     bool
	XML       bool
}

func newValidateCmd(io *IOStreams) *cobra.Command {
	opts := &validateOptions{io: io}
	cmd := &cobra.Command{
		Use:   "validate PLAYBOOK...",
		Short: "Check playbooks without touching a device",
		Long: `Check each playbook against the JSON Schema and load it with the strict loader,
which also compiles every expression. Every mistake is reported on stderr as
file:line:col: message, with the source line and a caret.

A PLAYBOOK is a file path, or the name of a built-in playbook with or without
.yaml; an existing file of that name wins.

` + exitHelp("validate"),
		Example: `  runbook validate examples/playbooks/ha-health.yaml
  runbook validate phase2-down
  runbook validate playbooks/*.yaml
  runbook validate --xml phase2-down   # the XML API form of every command`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Playbooks = args
			return runValidate(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing when valid")
	cmd.ValidArgsFunction = completePlaybook(true)
	cmd.Flags().BoolVar(&opts.XML, "xml", false, "also print the XML API op form each command becomes (docs/xmlapi.md)")
	return cmd
}

// runValidate checks every argument and reports every error of all of them.
func runValidate(opts *validateOptions) error {
	failed := false
	for _, arg := range opts.Playbooks {
		errs, err := validateOne(arg)
		if err != nil {
			fmt.Fprintln(opts.io.ErrOut, "runbook:", err)
			failed = true
			continue
		}
		if len(errs) > 0 {
			fmt.Fprintln(opts.io.ErrOut, errs.Error())
			failed = true
			continue
		}
		if !opts.Quiet {
			fmt.Fprintf(opts.io.Out, "%s: ok\n", arg)
		}
		if opts.XML {
			if err := printXML(opts.io.Out, arg); err != nil {
				fmt.Fprintln(opts.io.ErrOut, "runbook:", err)
				failed = true
			}
		}
	}
	if failed {
		return &exitError{code: exitInvalid}
	}
	return nil
}

// validateOne checks one argument as run does (playbookSource.load:
// schema.Check) and returns its mistakes.
func validateOne(arg string) (playbook.ErrorList, error) {
	s, err := findPlaybook(arg)
	if err != nil {
		return nil, err
	}
	if _, err := s.load(); err != nil {
		var list playbook.ErrorList
		if !errors.As(err, &list) {
			return nil, err
		}
		return list, nil
	}
	return nil, nil
}

// printXML prints, for every command of a playbook, the XML API op form it
// becomes: the step's explicit xml:, or the CLI converted by the documented
// rules. A command is converted as the transport converts it, rendered
// (templateXML); each ${...} stays as written, as a value.
func printXML(w io.Writer, arg string) error {
	pb, _, err := resolvePlaybook(arg)
	if err != nil {
		return err
	}
	var failed bool
	conv := func(t *playbook.Template) string {
		x, err := templateXML(t)
		if err != nil {
			failed = true
			return err.Error()
		}
		return x
	}
	show := func(s *playbook.Step) {
		if s.Run == nil {
			return
		}
		form, how := "", "explicit"
		if s.XML != nil {
			form = s.XML.Src
		} else {
			how = "converted"
			x, err := templateXML(s.Run)
			if err != nil {
				form, how, failed = err.Error(), "cannot convert", true
			} else {
				form = x
			}
		}
		fmt.Fprintf(w, "%s:%d: %s\n    %s: %s\n", s.File, s.Line, s.Run.Src, how, form)
		for _, alt := range s.OneOf[min(1, len(s.OneOf)):] {
			fmt.Fprintf(w, "    or %s\n    converted: %s\n", alt.Src, conv(alt))
		}
		for _, u := range s.Undo {
			for k, f := range u {
				word := "undo"
				if k > 0 {
					word = "  or"
				}
				fmt.Fprintf(w, "    %s %s\n    converted: %s\n", word, f.Src, conv(f))
			}
		}
	}
	steps, err := pb.AllSteps()
	if err != nil {
		return err
	}
	playbook.Walk(steps, show)
	playbook.Walk(pb.Cleanup, show)
	if failed {
		return fmt.Errorf("%s: some commands have no XML API form (give them an explicit xml: key)", arg)
	}
	return nil
}

// templateXML converts t as the XML API transport converts its rendering:
// its literal text as sent (with $${ already ${), each ${ expr } a single
// value word, then written back as ${expr}. Converting the source instead
// split ${ params.n * 2 } into words and refused a command that runs.
func templateXML(t *playbook.Template) (string, error) {
	var cli strings.Builder
	var exprs []string
	for _, p := range t.Parts {
		if p.Expr == nil {
			cli.WriteString(p.Lit)
			continue
		}
		// A word of private-use runes: never an element name, and
		// untouched by the XML escaping of values.
		fmt.Fprintf(&cli, "\ue000%d\ue001", len(exprs))
		exprs = append(exprs, "${"+p.Expr.Src+"}")
	}
	x, err := xmlapi.CmdXML(cli.String())
	for i, e := range exprs {
		ph := fmt.Sprintf("\ue000%d\ue001", i)
		x = strings.ReplaceAll(x, ph, e)
		if err != nil {
			err = errors.New(strings.ReplaceAll(err.Error(), ph, e))
		}
	}
	return x, err
}
