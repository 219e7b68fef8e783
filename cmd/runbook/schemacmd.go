package main

import (
	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/schema"
)

func newSchemaCmd(io *IOStreams) *cobra.Command {
	var inventory bool
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of a playbook",
		Long: `Print the JSON Schema (2020-12) of a playbook, for editors and other tools.
Point an editor at it with a first line such as

  # yaml-language-server: $schema=` + schema.URL + `

The schema checks the shape of a playbook; only runbook validate also checks
the expressions.`,
		Example: `  runbook schema > playbook.schema.json
  runbook schema --inventory > inventory.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			src := schema.PlaybookJSON
			if inventory {
				src = schema.InventoryJSON
			}
			_, err := io.Out.Write(src)
			return err
		},
	}
	cmd.Flags().BoolVar(&inventory, "inventory", false, "print the inventory's schema instead")
	return cmd
}
