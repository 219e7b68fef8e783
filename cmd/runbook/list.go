package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/playbooks"
)

type listOptions struct {
	io   *IOStreams
	JSON bool
}

func newListCmd(io *IOStreams) *cobra.Command {
	opts := &listOptions{io: io}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the built-in playbooks",
		Long: `List the playbooks built into runbook, with their titles. Run one by name:
runbook run NAME --target ...; see its parameters with runbook show NAME.`,
		Example: `  runbook list
  runbook list --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runList(opts) },
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array of {name, title, path}")
	return cmd
}

func runList(opts *listOptions) error {
	infos, err := builtins.List()
	if err != nil {
		return err
	}
	if opts.JSON {
		if infos == nil {
			infos = []playbooks.Info{}
		}
		enc := json.NewEncoder(opts.io.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(infos)
	}
	if len(infos) == 0 {
		fmt.Fprintln(opts.io.ErrOut, "runbook: no built-in playbooks")
		return nil
	}
	tw := tabwriter.NewWriter(opts.io.Out, 0, 4, 2, ' ', 0)
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\n", in.Name, in.Title)
	}
	return tw.Flush()
}
