package parse

import (
	"strings"
	"testing"
)

// TestIPSecSAProxyIDs reads a tunnel with two proxy IDs: two SAs named
// TUNNEL:PROXYID, each with its own tunnel id, in the text (the real
// cloudflare-docs table with its row repeated under proxy-ID names) and in
// the XML form (entries/entry/name holds the colon; a public PRTG sensor
// script cuts the tunnel name there).
func TestIPSecSAProxyIDs(t *testing.T) {
	s := sample(t, "show_vpn_ipsec-sa_tunnel.txt")
	row := "2               2      162.159.66.164         CF_Magic_WAN_IPsec_01(CF_Magic_WAN_IKE_01)     ESP/A256/SHA256    B5D09AB8 9FA69407 3600/Unlimited           3445"
	if !strings.Contains(s, row) {
		t.Fatal("sample changed")
	}
	two := "2               7      162.159.66.164         CF_Magic_WAN_IPsec_01:Red_1(CF_Magic_WAN_IKE_01) ESP/A256/SHA256    B5D09AB8 9FA69407 3600/Unlimited           3445\n" +
		"2               8      162.159.66.164         CF_Magic_WAN_IPsec_01:Red_2(CF_Magic_WAN_IKE_01) ESP/A256/SHA256    C5D09AB8 AFA69407 3600/Unlimited           3440"
	s = strings.Replace(s, row, two, 1)
	s = strings.Replace(s, "1 ipsec sa found", "2 ipsec sa found", 1)
	xml := map[string]any{"ntun": "1", "entries": map[string]any{"entry": []any{
		map[string]any{"gwid": "2", "tid": "7", "name": "CF_Magic_WAN_IPsec_01:Red_1", "gateway": "CF_Magic_WAN_IKE_01"},
		map[string]any{"gwid": "2", "tid": "8", "name": "CF_Magic_WAN_IPsec_01:Red_2", "gateway": "CF_Magic_WAN_IKE_01"},
	}}}
	for name, in := range map[string][2]any{"text": {s, nil}, "xml": {"", xml}} {
		t.Run(name, func(t *testing.T) {
			got, err := Parse("ipsec-sa", in[0].(string), in[1])
			if err != nil {
				t.Fatal(err)
			}
			ra, _ := render(got["sas"])
			rb, _ := render(got["tunnel_ids"])
			if ra != "[\n  \"CF_Magic_WAN_IPsec_01:Red_1\",\n  \"CF_Magic_WAN_IPsec_01:Red_2\"\n]\n" || rb != "[\n  \"7\",\n  \"8\"\n]\n" ||
				got["count"] != int64(2) || got["tunnel_id"] != "7" {
				t.Errorf("sas %s tunnel_ids %s count %v tunnel_id %v", ra, rb, got["count"], got["tunnel_id"])
			}
			for i, x := range got["entries"].([]any) {
				e := x.(map[string]any)
				if e["base_tunnel"] != "CF_Magic_WAN_IPsec_01" || e["proxy_id"] != []string{"Red_1", "Red_2"}[i] ||
					e["gateway"] != "CF_Magic_WAN_IKE_01" {
					t.Errorf("entry %d = %v", i, e)
				}
			}
		})
	}
}
