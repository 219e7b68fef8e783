package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/inventory"
	"github.com/runbook-dev/runbook/schema"
)

type targetsOptions struct {
	io        *IOStreams
	Inventory string
	// Panorama names a Panorama target whose managed firewalls to list
	// (targets_panorama.go); Connected lists only the connected ones.
	Panorama  string
	Connected bool
}

func newTargetsCmd(io *IOStreams) *cobra.Command {
	opts := &targetsOptions{io: io}
	cmd := &cobra.Command{
		Use:   "targets",
		Short: "Check the inventory and list its targets and groups",
		Long: `Check the inventory against its JSON Schema and the loader (a secret written
literally is refused), then list its targets (name, transport, address, user,
where each secret comes from) and groups. Nothing is contacted and no secret is
resolved.

With --panorama NAME, the Panorama target NAME is contacted instead (its
secrets are resolved) and the firewalls it manages are listed, as its
'show devices all' says (--connected: 'show devices connected'): serial,
hostname, address, model, version, whether it is connected, and the inventory
target that reaches it (via: NAME, serial: ...).

The inventory is --inventory, else $RUNBOOK_INVENTORY, else ./inventory.yaml,
else ~/.config/runbook/inventory.yaml. The built-in targets demo and demo-peer
(the other end of demo's tunnel) are always there.

Two formats are read, and the first line says which: runbook's own (targets:,
groups:, ssh_config:) and an Ansible YAML inventory (all:, children:, hosts:,
vars:, inherited as Ansible does), whose hosts with ansible_connection
ansible.netcommon.network_cli and ansible_network_os paloaltonetworks.panos.panos
are SSH targets and with ansible.netcommon.httpapi XML API targets; every group
is a target name. ansible_password is a reference (env:NAME, file:PATH, prompt
or {{ lookup('env', 'NAME') }}); a literal one, a vaulted or templated value,
another connection and the INI form are refused with file:line:col.

SSH targets take HostName, Port, User, IdentityFile, UserKnownHostsFile and
ProxyJump from ~/.ssh/config (or ssh_config: in the inventory); the inventory's
own values win. The listing shows the ssh_config read and each target's jump
hosts.

` + exitHelp("targets"),
		Example: `  runbook targets -i examples/inventory.yaml

  # The inventory found by the usual search (needs: ./inventory.yaml or $RUNBOOK_INVENTORY)
  runbook targets

  # The firewalls a Panorama target manages (needs: an inventory with a Panorama)
  runbook targets --panorama pano --connected

  # An Ansible YAML inventory
  runbook targets -i examples/ansible-inventory.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Panorama != "" {
				return runPanoramaTargets(cmd.Context(), opts)
			}
			if opts.Connected {
				return usageError{fmt.Errorf("targets: --connected goes with --panorama NAME")}
			}
			return runTargets(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Inventory, "inventory", "i", "", "inventory file")
	cmd.Flags().StringVar(&opts.Panorama, "panorama", "", "list the firewalls this Panorama target manages (contacts it)")
	cmd.Flags().BoolVar(&opts.Connected, "connected", false, "with --panorama, only the firewalls connected to it")
	return cmd
}

func runTargets(opts *targetsOptions) error {
	path, err := inventory.Find(opts.Inventory, opts.io.Getenv)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	inv, err := loadInventory(path)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	format := "runbook inventory"
	if inv.Format == inventory.FormatAnsible {
		format = "Ansible YAML inventory"
	}
	fmt.Fprintf(opts.io.Out, "%s: ok (%s)\n", path, format)
	if inv.SSHConfig != "" {
		fmt.Fprintf(opts.io.Out, "ssh_config: %s (SSH targets take HostName, Port, User, IdentityFile, UserKnownHostsFile, ProxyJump from it)\n", inv.SSHConfig)
	}
	fmt.Fprintln(opts.io.Out)
	w := tabwriter.NewWriter(opts.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TARGET\tTRANSPORT\tADDRESS\tUSER\tSECRETS")
	names := make([]string, 0, len(inv.Targets))
	for n := range inv.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := inv.Targets[n]
		addr := t.Host
		if t.Port != 0 {
			addr = fmt.Sprintf("%s:%d", t.Host, t.Port)
		}
		if t.Transport == "replay" {
			addr = t.Cassette
		}
		if t.Panorama != nil {
			addr = fmt.Sprintf("via %s, serial %s", t.Via, t.Serial)
		}
		if len(t.Jumps) > 0 {
			var js []string
			for _, j := range t.Jumps {
				js = append(js, j.Name)
			}
			addr += " via " + strings.Join(js, ",")
		}
		if len(t.Ports) > 0 {
			var ps []string
			for _, p := range []string{"ssh", "xmlapi"} {
				if port, ok := t.Ports[p]; ok {
					ps = append(ps, fmt.Sprintf("%s %d", p, port))
				}
			}
			addr += " (" + strings.Join(ps, ", ") + ")"
		}
		var secrets []string
		for label, ref := range map[string]string{"password": t.Password.String(), "passphrase": t.Passphrase.String(), "api_key": t.APIKey.String()} {
			if ref != "" {
				secrets = append(secrets, label+"="+ref)
			}
		}
		sort.Strings(secrets)
		if t.KeyFile != "" {
			secrets = append(secrets, "key_file="+t.KeyFile)
		}
		if t.UseAgent {
			secrets = append(secrets, "ssh-agent")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", n, t.Transport, addr, dash(t.User), dash(strings.Join(secrets, " ")))
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", demoTarget, "ssh", "simulator on loopback (built in)", "admin", "generated")
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", demoPeerTarget, "ssh", "simulator on loopback (built in), the other end of demo's tunnel", "admin", "generated")
	w.Flush()
	if len(inv.Groups) > 0 {
		fmt.Fprintln(opts.io.Out, "\nGROUP\tTARGETS")
		gs := make([]string, 0, len(inv.Groups))
		for g := range inv.Groups {
			gs = append(gs, g)
		}
		sort.Strings(gs)
		for _, g := range gs {
			fmt.Fprintf(opts.io.Out, "%s\t%s\n", g, strings.Join(inv.Groups[g], ", "))
		}
	}
	return nil
}

// loadInventory reads and checks the inventory at path: the loader, then
// the JSON Schema. targets, run and cleanup all check it this one way.
func loadInventory(path string) (*inventory.Inventory, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	inv, err := inventory.Parse(path, src)
	if err != nil {
		return nil, err
	}
	// An Ansible inventory is checked by its own loader: the schema is
	// runbook's format.
	if inv.Format != inventory.FormatRunbook {
		return inv, nil
	}
	if err := schema.ValidateInventory(path, src); err != nil {
		return nil, err
	}
	return inv, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
