package dual

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/runbook-dev/runbook/transports"
)

// Name is the transport name of a target reached over SSH and the XML API
// together, as the inventory's `transport: [ssh, xmlapi]` is written in a
// run folder.
const Name = "ssh+xmlapi"

// The names of the two parts, as in Result.Transport.
const (
	SSH    = "ssh"
	XMLAPI = "xmlapi"
)

// ErrDifferentDevices: the SSH and the XML API parts of one target reach
// two devices (their serial numbers differ).
var ErrDifferentDevices = errors.New("ssh and xmlapi reach different devices")

// Transport routes each command to one of its two parts. It is safe for
// concurrent use as far as its parts are.
type Transport struct {
	cli transports.Transport // SSH: the CLI
	api transports.Transport // the XML API
}

var (
	_ transports.Transport   = (*Transport)(nil)
	_ transports.Exporter    = (*Transport)(nil)
	_ transports.Interactive = (*Transport)(nil)
)

// New holds cli (an SSH session) and api (an XML API session) as one
// transport. Both must be open; Close closes both.
func New(cli, api transports.Transport) *Transport { return &Transport{cli: cli, api: api} }

// Dialer returns the transports.Dialer of a target reached both ways: it
// opens the SSH part with cli and the XML API part with api, each with the
// target's host, user and credentials and its own port from
// Target.Ports (a part not listed there uses its default port), the SSH
// part first. If either fails, the other is closed and the error names the
// part (a *transports.ConnError stays one). Two parts that report
// different serial numbers are refused with ErrDifferentDevices: the
// inventory points them at two firewalls.
func Dialer(cli, api transports.Dialer) transports.Dialer {
	return func(ctx context.Context, t transports.Target, o transports.DialOptions) (transports.Transport, error) {
		type opened struct {
			tr  transports.Transport
			err error
		}
		part := func(name string, d transports.Dialer) opened {
			pt := t
			pt.Transport, pt.Port, pt.Ports = name, t.Ports[name], nil
			tr, err := d(ctx, pt, o)
			if err != nil {
				err = fmt.Errorf("%s part: %w", name, err)
			}
			return opened{tr, err}
		}
		// One after the other: a secret given as `prompt` is asked once,
		// never by two parts at the same time.
		c := part(SSH, cli)
		if c.err != nil {
			return nil, c.err
		}
		a := part(XMLAPI, api)
		if a.err != nil {
			_ = c.tr.Close()
			return nil, a.err
		}
		cs, as := c.tr.Facts()["serial"], a.tr.Facts()["serial"]
		if cs != "" && as != "" && cs != as {
			_ = c.tr.Close()
			_ = a.tr.Close()
			return nil, &transports.ConnError{Target: t.Name, Err: fmt.Errorf("%w: serial %s over ssh, %s over xmlapi", ErrDifferentDevices, cs, as)}
		}
		return New(c.tr, a.tr), nil
	}
}

// Route names the part cmd goes to: SSH for every CLI command (debug,
// show, test, `scp export`, anything with Prompts), the XML API only for
// a command given in its XML form alone (no CLI).
func (d *Transport) Route(cmd transports.Command) string {
	if cmd.CLI == "" && cmd.XML != "" {
		return XMLAPI
	}
	return SSH
}

// Run sends cmd to the part Route names and returns that part's answer
// and error unchanged, with Result.Transport naming the part (also beside
// an error). Cancellation and retries are the part's: a lost SSH session
// is re-opened by the SSH part on the next Run, as it is alone.
func (d *Transport) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	via := d.Route(cmd)
	tr := d.cli
	if via == XMLAPI {
		tr = d.api
	}
	res, err := tr.Run(ctx, cmd)
	res.Transport = via
	return res, err
}

// CanExport reports whether the XML API part streams category.
func (d *Transport) CanExport(category string) bool {
	ex, ok := d.api.(transports.Exporter)
	return ok && ex.CanExport(category)
}

// Export streams the file over the XML API part; ExportInfo.Transport is
// XMLAPI. A category the API cannot export gives ErrNotSupported: the
// caller pushes it with `scp export` over Run instead.
func (d *Transport) Export(ctx context.Context, req transports.ExportRequest, w io.Writer) (transports.ExportInfo, error) {
	ex, ok := d.api.(transports.Exporter)
	if !ok || !ex.CanExport(req.Category) {
		return transports.ExportInfo{Transport: XMLAPI}, fmt.Errorf("dual: export %s: %w", req.Category, transports.ErrNotSupported)
	}
	info, err := ex.Export(ctx, req, w)
	info.Transport = XMLAPI
	return info, err
}

// Interactive reports whether the SSH part answers Command.Prompts.
func (d *Transport) Interactive() bool {
	i, ok := d.cli.(transports.Interactive)
	return ok && i.Interactive()
}

// Facts merges the parts' facts: the SSH part's, then what only the API
// part knows; transport is Name.
func (d *Transport) Facts() transports.Facts {
	f := transports.Facts{}
	for k, v := range d.api.Facts() {
		f[k] = v
	}
	for k, v := range d.cli.Facts() {
		f[k] = v
	}
	f["transport"] = Name
	return f
}

// Reconnect re-opens a lost session of each part that can (the SSH part),
// as that part's own Reconnect does; the XML API needs none.
func (d *Transport) Reconnect(ctx context.Context) error {
	var errs []error
	for _, p := range []transports.Transport{d.cli, d.api} {
		if r, ok := p.(interface{ Reconnect(context.Context) error }); ok {
			errs = append(errs, r.Reconnect(ctx))
		}
	}
	return errors.Join(errs...)
}

// Close closes both parts and joins their errors. It is safe to call more
// than once.
func (d *Transport) Close() error {
	return errors.Join(d.cli.Close(), d.api.Close())
}
