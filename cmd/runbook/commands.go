package main

import "github.com/spf13/cobra"

// subcommands lists every verb, explicitly. Add a line here for a new one.
func subcommands(io *IOStreams) []*cobra.Command {
	return []*cobra.Command{
		newVersionCmd(io),
		newValidateCmd(io),
		newListCmd(io),
		newShowCmd(io),
		newSchemaCmd(io),
		newSimCmd(io),
		newRunCmd(io),
		newCleanupCmd(io),
		newTargetsCmd(io),
		newTestCmd(io),
		newCompletionCmd(io),
	}
}
