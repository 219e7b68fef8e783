package parse

import (
	"strings"
	"testing"
)

// TestIKESAForms pins the fields the playbooks decide on, for every real
// form of show vpn ike-sa.
func TestIKESAForms(t *testing.T) {
	for _, c := range []struct {
		file        string
		form        string
		established bool
		p1, p2      int64
		childSAs    int
	}{
		{"show_vpn_ike-sa_ikev1.txt", "table", true, 1, 1, 1},
		{"show_vpn_ike-sa_gateway_ikev1.txt", "table", true, 1, 1, 1},
		{"show_vpn_ike-sa_gateway_ikev2.txt", "table", true, 1, 1, 1},
		// The INFO exchange "Child SA 141" is a child SA block but no IPsec SA.
		{"show_vpn_ike-sa_detail_gateway_ikev2.txt", "detail", true, 1, 1, 2},
	} {
		t.Run(c.file, func(t *testing.T) {
			got, err := Parse("ike-sa", sample(t, c.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got["form"] != c.form || got["established"] != c.established || got["phase1_count"] != c.p1 ||
				got["phase2_count"] != c.p2 || len(got["child_sas"].([]any)) != c.childSAs || got["phase2_known"] != true {
				t.Errorf("form %v established %v phase1 %v phase2 %v child_sas %d known %v", got["form"], got["established"],
					got["phase1_count"], got["phase2_count"], len(got["child_sas"].([]any)), got["phase2_known"])
			}
		})
	}
}

// TestIKESADetailDown reads detail blocks whose IKE SA is not established
// and whose only child SA is an INFO exchange: phase 1 is down, no IPsec SA.
func TestIKESADetailDown(t *testing.T) {
	s := sample(t, "show_vpn_ike-sa_detail_gateway_ikev2.txt")
	s = strings.Replace(s, "State:      Established", "State:      Init", 1)
	i := strings.Index(s, "  Child SA 1:")
	j := strings.Index(s, "  Child SA 141:")
	s = s[:i] + s[j:]
	got, err := Parse("ike-sa", s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got["established"] != false || got["phase1_count"] != int64(1) || got["phase2_count"] != int64(0) {
		t.Errorf("got established %v phase1 %v phase2 %v", got["established"], got["phase1_count"], got["phase2_count"])
	}
	p1 := got["phase1"].([]any)[0].(map[string]any)
	if p1["children"] != int64(0) || p1["state"] != "Init" {
		t.Errorf("phase1 = %v", p1)
	}
}

// TestIKESALongNames widens the names of the real IKEv1 and IKEv2 tables
// past their columns (PAN-OS names may have 63 characters): the state,
// counters and SPIs are still read from the right words.
func TestIKESALongNames(t *testing.T) {
	long := "CF_Magic_WAN_IKE_01_with_a_name_much_longer_than_its_column"
	s := strings.ReplaceAll(sample(t, "show_vpn_ike-sa_gateway_ikev2.txt"), "CF_Magic_WAN_IKE_01   ", long+" ")
	s = strings.ReplaceAll(s, "CF_Magic_WAN_IPsec_01     ", "CF_Magic_WAN_IPsec_01_also_longer_than_its_column ")
	got, err := Parse("ike-sa", s, nil)
	if err != nil {
		t.Fatal(err)
	}
	p1 := got["phase1"].([]any)[0].(map[string]any)
	c := got["child"].([]any)[0].(map[string]any)
	if got["established"] != true || p1["gateway"] != long || p1["role"] != "Init" || p1["sn"] != "67" ||
		p1["algorithm"] != "PSK/DH14/A256/SHA256" || p1["children"] != int64(1) || p1["state"] != "Established" {
		t.Errorf("phase1 = %v", p1)
	}
	if c["gateway"] != long || c["tunnel_id"] != "2" || c["tunnel"] != "CF_Magic_WAN_IPsec_01_also_longer_than_its_column" ||
		c["id"] != "322550" || c["parent"] != "67" || c["spi_in"] != "FCAEE176" || c["state"] != "Mature" {
		t.Errorf("child = %v", c)
	}

	long1 := strings.Repeat("P", 70)
	s = strings.ReplaceAll(sample(t, "show_vpn_ike-sa_gateway_ikev1.txt"), "Peer2                                                           ", long1+" ")
	got, err = Parse("ike-sa", s, nil)
	if err != nil {
		t.Fatal(err)
	}
	p1 = got["phase1"].([]any)[0].(map[string]any)
	p2 := got["phase2"].([]any)[0].(map[string]any)
	if p1["gateway"] != long1 || p1["mode"] != "Main" || p1["algorithm"] != "PSK/ DH2/A128/SHA1" || p1["state"] != "13" || p1["phase2"] != int64(3) {
		t.Errorf("phase1 = %v", p1)
	}
	if p2["gateway"] != long1 || p2["tunnel_id"] != "1" || p2["tunnel"] != "Branch-1" || p2["gwid"] != "1" ||
		p2["algorithm"] != "ESP/ DH2/tunl/SHA1" || p2["spi_out"] != "E4DB6687" || p2["state"] != "9" || p2["xt"] != int64(1) {
		t.Errorf("phase2 = %v", p2)
	}
}

// TestIKESAXML covers the XML answers beyond the fixture: no SA, an
// explicit state, a child count, and the CLI text handed over as the
// character data of <result>.
func TestIKESAXML(t *testing.T) {
	for _, c := range []struct {
		name        string
		data        any
		established bool
		p1, p2      int64
		known       bool
	}{
		{"empty result", map[string]any{}, false, 0, 0, false},
		{"empty string", "", false, 0, 0, false},
		{"state down", map[string]any{"entry": map[string]any{"name": "gw", "state": "Init"}}, false, 1, 0, false},
		{"v1 st number", map[string]any{"entry": map[string]any{"name": "gw", "st": "13", "phase2": "2"}}, true, 1, 2, true},
		{"two entries", map[string]any{"entry": []any{
			map[string]any{"name": "a", "children": "1"}, map[string]any{"name": "b", "children": "0"}}}, true, 2, 1, true},
		{"cli text", sample(t, "show_vpn_ike-sa_gateway_ikev2.txt"), true, 1, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse("ike-sa", "", c.data)
			if err != nil {
				t.Fatal(err)
			}
			if got["established"] != c.established || got["phase1_count"] != c.p1 || got["phase2_count"] != c.p2 || got["phase2_known"] != c.known {
				t.Errorf("got established %v phase1 %v phase2 %v known %v", got["established"], got["phase1_count"], got["phase2_count"], got["phase2_known"])
			}
		})
	}
}

// TestIKESADetailSelectors: the traffic selectors of a child SA, as a
// prefix when the range is exactly one, else the range as printed, and
// the protocol and ports when they are not any. The sample's own child
// (0.0.0.0-255.255.255.255) is in the golden; these lines change only
// the values of the sample's TS lines.
func TestIKESADetailSelectors(t *testing.T) {
	text0 := sample(t, "show_vpn_ike-sa_detail_gateway_ikev2.txt")
	for _, c := range []struct {
		local, remote string
		lnet, rnet    string
		selector      string
	}{
		{"Proto:any, 192.168.10.0-192.168.10.255, Ports:any", "Proto:any, 192.168.20.0-192.168.20.255, Ports:any",
			"192.168.10.0/24", "192.168.20.0/24", "192.168.10.0/24 -> 192.168.20.0/24"},
		{"Proto:any, 10.0.0.1-10.0.0.1, Ports:any", "Proto:any, 10.0.0.0-10.0.0.9, Ports:any",
			"10.0.0.1/32", "10.0.0.0-10.0.0.9", "10.0.0.1/32 -> 10.0.0.0-10.0.0.9"},
		{"Proto:6, 10.0.0.0-10.0.1.255, Ports:443", "Proto:6, 10.1.0.0-10.1.255.255, Ports:any",
			"10.0.0.0/23", "10.1.0.0/16", "10.0.0.0/23 -> 10.1.0.0/16 [6:443 -> 6:any]"},
	} {
		text := strings.Replace(text0, "Tunnel 1    WSTPRISMA", "Tunnel 208    sap-sap:pid1", 1)
		text = strings.Replace(text, "TS local:   Proto:any, 0.0.0.0-255.255.255.255, Ports:any", "TS local:   "+c.local, 1)
		text = strings.Replace(text, "TS remote:  Proto:any, 0.0.0.0-255.255.255.255, Ports:any", "TS remote:  "+c.remote, 1)
		f, err := Parse("ike-sa", text, nil)
		if err != nil {
			t.Fatal(err)
		}
		p2 := f["phase2"].([]any)
		if len(p2) != 1 {
			t.Fatalf("%d child SAs, want 1", len(p2))
		}
		e := p2[0].(map[string]any)
		if e["tunnel"] != "sap-sap:pid1" || e["tunnel_id"] != "208" {
			t.Errorf("a proxy ID's SA: tunnel %v, id %v; want sap-sap:pid1, 208", e["tunnel"], e["tunnel_id"])
		}
		if e["ts_local_net"] != c.lnet || e["ts_remote_net"] != c.rnet || e["selector"] != c.selector {
			t.Errorf("%s / %s: nets %v, %v, selector %q; want %s, %s, %q", c.local, c.remote,
				e["ts_local_net"], e["ts_remote_net"], e["selector"], c.lnet, c.rnet, c.selector)
		}
	}
}
