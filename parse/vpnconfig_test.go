package parse

import (
	"slices"
	"testing"
)

// TestVPNTunnelProxyIDs reads a proxy-ID tunnel in the text layout of the
// Zscaler sample: one row per proxy ID named TUNNEL:PROXYID, host bits of
// a network cleared, a protocol and port kept in the selector.
func TestVPNTunnelProxyIDs(t *testing.T) {
	in := "TnID    Name(Gateway)                        Local Proxy IP     Ptl:Port      Remote Proxy IP    Ptl:Port                                   Proposals\n" +
		"-----------------------------------------------------------------------------------------------------------------------------------------------------\n" +
		"208        sap-sap:pid1(sap)            10.1.0.0/24          0:0           10.2.0.0/24          0:0         ESP tunl [DH14][AES256,3DES][SHA256]      3600-sec\n" +
		"209        sap-sap:pid2(sap)            10.1.1.7/24          6:0           10.3.0.0/16          6:443         ESP tunl [DH14][AES256,3DES][SHA256]      3600-sec\n" +
		"Show IPSec tunnel config: Total 2 tunnels found\n"
	got, err := Parse("vpn-tunnel", in, nil)
	if err != nil {
		t.Fatal(err)
	}
	es := got["entries"].([]any)
	if got["form"] != "text" || got["known"] != true || got["count"] != int64(2) || len(es) != 2 {
		t.Fatalf("got %v", got)
	}
	a, b := es[0].(map[string]any), es[1].(map[string]any)
	if a["base_tunnel"] != "sap-sap" || a["proxy_id"] != "pid1" || a["gateway"] != "sap" || a["tunnel_id"] != "208" {
		t.Errorf("names: %v", a)
	}
	if a["selector"] != "10.1.0.0/24 -> 10.2.0.0/24" || a["mirror"] != "10.2.0.0/24 -> 10.1.0.0/24" || a["wildcard"] != false {
		t.Errorf("selector %q mirror %q", a["selector"], a["mirror"])
	}
	if b["local"] != "10.1.1.0/24" || b["selector"] != "10.1.1.0/24 -> 10.3.0.0/16 [6:0 -> 6:443]" || b["mirror"] != "10.3.0.0/16 -> 10.1.1.0/24 [6:443 -> 6:0]" {
		t.Errorf("second: %v", b)
	}
	if !slices.Equal(a["enc"].([]any), []any{"AES256", "3DES"}) || a["proposal"] != "ESP tunl [DH14][AES256,3DES][SHA256]" || a["lifetime_sec"] != int64(3600) {
		t.Errorf("proposal: %v", a)
	}
}

// TestVPNConfigUnknown: an answer in no known layout says so (known
// false, no entry), and the XML form of show vpn gateway, which no public
// sample shows, is not guessed at.
func TestVPNConfigUnknown(t *testing.T) {
	for _, c := range []struct {
		parser, text string
		data         any
		form         string
	}{
		{"vpn-tunnel", "admin@fw> show vpn tunnel\n\n", nil, ""},
		{"vpn-gateway", "admin@fw> show vpn gateway\n\n", nil, ""},
		{"vpn-gateway", "", map[string]any{"entry": map[string]any{"name": "sap"}}, "xml"},
		{"vpn-tunnel", "", map[string]any{"other": "x"}, "xml"},
	} {
		got, err := Parse(c.parser, c.text, c.data)
		if err != nil || got["known"] != false || got["count"] != int64(0) || got["form"] != c.form {
			t.Errorf("%s %q %v: got %v %v", c.parser, c.text, c.data, got, err)
		}
	}
	// A proposal of another shape than [DH][ENC][HASH] is kept as printed,
	// and not split into parts.
	got, _ := Parse("vpn-tunnel", "TnID Name(Gateway) Local Proxy IP Ptl:Port Remote Proxy IP Ptl:Port Proposals\n----------\n"+
		"3 t(g) 0.0.0.0/0 0:0 0.0.0.0/0 0:0 AH tunl [DH2][SHA1] 3600-sec\n", nil)
	e := got["entries"].([]any)[0].(map[string]any)
	if e["proposal_known"] != false || e["proposal"] != "AH tunl [DH2][SHA1]" || len(e["enc"].([]any)) != 0 || e["wildcard"] != true {
		t.Errorf("got %v", e)
	}
}
