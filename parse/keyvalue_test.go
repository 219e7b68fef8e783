package parse

import "testing"

func TestKeyValueFlow(t *testing.T) {
	got, err := Parse("keyvalue", sample(t, "article_show_vpn_flow_tunnel-id.txt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"tunnel":                                 "sap-sap",
		"id":                                     int64(207),
		"decap_packets":                          int64(1483008),
		"encap_bytes":                            int64(71262032),
		"en_decap_context":                       int64(23),
		"local_spi":                              "8AE5524F",
		"enc_algorithm":                          "3DES",
		"lifetime_remain":                        int64(25935),
		"latest_rekey":                           int64(2865),
		"packets_received_when_lifetime_expired": int64(0),
		"packets_received_when_lifesize_expired": int64(0),
		"sending_sequence":                       int64(0),
		"owner_cpuid":                            "s1dp0",
		"proxy_id_local_ip":                      "0.0.0.0/0",
	} {
		if got[k] != want {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}
}

func TestKeyValueSessionPairs(t *testing.T) {
	got, err := Parse("keyvalue", sample(t, "show_session_id.txt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"session":                  int64(25),
		"c2s_flow_sport":           int64(1),
		"c2s_flow_dport":           int64(31),
		"s2c_flow_state":           "INIT",
		"s2c_flow_type":            "FLOW",
		"s2c_flow_source":          "1.1.1.1 [Outside]",
		"start_time":               "Sat May  6 09:58:41 2023",
		"timeout":                  int64(6),
		"total_byte_count_c2s":     int64(74),
		"total_byte_count_s2c":     int64(0),
		"c2s_flow_source":          "192.168.1.20 [Inside]",
		"c2s_flow_dst":             "1.1.1.1",
		"c2s_flow_proto":           int64(1),
		"s2c_flow_dst":             "10.2.62.150",
		"s2c_flow_sport":           int64(31),
		"ingress_interface":        "ethernet1/1",
		"session_traverses_tunnel": "False",
		"application":              "ping",
		"egress_interface":         "ethernet1/3",
		"session_qos_rule":         "N/A (class 4)",
		"url_filtering_enabled":    "False",
	} {
		if got[k] != want {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}
}

func TestKeyValueTolerates(t *testing.T) {
	text := "  Encap Packets :  5\nDECAP PACKETS:7\nweird line without colon\nextra field: x\nencap packets: 9\n"
	got, err := Parse("keyvalue", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got["encap_packets"] != int64(5) || got["decap_packets"] != int64(7) || got["extra_field"] != "x" {
		t.Errorf("got %v", got)
	}
	if len(got) != 3 {
		t.Errorf("got %d fields, want 3: %v", len(got), got)
	}
}

// TestKeyValueProxyIDTunnel keeps a "label  value" line whose value holds a
// colon (the SA of a proxy ID is named TUNNEL:PROXYID, issue 11) as one
// pair, and still reads labels that hold a double space or pad their colon.
func TestKeyValueProxyIDTunnel(t *testing.T) {
	text := "tunnel  vpn_TEST:Red_1\n        id:                 5\n" +
		"        enc  algorithm:     AES128\n        start time      : Sat May  6 09:58:41 2023\n" +
		"        peer ip:            10.0.0.1:4500\n"
	got, err := Parse("keyvalue", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"tunnel": "vpn_TEST:Red_1", "id": int64(5), "enc_algorithm": "AES128",
		"start_time": "Sat May  6 09:58:41 2023", "peer_ip": "10.0.0.1:4500",
	} {
		if got[k] != want {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}
	if _, ok := got["tunnel_vpn_test"]; ok {
		t.Errorf("tunnel_vpn_test is set: %v", got)
	}
}

// TestKVValueSeconds pins that kvValue's shortcut past the seconds regexp
// changes no value: every form the regexp takes still reads as seconds.
func TestKVValueSeconds(t *testing.T) {
	for _, s := range []string{"25935 sec", "2865 seconds ago", "1 second", "3s", "4 secs", "5seconds", "6 s ago", "7 seconds", " 8 sec "} {
		if _, ok := kvValue(s).(int64); !ok {
			t.Errorf("kvValue(%q) = %#v, want seconds as int64", s, kvValue(s))
		}
		if seconds.FindStringSubmatch(trimmed(s)) == nil {
			t.Errorf("%q: not a seconds form the regexp takes", s)
		}
	}
	for _, s := range []string{"sec", "12 minutes", "3DES", "0x1f", "s1dp0", "12 secondsx", "42", "up"} {
		if got, want := kvValue(s), value(s); got != want {
			t.Errorf("kvValue(%q) = %#v, want %#v", s, got, want)
		}
	}
}

func trimmed(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}
