package main

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/schema"
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

Exit codes:
  0  every playbook is valid
  2  a playbook has mistakes, or an argument names nothing`,
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

// validateOne runs the loader and the schema on one argument. The loader's
// errors come first in position order; a schema error is added only on a
// line the loader said nothing about, so one mistake is reported once.
func validateOne(arg string) (playbook.ErrorList, error) {
	s, err := findPlaybook(arg)
	if err != nil {
		return nil, err
	}
	name := s.path
	var all playbook.ErrorList
	if _, err := s.load(); err != nil {
		var list playbook.ErrorList
		if !errors.As(err, &list) {
			return nil, err
		}
		all = append(all, list...)
	}
	seen := map[playbook.Pos]bool{}
	for _, e := range all {
		seen[playbook.Pos{File: e.File, Line: e.Line}] = true
	}
	if serr := schema.Validate(name, s.src); serr != nil {
		var list playbook.ErrorList
		if !errors.As(serr, &list) {
			if len(all) == 0 {
				return nil, serr
			}
		}
		for _, e := range list {
			if !seen[playbook.Pos{File: e.File, Line: e.Line}] {
				all = append(all, e)
			}
		}
	}
	all.Sort()
	return all, nil
}

// printXML prints, for every command of a playbook, the XML API op form it
// becomes: the step's explicit xml:, or the CLI converted by the documented
// rules (${...} stay as written, as values).
func printXML(w io.Writer, arg string) error {
	pb, _, err := resolvePlaybook(arg)
	if err != nil {
		return err
	}
	var failed bool
	show := func(s *playbook.Step) {
		if s.Run == nil {
			return
		}
		form, how := "", "explicit"
		if s.XML != nil {
			form = s.XML.Src
		} else {
			how = "converted"
			x, err := templateXML(s.Run.Src)
			if err != nil {
				form, how, failed = err.Error(), "cannot convert", true
			} else {
				form = x
			}
		}
		fmt.Fprintf(w, "%s:%d: %s\n    %s: %s\n", s.File, s.Line, s.Run.Src, how, form)
		for _, alt := range s.OneOf[min(1, len(s.OneOf)):] {
			x, err := templateXML(alt.Src)
			if err != nil {
				x, failed = err.Error(), true
			}
			fmt.Fprintf(w, "    or %s\n    converted: %s\n", alt.Src, x)
		}
		for _, u := range s.Undo {
			for k, f := range u {
				x, err := templateXML(f.Src)
				if err != nil {
					x, failed = err.Error(), true
				}
				word := "undo"
				if k > 0 {
					word = "  or"
				}
				fmt.Fprintf(w, "    %s %s\n    converted: %s\n", word, f.Src, x)
			}
		}
	}
	playbook.Walk(pb.Steps, show)
	playbook.Walk(pb.Cleanup, show)
	if failed {
		return fmt.Errorf("%s: some commands have no XML API form (give them an explicit xml: key)", arg)
	}
	return nil
}

// templateXML converts a command template to its XML API op form, each
// ${...} kept as written, as one value: the expression inside may hold
// quotes and spaces the CLI rules would split on, and what it renders to is
// known only at run time.
func templateXML(src string) (string, error) {
	var spans []string
	var b strings.Builder
	for i := 0; i < len(src); {
		if strings.HasPrefix(src[i:], "$${") {
			b.WriteString("$${")
			i += 3
			continue
		}
		if !strings.HasPrefix(src[i:], "${") {
			b.WriteByte(src[i])
			i++
			continue
		}
		end := templateEnd(src, i+2)
		if end < 0 {
			return "", fmt.Errorf("%w: unterminated ${", xmlapi.ErrCmdSyntax)
		}
		fmt.Fprintf(&b, "runbookvalue%dx", len(spans))
		spans = append(spans, src[i:end+1])
		i = end + 1
	}
	x, err := xmlapi.CmdXML(b.String())
	if err != nil {
		return "", err
	}
	for k := range spans {
		if strings.Contains(x, fmt.Sprintf("<runbookvalue%dx>", k)) {
			// The expression gives keywords, not a value: its XML is known
			// only once it is rendered, and is converted then.
			return fmt.Sprintf("(converted when sent: %s gives keywords)", spans[k]), nil
		}
	}
	for k := len(spans) - 1; k >= 0; k-- {
		var esc strings.Builder
		_ = xml.EscapeText(&esc, []byte(spans[k]))
		x = strings.ReplaceAll(x, fmt.Sprintf("runbookvalue%dx", k), esc.String())
	}
	return x, nil
}

// templateEnd returns the index of the } that closes the ${ whose body
// starts at i, skipping quoted strings and nested braces; -1 if none.
func templateEnd(s string, i int) int {
	depth := 0
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}
