package parse

import (
	"errors"
	"strings"
	"testing"
)

// goldenCases runs each parser over the real samples (and the fixtures we
// wrote, each saying so on its first line).
var goldenCases = []struct {
	parser, file string
}{
	{"keyvalue", "article_show_vpn_flow_tunnel-id.txt"},
	{"keyvalue", "show_vpn_flow_and_flow_tunnel-id_partial.txt"},
	{"keyvalue", "show_session_id.txt"},
	{"keyvalue", "show_system_info.txt"},
	{"keyvalue", "show_system_info.xml"},
	{"keyvalue", "show_running_tunnel_flow_tunnel-id.xml"},
	{"keyvalue", "show_high-availability_all.txt"},
	{"keyvalue", "show_vpn_tunnel.xml"},
	{"vpn-tunnel", "show_vpn_tunnel.xml"},
	{"vpn-tunnel", "show_vpn_flow_gateway_tunnel_zscaler-doc.txt"},
	{"vpn-gateway", "show_vpn_flow_gateway_tunnel_zscaler-doc.txt"},
	{"counters", "show_counter_global.txt"},
	{"counters", "fixture_counter_global.xml"},
	{"counters", "show_counter_global_demisto.xml"},
	{"table", "show_vpn_flow_gateway_tunnel_zscaler-doc.txt"},
	{"table", "show_jobs_all.txt"},
	{"table", "show_jobs_all2.txt"},
	{"table", "show_vpn_ike-sa_gateway_ikev2.txt"},
	{"ipsec-sa", "show_vpn_ipsec-sa.txt"},
	{"ipsec-sa", "show_vpn_ipsec-sa_tunnel.txt"},
	{"ipsec-sa", "show_vpn_ipsec-sa_tunnel_ikev1.txt"},
	{"ipsec-sa", "article_show_vpn_ipsec-sa_tunnel.txt"},
	{"ipsec-sa", "show_vpn_flow_gateway_tunnel_zscaler-doc.txt"},
	{"ipsec-sa", "fixture_ipsec-sa_tunnel.xml"},
	{"ike-sa", "show_vpn_ike-sa_ikev1.txt"},
	{"ike-sa", "show_vpn_ike-sa_gateway_ikev1.txt"},
	{"ike-sa", "show_vpn_ike-sa_gateway_ikev2.txt"},
	{"ike-sa", "show_vpn_flow_gateway_tunnel_zscaler-doc.txt"},
	{"ike-sa", "show_vpn_ike-sa_detail_gateway_ikev2.txt"},
	{"ike-sa", "fixture_ike-sa.xml"},
	{"sessions", "show_session_all_filter.txt"},
	{"sessions", "fixture_session_all_filter.xml"},
	{"security-policy-match", "test_security-policy-match.txt"},
	{"security-policy-match", "panos_match_rule_rules_entry.xml"},
	{"security-policy-match", "panos_match_rule_msg_line.xml"},
	{"security-policy-match", "fixture_security-policy-match_none.txt"},
	{"resource-monitor", "fixture_resource_monitor.txt"},
	{"resource-monitor", "fixture_resource_monitor.xml"},
	{"resource-monitor", "show_running_resource-monitor_kb_packet-diag.txt"},
	{"resource-monitor", "show_running_resource-monitor_pa-2050.txt"},
	{"fib-lookup", "fixture_fib_lookup.txt"},
	{"fib-lookup", "fixture_fib_lookup_none.txt"},
	{"fib-lookup", "fixture_fib_lookup.xml"},
	{"pool-statistics", "fixture_pool_statistics.txt"},
	{"clock", "fixture_clock.txt"},
	{"clock", "fixture_clock_pst.txt"},
	{"system-resources", "fixture_system_resources.txt"},
	{"system-resources", "fixture_system_resources_procps.txt"},
	{"system-resources", "fixture_system_resources_percore.txt"},
	{"system-resources", "show_system_resources_kb_reducing_mp_load.txt"},
	{"system-resources", "show_system_resources_beats_xmlapi.txt"},
	{"packet-diag-setting", "debug_dataplane_packet-diag_show_setting.txt"},
	{"packet-diag-setting", "fixture_packet-diag_show_setting_capture.txt"},
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.parser+"/"+c.file, func(t *testing.T) {
			s := sample(t, c.file)
			var data any
			text := s
			if strings.HasSuffix(c.file, ".xml") {
				data, text = xmlResult(t, s), ""
			}
			got, err := Parse(c.parser, text, data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			golden(t, c.parser+"__"+strings.TrimSuffix(strings.TrimSuffix(c.file, ".txt"), ".xml")+suffix(c.file)+".json", got)
		})
	}
}

func suffix(file string) string {
	if strings.HasSuffix(file, ".xml") {
		return ".xml"
	}
	return ""
}

func TestParseUnknownParser(t *testing.T) {
	_, err := Parse("nosuch", "x", nil)
	if !errors.Is(err, ErrUnknownParser) {
		t.Fatalf("err = %v, want ErrUnknownParser", err)
	}
	if !strings.HasPrefix(err.Error(), `parse "nosuch": unknown parser (known: keyvalue, table,`) {
		t.Errorf("message = %q", err)
	}
}

func TestParseErrorOutput(t *testing.T) {
	for _, name := range Names {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(name, "admin@fw> show vpn nonsense\nUnknown command: nonsense\n", nil)
			if !errors.Is(err, ErrNotOutput) {
				t.Fatalf("err = %v, want ErrNotOutput", err)
			}
			want := "parse " + name + `: not the command's output: "Unknown command: nonsense"`
			if err.Error() != want {
				t.Errorf("message = %q, want %q", err, want)
			}
		})
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"decap packets":     "decap_packets",
		"en/decap context":  "en_decap_context",
		"SPI(in)":           "spi_in",
		"GwID/client IP":    "gwid_client_ip",
		"  enc  algorithm ": "enc_algorithm",
		"remain-time(Sec)":  "remain_time_sec",
		"":                  "",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValue(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
	}{
		{"387833", int64(387833)}, {"-3", int64(-3)}, {"0", int64(0)}, {"12.5", 12.5},
		{"0.5", 0.5}, {"0012", "0012"}, {"8AE5524F", "8AE5524F"}, {"1.2.3.4", "1.2.3.4"},
		{"99999999999999999999", "99999999999999999999"}, {" x ", "x"}, {"1e5", "1e5"}, {".5", ".5"},
	} {
		if got := value(c.in); got != c.want {
			t.Errorf("value(%q) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

// FuzzSnake: snake gives, for any label, what it gave before it kept a
// label that is already a field name as it is (snakeOf, the code it was).
func FuzzSnake(f *testing.F) {
	for _, s := range []string{"decap packets", "id", "a_b", "a__b", "_a", "a_", "_", "K\u212a", "x1_2y", "Ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, label string) {
		if got, want := snake(label), snakeOf(label); got != want {
			t.Fatalf("snake(%q) = %q, was %q", label, got, want)
		}
	})
}

// FuzzErrorLine: errorLine finds, in any text, the line errorLineOf (the
// code it was) finds.
func FuzzErrorLine(f *testing.F) {
	for _, s := range []string{"", "tunnel  sap-sap\n  id: 207\n", "Unknown command: show x", "a\r\n  Invalid Syntax.\r\n", "x\rserver error: y",
		"ok\n\tvalidation error: z", "unkno\u212awn command: y", "\u00a0unknown command: y", "UNKNOWN COMMAND:", "unknown command", "\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		l, bad := errorLine(text)
		wl, wbad := errorLineOf(text)
		if l != wl || bad != wbad {
			t.Fatalf("errorLine(%q) = %q, %v; was %q, %v", text, l, bad, wl, wbad)
		}
	})
}
