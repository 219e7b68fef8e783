package inventory_test

import (
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/inventory"
	"github.com/runbook-dev/runbook/schema"
)

const pano = "targets:\n  pano: {transport: xmlapi, host: 192.0.2.5, api_key: env:PANO_KEY, tls: {ca_file: /ca.pem}}\n"

func TestViaPanorama(t *testing.T) {
	src := pano + "  fw7:\n    transport: xmlapi\n    via: pano\n    serial: 007054000543213\n    params: {tunnel: t1}\n"
	inv, err := inventory.Parse("inv.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.ValidateInventory("inv.yaml", []byte(src)); err != nil {
		t.Errorf("schema: %v", err)
	}
	fw := inv.Targets["fw7"]
	if fw.Serial != "007054000543213" || fw.Via != "pano" || fw.Panorama == nil || fw.Host != "" {
		t.Fatalf("fw7 %+v", fw)
	}
	if p := fw.Panorama; p.Name != "pano" || p.Host != "192.0.2.5" || p.APIKey.String() != "env:PANO_KEY" || p.TLS.CAFile != "/ca.pem" {
		t.Errorf("fw7's Panorama %+v", p)
	}
}

func TestBadVia(t *testing.T) {
	tests := []struct {
		name, src, want string
		loaderOnly      bool
	}{
		{name: "unknown panorama", src: pano + "  fw7: {transport: xmlapi, via: panx, serial: '0071'}\n", loaderOnly: true,
			want: `inv.yaml:3:33: target fw7: via: unknown target "panx": via names the Panorama's target in this inventory (did you mean "pano"?)`},
		{name: "panorama over ssh", src: "targets:\n  pano: {transport: ssh, host: h}\n  fw7: {transport: xmlapi, via: pano, serial: '0071'}\n", loaderOnly: true,
			want: "inv.yaml:3:33: target fw7: via: pano has transport ssh: a Panorama is reached over the XML API (transport: xmlapi)"},
		{name: "panorama via another", src: pano + "  fw6: {transport: xmlapi, via: pano, serial: '0072'}\n  fw7: {transport: xmlapi, via: fw6, serial: '0071'}\n", loaderOnly: true,
			want: "inv.yaml:4:33: target fw7: via: fw6 is itself reached through a Panorama: via names the Panorama's own target"},
		{name: "no serial", src: pano + "  fw7: {transport: xmlapi, via: pano}\n",
			want: "inv.yaml:3:28: target fw7: via: pano: serial is required too (the firewall's serial number, as `runbook targets --panorama pano` lists it)"},
		{name: "serial without via", src: "targets:\n  fw7: {transport: xmlapi, host: h, serial: '0071'}\n",
			want: "inv.yaml:2:37: target fw7: serial: only a target reached through Panorama has a serial: add via: PANORAMA (the Panorama's target name)"},
		{name: "ssh via panorama", src: pano + "  fw7: {transport: ssh, via: pano, serial: '0071'}\n",
			want: "inv.yaml:3:20: target fw7: transport: a target reached via pano is reached over the XML API: want transport: xmlapi, not ssh"},
		{name: "own host", src: pano + "  fw7:\n    transport: xmlapi\n    via: pano\n    serial: '0071'\n    host: 10.0.0.7\n    api_key: env:K\n",
			want: "inv.yaml:7:5: target fw7: host: a target reached via pano uses the Panorama's address, TLS settings and credentials: remove host\n" +
				"inv.yaml:8:5: target fw7: api_key: a target reached via pano uses the Panorama's address, TLS settings and credentials: remove api_key"},
		{name: "empty serial", src: pano + "  fw7: {transport: xmlapi, via: pano, serial: ''}\n",
			want: `inv.yaml:3:47: target fw7: serial: want the firewall's serial number, such as "007054000543213"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := inventory.Parse("inv.yaml", []byte(tc.src))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			serr := schema.ValidateInventory("inv.yaml", []byte(tc.src))
			if serr == nil && !tc.loaderOnly {
				t.Errorf("schema accepts it")
			}
			if serr != nil && tc.loaderOnly {
				t.Errorf("schema refuses it (%v): the test says only the loader can", strings.SplitN(serr.Error(), "\n", 2)[0])
			}
		})
	}
}
