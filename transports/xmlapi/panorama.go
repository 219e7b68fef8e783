package xmlapi

import (
	"context"
	"fmt"
	"sort"

	"github.com/runbook-dev/runbook/transports"
)

// Device is one firewall a Panorama manages, as `show devices all` lists
// it. The element names (serial, hostname, ip-address, model, sw-version,
// connected yes/no under result/devices/entry) are those pan-os-python's
// Panorama.refresh_devices reads, and those of a real Panorama's answer
// (cdot65/pan-os-upgrade tests/test_flatten_xml_to_dict.py).
type Device struct {
	Serial    string
	Hostname  string
	IPAddress string
	Model     string
	SWVersion string
	Connected bool
}

// Devices asks the Panorama c is open to for the firewalls it manages:
// `show devices connected` when connectedOnly, else `show devices all`.
// They are sorted by hostname, then serial. c must be open to the Panorama
// itself, not to a firewall through it.
func (c *Client) Devices(ctx context.Context, connectedOnly bool) ([]Device, error) {
	cli := "show devices all"
	if connectedOnly {
		cli = "show devices connected"
	}
	res, err := c.Run(ctx, transports.Command{CLI: cli})
	if err != nil {
		return nil, err
	}
	return parseDevices(res.Data)
}

// parseDevices reads the <devices> of a `show devices` answer's result.
func parseDevices(data any) ([]Device, error) {
	m, ok := data.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("show devices: %w: no result", ErrMalformed)
	}
	devs, ok := m["devices"]
	if !ok {
		return nil, fmt.Errorf("show devices: %w: no result/devices", ErrMalformed)
	}
	var entries []any
	switch d := devs.(type) {
	case string: // <devices/>: none
		return nil, nil
	case map[string]any:
		switch e := d["entry"].(type) {
		case []any:
			entries = e
		case map[string]any:
			entries = []any{e}
		}
	}
	var out []Device
	for _, e := range entries {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		s := func(k string) string { v, _ := em[k].(string); return v }
		d := Device{Serial: s("serial"), Hostname: s("hostname"), IPAddress: s("ip-address"), Model: s("model"), SWVersion: s("sw-version"), Connected: s("connected") == "yes"}
		if d.Serial == "" {
			d.Serial = s("@name")
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Hostname != out[j].Hostname {
			return out[i].Hostname < out[j].Hostname
		}
		return out[i].Serial < out[j].Serial
	})
	return out, nil
}
