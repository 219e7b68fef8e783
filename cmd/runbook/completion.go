package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/inventory"
	"github.com/runbook-dev/runbook/runcase"
	"github.com/runbook-dev/runbook/transports"
)

// The shell completion of runbook: the `completion` verb prints cobra's
// script for a shell, and the functions below are what that script asks
// (through cobra's hidden __complete command) when TAB is pressed. They
// read local files only (the built-ins, the inventory, the run folders),
// never connect to anything and never write: cobra prints the candidates
// they return. A failure gives ShellCompDirectiveError, which the shell
// shows as no candidates.

// completionShells are the shells `runbook completion` writes a script for.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// maxCandidates bounds every list of candidates (and the folders read to
// make one).
const maxCandidates = 200

func newCompletionCmd(io *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script",
		Long: `Print the completion script of a shell. Loaded into the shell, TAB completes
verbs and flags, and also what they take from your files:

  run, show, validate PLAYBOOK   the built-in playbooks and *.yaml files
  run -t/--target                the inventory's targets and groups, demo and demo-peer
                                 (the inventory found the way run finds it:
                                 --inventory on the line, $RUNBOOK_INVENTORY,
                                 ./inventory.yaml, ~/.config/runbook/inventory.yaml)
  run -p/--param                 the parameters of the playbook on the line,
                                 as name= (an enum or bool: its values)
  cleanup RUNDIR|CASEDIR         the run folders and case folders under ./runs,
                                 newest first, each with its pending cleanup

Completing reads only local files: it never connects to a device.

bash (needs the bash-completion package):
  source <(runbook completion bash)        # this shell
  runbook completion bash > ~/.local/share/bash-completion/completions/runbook

zsh:
  runbook completion zsh > "${fpath[1]}/_runbook"   # then start a new shell

fish:
  runbook completion fish > ~/.config/fish/completions/runbook.fish

PowerShell:
  runbook completion powershell | Out-String | Invoke-Expression

` + exitHelp("completion"),
		Example: `  # Complete in this bash shell
  source <(runbook completion bash)

  # For every new zsh (needs: zsh)
  runbook completion zsh > "${fpath[1]}/_runbook"`,
		ValidArgs: completionShells,
		Args: func(cmd *cobra.Command, args []string) error {
			want := strings.Join(completionShells, ", ")
			switch {
			case len(args) != 1:
				return usageError{fmt.Errorf("completion: want one shell of %s, got %d arguments", want, len(args))}
			case !slices.Contains(completionShells, args[0]):
				return usageError{fmt.Errorf("completion: want one shell of %s, got %q", want, args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(io.Out, true)
			case "zsh":
				return root.GenZshCompletion(io.Out)
			case "fish":
				return root.GenFishCompletion(io.Out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(io.Out)
			}
		},
	}
	return cmd
}

// completePlaybook completes a PLAYBOOK argument: the built-ins, *.yaml
// files and the folders that may hold some. Only the first argument is a
// playbook unless many is set (validate).
func completePlaybook(many bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 && !many {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		if !strings.ContainsAny(toComplete, `/\`) {
			titles := map[string]string{}
			if infos, err := builtins.List(); err == nil {
				for _, i := range infos {
					titles[i.Name] = i.Title
				}
			}
			for _, n := range builtins.Names() {
				if strings.HasPrefix(n, toComplete) {
					out = append(out, cobra.CompletionWithDesc(n, "built-in: "+titles[n]))
				}
			}
		}
		files, dirs := yamlFiles(toComplete)
		out = append(out, files...)
		out = append(out, dirs...)
		d := cobra.ShellCompDirectiveNoFileComp
		if len(dirs) > 0 {
			// A folder is completed as "dir/", to go on from there.
			d |= cobra.ShellCompDirectiveNoSpace
		}
		return out, d
	}
}

// yamlFiles lists the *.yaml and *.yml files and the folders that match
// toComplete, as typed (a folder ends in a slash). Hidden ones only when
// toComplete names them.
func yamlFiles(toComplete string) (files, dirs []cobra.Completion) {
	dir, prefix := splitPath(toComplete)
	ents, err := os.ReadDir(orDot(dir))
	if err != nil {
		return nil, nil
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(prefix, ".")) {
			continue
		}
		if len(files)+len(dirs) >= maxCandidates {
			break
		}
		switch {
		case isDir(dir, e):
			dirs = append(dirs, dir+name+"/")
		case strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"):
			files = append(files, dir+name)
		}
	}
	return files, dirs
}

// splitPath splits what is typed into its folder (with its slash, as
// typed) and the start of the name.
func splitPath(s string) (dir, prefix string) {
	i := strings.LastIndexAny(s, `/\`)
	return s[:i+1], s[i+1:]
}

func orDot(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// isDir reports whether e is a folder, following a symbolic link.
func isDir(dir string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&os.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(filepath.Join(orDot(dir), e.Name()))
	return err == nil && st.IsDir()
}

// completeTarget completes -t/--target: the targets and groups of the
// inventory run would use, demo and demo-peer. Targets already given are
// left out.
func completeTarget(io *IOStreams) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		given, _ := cmd.Flags().GetStringArray("target")
		explicit, _ := cmd.Flags().GetString("inventory")
		var out []cobra.Completion
		add := func(name, desc string) {
			if strings.HasPrefix(name, toComplete) && !slices.Contains(given, name) && len(out) < maxCandidates {
				out = append(out, cobra.CompletionWithDesc(name, desc))
			}
		}
		inv := &inventory.Inventory{}
		if path, err := inventory.Find(explicit, io.Getenv); err == nil {
			if inv, err = inventory.Load(path); err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
		}
		for _, n := range sortedKeys(inv.Targets) {
			add(n, targetDesc(inv.Targets[n]))
		}
		for _, g := range sortedKeys(inv.Groups) {
			add(g, "group: "+strings.Join(inv.Groups[g], ", "))
		}
		if _, ok := inv.Targets[demoTarget]; !ok {
			add(demoTarget, "the simulated firewall, in-process")
		}
		if _, ok := inv.Targets[demoPeerTarget]; !ok {
			add(demoPeerTarget, "the other end of demo's tunnel, simulated in-process")
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// targetDesc describes a target for a completion menu: how it is reached.
func targetDesc(t transports.Target) string {
	switch {
	case t.Via != "":
		return fmt.Sprintf("xmlapi via %s, serial %s", t.Via, t.Serial)
	case t.Transport == "replay":
		return "replay"
	case t.Host != "":
		return t.Transport + " " + t.Host
	}
	return t.Transport
}

// completeParam completes -p/--param with the parameters of the playbook
// given as the first argument, as "name=" (no space after), leaving out
// those already given; after "name=", an enum's or a bool's values.
func completeParam(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	pb, err := loadQuiet(args[0])
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	if name, value, ok := strings.Cut(toComplete, "="); ok {
		p := pb.Param(name)
		if p == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var values []string
		switch p.Type {
		case playbook.TypeEnum:
			values = p.Values
		case playbook.TypeBool:
			values = []string{"true", "false"}
		}
		var out []cobra.Completion
		for _, v := range values {
			if strings.HasPrefix(v, value) {
				out = append(out, name+"="+v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	given := map[string]bool{}
	if ps, err := cmd.Flags().GetStringArray("param"); err == nil {
		for _, kv := range ps {
			k, _, _ := strings.Cut(kv, "=")
			given[k] = true
		}
	}
	var out []cobra.Completion
	for _, p := range pb.Params {
		if given[p.Name] || !strings.HasPrefix(p.Name, toComplete) {
			continue
		}
		out = append(out, cobra.CompletionWithDesc(p.Name+"=", paramDesc(p)))
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// loadQuiet loads a PLAYBOOK argument as run does, printing nothing.
func loadQuiet(arg string) (*playbook.Playbook, error) {
	s, err := findPlaybook(arg)
	if err != nil {
		return nil, err
	}
	return s.load()
}

// paramDesc describes a parameter for a completion menu: its type, whether
// it is required or its default, and its description.
func paramDesc(p *playbook.Param) string {
	parts := []string{string(p.Type)}
	switch {
	case p.Required && !p.HasDefault:
		parts = append(parts, "required")
	case p.HasDefault:
		parts = append(parts, "default "+p.Default)
	}
	d := strings.Join(parts, ", ")
	if p.Description != "" {
		d += ": " + firstLine(p.Description)
	}
	return d
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// completeRunDir completes cleanup's RUNDIR|CASEDIR: the run folders
// (holding a journal) and case folders under ./runs and the current
// folder, or under the folder typed, newest first (their names start with
// the time they started), each described by its playbook, target and
// pending cleanup. Where none matches, plain folders, to go on from.
func completeRunDir(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	dir, prefix := splitPath(toComplete)
	bases := []string{dir}
	if dir == "" {
		bases = []string{"runs/", ""}
	}
	type found struct{ path, desc string }
	var runs []found
	var plain []cobra.Completion
	for _, base := range bases {
		ents, err := os.ReadDir(orDot(base))
		if err != nil {
			continue
		}
		for _, e := range ents {
			p := base + e.Name()
			if !strings.HasPrefix(p, dir+prefix) || !isDir(base, e) {
				continue
			}
			if strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(prefix, ".") {
				continue
			}
			if len(runs)+len(plain) >= maxCandidates {
				break
			}
			if desc, ok := runDirDesc(p); ok {
				runs = append(runs, found{p, desc})
			} else {
				plain = append(plain, p+"/")
			}
		}
	}
	if len(runs) == 0 {
		return plain, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
	sort.SliceStable(runs, func(i, j int) bool { return filepath.Base(runs[i].path) > filepath.Base(runs[j].path) })
	out := make([]cobra.Completion, 0, len(runs))
	for _, r := range runs {
		out = append(out, cobra.CompletionWithDesc(r.path, r.desc))
	}
	return out, cobra.ShellCompDirectiveKeepOrder | cobra.ShellCompDirectiveNoFileComp
}

// runDirDesc describes dir when it is a run folder or a case folder.
func runDirDesc(dir string) (string, bool) {
	if runcase.IsCase(dir) {
		c, err := runcase.Read(dir)
		if err != nil {
			return "case", true
		}
		return fmt.Sprintf("case: %s, %d targets", c.Playbook, len(c.Ends)), true
	}
	if _, err := os.Stat(filepath.Join(dir, engine.JournalFile)); err != nil {
		return "", false
	}
	start, entries, err := engine.ReadRunStart(dir)
	if err != nil {
		return "run", true
	}
	d := start.Playbook + " on " + start.Target
	if n := len(engine.Pending(entries)); n > 0 {
		d += fmt.Sprintf(", %d pending", n)
	} else {
		d += ", nothing pending"
	}
	return d, true
}

// completeRunFlags registers the completions of run: PLAYBOOK, --target,
// --param, and the files and folders its other flags take. Call it once
// every flag is defined.
func completeRunFlags(cmd *cobra.Command, io *IOStreams) {
	cmd.ValidArgsFunction = completePlaybook(false)
	for flag, f := range map[string]cobra.CompletionFunc{
		"target":    completeTarget(io),
		"param":     completeParam,
		"inventory": completeYAMLFile,
		"replay":    completeYAMLFile,
		"record":    completeYAMLFile,
		"out":       completeDir,
		"fail-on":   cobra.FixedCompletions([]cobra.Completion{"critical", "warning"}, cobra.ShellCompDirectiveNoFileComp),
		"output":    cobra.FixedCompletions([]cobra.Completion{outputInterleaved, outputGrouped}, cobra.ShellCompDirectiveNoFileComp),
	} {
		if err := cmd.RegisterFlagCompletionFunc(flag, f); err != nil {
			panic(err) // a flag renamed without its completion: a bug caught by any test
		}
	}
}

// completeYAMLFile lets the shell complete a *.yaml or *.yml file.
func completeYAMLFile(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return []cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}

// completeDir lets the shell complete a folder.
func completeDir(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}
