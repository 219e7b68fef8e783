package parse

import (
	"testing"
)

// TestXMLTextAgree parses the same data in its CLI text and XML API forms
// and checks that the listed fields have the same names, types and values,
// so one playbook expression works over both transports.
func TestXMLTextAgree(t *testing.T) {
	cases := []struct {
		parser, text, xml string
		fields            []string // dotted paths; "entries.0.x" indexes a list
	}{
		{"keyvalue", "fixture_flow_tunnel-id_of_xml.txt", "show_running_tunnel_flow_tunnel-id.xml", []string{
			"tunnel", "id", "type", "gateway_id", "local_ip", "peer_ip", "inner_interface", "outer_interface",
			"session", "tunnel_mtu", "lifetime_remain", "latest_rekey", "monitor_packets_seen",
			"monitor_packets_reply", "en_decap_context", "local_spi", "remote_spi", "key_type", "protocol",
			"auth_algorithm", "enc_algorithm", "authentication_errors", "decryption_errors",
			"inner_packet_warnings", "replay_packets", "packets_received_when_lifetime_expired",
			"packets_received_when_lifesize_expired", "sending_sequence", "receive_sequence",
			"encap_packets", "decap_packets", "encap_bytes", "decap_bytes", "key_acquire_requests",
			"owner_state", "ownership",
		}},
		{"ipsec-sa", "show_vpn_ipsec-sa_tunnel.txt", "fixture_ipsec-sa_tunnel.xml", []string{
			"count", "tunnel_id", "tunnels", "entries.0.gwid", "entries.0.tunnel_id", "entries.0.peer_address",
			"entries.0.tunnel", "entries.0.gateway", "entries.0.algorithm", "entries.0.spi_in",
			"entries.0.spi_out", "entries.0.life_sec", "entries.0.life_kb", "entries.0.remain_time",
			"entries.0.base_tunnel", "entries.0.proxy_id", "sas", "tunnel_ids",
		}},
		{"ike-sa", "show_vpn_ike-sa_gateway_ikev2.txt", "fixture_ike-sa.xml", []string{
			"phase1_count", "established", "phase1.0.gateway", "phase1.0.gwid", "phase1.0.peer_address",
			"phase1.0.established_at",
		}},
		{"security-policy-match", "test_security-policy-match.txt", "fixture_security-policy-match_msg_line.xml", []string{
			"count", "matched", "action", "denied", "first.name", "first.index", "first.action",
			"rules.0.name", "rules.0.index", "rules.0.action", "rules.0.from", "rules.0.to", "rules.0.source",
			"rules.0.destination", "rules.0.application_service", "rules.0.destination_device", "rules.1.name",
			"rules.1.index", "rules.1.action",
		}},
		// The rules/entry shape names the rules only: no action.
		{"security-policy-match", "test_security-policy-match.txt", "fixture_security-policy-match_rules_entry.xml", []string{
			"count", "matched", "first.name", "first.index", "rules.0.name", "rules.0.index", "rules.1.name", "rules.1.index",
		}},
		{"vpn-tunnel", "fixture_vpn_tunnel_of_xml.txt", "show_vpn_tunnel.xml", []string{
			"count", "known", "tunnels", "entries.0.tunnel_id", "entries.0.name", "entries.0.base_tunnel",
			"entries.0.proxy_id", "entries.0.gateway", "entries.0.local", "entries.0.remote",
			"entries.0.local_protocol", "entries.0.local_port", "entries.0.remote_protocol", "entries.0.remote_port",
			"entries.0.wildcard", "entries.0.selector", "entries.0.mirror", "entries.0.protocol", "entries.0.mode",
			"entries.0.dh", "entries.0.enc", "entries.0.hash", "entries.0.proposal_known", "entries.0.proposal",
			"entries.0.lifetime_sec", "entries.0.lifetime_kb",
		}},
		{"sessions", "show_session_all_filter.txt", "fixture_session_all_filter.xml", []string{
			"count", "first_id", "sessions.0.id", "sessions.0.application", "sessions.0.state",
			"sessions.0.type", "sessions.0.flag", "sessions.0.source", "sessions.0.sport",
			"sessions.0.from_zone", "sessions.0.proto", "sessions.0.source_translated",
			"sessions.0.sport_translated", "sessions.0.vsys", "sessions.0.destination", "sessions.0.dport",
			"sessions.0.to_zone", "sessions.0.destination_translated", "sessions.0.dport_translated",
		}},
		{"counters", "show_counter_global.txt", "fixture_counter_global.xml", []string{
			"count", "drops", "elapsed_seconds", "pkt_recv", "flow_no_interface",
			"counters.pkt_recv.value", "counters.pkt_recv.rate", "counters.pkt_recv.severity",
			"counters.pkt_recv.category", "counters.pkt_recv.aspect", "counters.pkt_recv.description",
			"counters.flow_rcv_dot1q_tag_err.description",
		}},
		{"resource-monitor", "fixture_resource_monitor.txt", "fixture_resource_monitor.xml", []string{
			"dataplanes.dp0.cpu.1", "dataplanes.dp0.cpu.2", "dataplanes.dp0.cpu_max", "dataplanes.dp0.cpu_avg",
			"dataplanes.dp0.session", "dataplanes.dp0.packet_buffer", "dataplanes.dp0.packet_descriptor",
			"dataplanes.dp0.packet_descriptor_on_chip",
		}},
		{"fib-lookup", "fixture_fib_lookup.txt", "fixture_fib_lookup.xml", []string{
			"interface", "nexthop", "source", "metric", "found",
		}},
	}
	for _, c := range cases {
		t.Run(c.parser, func(t *testing.T) {
			fromText, err := Parse(c.parser, sample(t, c.text), nil)
			if err != nil {
				t.Fatal(err)
			}
			fromXML, err := Parse(c.parser, "", xmlResult(t, sample(t, c.xml)))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range c.fields {
				a, aok := at(fromText, f)
				b, bok := at(fromXML, f)
				if !aok || !bok {
					t.Errorf("%s: in text %v, in xml %v", f, aok, bok)
					continue
				}
				ra, _ := render(a)
				rb, _ := render(b)
				if ra != rb {
					t.Errorf("%s: text %s, xml %s", f, ra, rb)
				}
			}
		})
	}
}

// at walks a dotted path; a numeric step indexes a list.
func at(v any, p string) (any, bool) {
	for _, k := range splitPath(p) {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				return nil, false
			}
		case []any:
			i, ok := toInt(k)
			if !ok || i < 0 || int(i) >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}
