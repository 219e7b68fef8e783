package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/runbook-dev/runbook/inventory"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/xmlapi"
)

// runPanoramaTargets is `runbook targets --panorama NAME`: it opens the
// Panorama target NAME and lists the firewalls it manages, with the
// inventory targets that reach each one through it.
func runPanoramaTargets(ctx context.Context, opts *targetsOptions) error {
	path, err := inventory.Find(opts.Inventory, opts.io.Getenv)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	inv, err := loadInventory(path)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	p, ok := inv.Targets[opts.Panorama]
	switch {
	case !ok:
		return &exitError{code: exitInvalid, err: fmt.Errorf("targets: --panorama %s: no such target in %s", opts.Panorama, path)}
	case p.Panorama != nil:
		return &exitError{code: exitInvalid, err: fmt.Errorf("targets: --panorama %s: it is a firewall reached via %s; give the Panorama's own target", opts.Panorama, p.Via)}
	case p.Transport != xmlapi.Name:
		return &exitError{code: exitInvalid, err: fmt.Errorf("targets: --panorama %s: transport %s; a Panorama is reached over the XML API (transport: xmlapi)", opts.Panorama, p.Transport)}
	}
	redactor := &secret.Redactor{}
	prompter := newTerminalPrompter(opts.io)
	resolver := &secret.Resolver{Redactor: redactor, Getenv: opts.io.Getenv, Prompt: prompter.secret}
	if err := readSecrets(ctx, resolver, p); err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	c, err := xmlapi.Open(ctx, p, transports.DialOptions{Resolve: resolver.Resolve, Warn: opts.io.ErrOut, Redact: redactor.String, Secret: redactor.Add})
	if err != nil {
		code := exitConnect
		if errors.Is(err, context.Canceled) {
			code = exitInterrupted
		}
		return &exitError{code: code, err: errors.New(redactor.String(err.Error()))}
	}
	defer c.Close()
	devs, err := c.Devices(ctx, opts.Connected)
	if err != nil {
		return &exitError{code: exitConnect, err: fmt.Errorf("targets: --panorama %s: %s", opts.Panorama, redactor.String(err.Error()))}
	}
	// The inventory targets that reach each serial through this Panorama.
	reach := map[string][]string{}
	for name, t := range inv.Targets {
		if t.Panorama != nil && t.Via == opts.Panorama {
			reach[t.Serial] = append(reach[t.Serial], name)
		}
	}
	f := c.Facts()
	what := "managed firewalls"
	if opts.Connected {
		what = "connected firewalls"
	}
	fmt.Fprintf(opts.io.Out, "%s (%s, %s %s): %d %s\n\n", opts.Panorama, dash(f["hostname"]), dash(f["model"]), dash(f["sw_version"]), len(devs), what)
	w := tabwriter.NewWriter(opts.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SERIAL\tHOSTNAME\tADDRESS\tMODEL\tVERSION\tCONNECTED\tTARGET")
	for _, d := range devs {
		conn := "no"
		if d.Connected {
			conn = "yes"
		}
		names := reach[d.Serial]
		sort.Strings(names)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Serial, dash(d.Hostname), dash(d.IPAddress), dash(d.Model), dash(d.SWVersion), conn, dash(strings.Join(names, ", ")))
	}
	w.Flush()
	// A target naming a serial this Panorama does not list is a mistake
	// in the inventory: say so.
	listed := map[string]bool{}
	for _, d := range devs {
		listed[d.Serial] = true
	}
	var missing []string
	for serial, names := range reach {
		if !listed[serial] {
			missing = append(missing, fmt.Sprintf("%s (serial %s)", strings.Join(names, ", "), serial))
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		fmt.Fprintf(opts.io.Out, "\nnot listed by %s: %s", opts.Panorama, m)
	}
	if len(missing) > 0 {
		fmt.Fprintln(opts.io.Out)
	}
	return nil
}
