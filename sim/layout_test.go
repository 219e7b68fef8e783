package sim

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/parse"
	"github.com/runbook-dev/runbook/transports"
)

// This file pins every simulator answer that has a real sample in testdata/
// to that sample: both go through the parser the playbooks use and must give
// the same field names; where the parser is being rewritten (ike-sa detail)
// or does not exist yet (security-policy-match), the layout is also pinned
// on its own: the same labels in the same order, with the same indentation.

// sampleText is a sample without its source line and without prompt lines
// (the command echo and the trailing prompt).
func sampleText(t *testing.T, name string) string {
	t.Helper()
	var keep []string
	for _, l := range sampleLines(t, name) {
		if regexp.MustCompile(`^\S+@\S+>`).MatchString(l) || strings.HasPrefix(l, "show ") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

var digits = regexp.MustCompile(`\d+`)

// shape is a line's layout without its values: its indentation and its
// label (the text before the first colon, else the first two words, digits
// replaced by N). Blank lines have no shape.
func shape(l string) string {
	content := strings.TrimSpace(l)
	if content == "" {
		return ""
	}
	indent := len(l) - len(strings.TrimLeft(l, " \t"))
	label := content
	if i := strings.IndexByte(content, ':'); i > 0 {
		label = content[:i]
	} else if f := strings.Fields(content); len(f) > 2 {
		label = f[0] + " " + f[1]
	}
	label = strings.Join(strings.Fields(label), " ")
	return strings.Repeat(" ", indent) + digits.ReplaceAllString(label, "N")
}

// ruleShapes are the shapes of a policy block's lines after its first:
// indentation and first word (a rule's values may be lists "[ a b ]").
func ruleShapes(block string) []string {
	var out []string
	for _, l := range strings.Split(block, "\n")[1:] {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, l[:len(l)-len(strings.TrimLeft(l, " "))]+strings.TrimSuffix(f[0], ":"))
		}
	}
	return out
}

func shapes(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if s := shape(l); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// keysOf returns the sorted keys of a parsed result, or of its first list
// entry under key when key is set.
func keysOf(t *testing.T, m map[string]any, key string) []string {
	t.Helper()
	if key != "" {
		l, ok := m[key].([]any)
		if !ok || len(l) == 0 {
			t.Fatalf("no %s entries in %v", key, m)
		}
		m, ok = l[0].(map[string]any)
		if !ok {
			t.Fatalf("%s entry %#v is not a map", key, l[0])
		}
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func mustParse(t *testing.T, parser, text string) map[string]any {
	t.Helper()
	out, err := parse.Parse(parser, text, nil)
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", parser, err, text)
	}
	return out
}

// TestPinnedToSamples runs the sample and the simulator's answer of each
// command through the playbooks' parser and compares the field names.
func TestPinnedToSamples(t *testing.T) {
	topo := DefaultTopology()
	for _, tc := range []struct {
		name, sample, cli, parser string
		entries                   []string // list fields whose entries' keys are compared too
		sc                        Scenario
		sameValues                []string // fields that must be equal too
	}{
		{name: "ike-sa table", sample: "show_vpn_ike-sa_gateway_ikev2.txt", cli: "show vpn ike-sa gateway sap", parser: "ike-sa",
			entries: []string{"phase1", "phase2"}, sameValues: []string{"established", "phase1_count", "phase2_count"}},
		{name: "ike-sa none", sample: "show_vpn_none_ikev2.txt", cli: "show vpn ike-sa", parser: "ike-sa", sc: Phase1Down,
			sameValues: []string{"established", "phase1_count", "phase2_count"}},
		// The detail form: the verdicts must agree on the sample and on
		// the simulator's healthy answer, whatever the parser reads.
		{name: "ike-sa detail", sample: "show_vpn_ike-sa_detail_gateway_ikev2.txt", cli: "show vpn ike-sa detail gateway sap", parser: "ike-sa",
			sameValues: []string{"established", "phase1_count", "phase2_count"}},
		{name: "ipsec-sa", sample: "article_show_vpn_ipsec-sa_tunnel.txt", cli: "show vpn ipsec-sa tunnel sap-sap", parser: "ipsec-sa",
			entries: []string{"entries"}, sameValues: []string{"count", "tunnels"}},
		{name: "sessions", sample: "show_session_all_filter.txt", cli: "show session all filter source 10.1.1.1 destination 10.1.1.2 application ike", parser: "sessions",
			entries: []string{"sessions"}, sameValues: []string{"count"}},
		{name: "session id", sample: "show_session_id.txt", cli: "show session id 145371", parser: "keyvalue"},
		{name: "flow tunnel-id", sample: "article_show_vpn_flow_tunnel-id.txt", cli: "show vpn flow tunnel-id 207", parser: "keyvalue"},
		{name: "vpn tunnel", sample: "show_vpn_flow_gateway_tunnel_zscaler-doc.txt", cli: "show vpn tunnel", parser: "vpn-tunnel",
			entries: []string{"entries"}, sameValues: []string{"form", "known"}},
		{name: "vpn gateway", sample: "show_vpn_flow_gateway_tunnel_zscaler-doc.txt", cli: "show vpn gateway", parser: "vpn-gateway",
			entries: []string{"entries"}, sameValues: []string{"form", "known", "count", "gateways"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := tc.sc
			if sc == "" {
				sc = Healthy
			}
			d := newDev(t, sc)
			if tc.cli == "show vpn ike-sa" && topo.Gateway == "" {
				t.Fatal("no gateway")
			}
			sample := mustParse(t, tc.parser, sampleText(t, tc.sample))
			sim := mustParse(t, tc.parser, run(t, d, tc.cli))
			if a, b := keysOf(t, sample, ""), keysOf(t, sim, ""); !reflect.DeepEqual(a, b) {
				t.Errorf("fields\nsample %v\nsim    %v", a, b)
			}
			for _, e := range tc.entries {
				if a, b := keysOf(t, sample, e), keysOf(t, sim, e); !reflect.DeepEqual(a, b) {
					t.Errorf("%s fields\nsample %v\nsim    %v", e, a, b)
				}
			}
			for _, k := range tc.sameValues {
				if !reflect.DeepEqual(sample[k], sim[k]) {
					t.Errorf("%s: sample %#v, sim %#v", k, sample[k], sim[k])
				}
			}
		})
	}
	t.Run("counters", func(t *testing.T) {
		sample := mustParse(t, "counters", sampleText(t, "show_counter_global.txt"))
		sim := mustParse(t, "counters", run(t, newDev(t, Healthy), "show counter global"))
		for _, k := range []string{"count", "counters", "drops", "elapsed_seconds"} {
			if (sample[k] == nil) != (sim[k] == nil) {
				t.Errorf("%s: sample %#v, sim %#v", k, sample[k], sim[k])
			}
		}
		one := func(m map[string]any) []string {
			cs, _ := m["counters"].(map[string]any)
			for _, c := range cs {
				return keysOf(t, c.(map[string]any), "")
			}
			t.Fatalf("no counters in %v", m)
			return nil
		}
		if a, b := one(sample), one(sim); !reflect.DeepEqual(a, b) {
			t.Errorf("counter fields\nsample %v\nsim    %v", a, b)
		}
	})
	t.Run("ipsec-sa none", func(t *testing.T) {
		out := run(t, newDev(t, Phase2Down), "show vpn ipsec-sa")
		if !strings.Contains(sampleText(t, "show_vpn_none_ikev2.txt"), strings.TrimSpace(out)) {
			t.Errorf("ipsec-sa without SA %q is not the sample's", out)
		}
	})
	t.Run("ike-sa none text", func(t *testing.T) {
		out := run(t, newDev(t, Phase1Down), "show vpn ike-sa gateway sap")
		if !strings.HasPrefix(sampleText(t, "show_vpn_none_ikev2.txt"), out) {
			t.Errorf("ike-sa without SA %q is not the sample's", out)
		}
	})
}

// TestIKESADetailLayout pins the detail form on its own: the simulator's
// healthy answer has the sample's labels, in the sample's order, with its
// indentation (IKE SA block, an ESP child SA, an expired INFO exchange);
// and its fixed words are the sample's.
func TestIKESADetailLayout(t *testing.T) {
	sample := sampleText(t, "show_vpn_ike-sa_detail_gateway_ikev2.txt")
	sim := run(t, newDev(t, Healthy), "show vpn ike-sa detail gateway sap")
	if a, b := shapes(sample), shapes(sim); !reflect.DeepEqual(a, b) {
		t.Errorf("shapes differ\nsample %q\nsim    %q", a, b)
	}
	for _, re := range []string{
		`(?m)^IKE Gateway \S+, ID \d+ \S+ => \S+$`,
		`(?m)^  SPI:  [0-9A-F]{16}:[0-9A-F]{16}  (Init|Resp)$`,
		`(?m)^        State:      Established$`,
		`(?m)^  Child SA \d+:$`,
		`(?m)^        Tunnel \d+    \S+$`,
		`(?m)^        Type:       ESP       (Init|Resp)$`,
		`(?m)^        State:      Mature$`,
		`(?m)^        SPI:        [0-9A-F]{8} : [0-9A-F]{8} $`,
		`(?m)^        TS local:   Proto:any, [\d.]+-[\d.]+, Ports:any$`,
		`(?m)^        Expires:    \w{3}\.\d\d \d\d:\d\d:\d\d, rekey in .* \(\d+ sec\)$`,
		`(?m)^        Type:       INFO\n        State:      Expired$`,
	} {
		r := regexp.MustCompile(re)
		if !r.MatchString(sample) {
			t.Fatalf("the sample does not match %s", re)
		}
		if !r.MatchString(sim) {
			t.Errorf("the simulator's detail does not match %s:\n%s", re, sim)
		}
	}
	// Phase 2 down: the IKE SA block without any ESP child.
	p2 := run(t, newDev(t, Phase2Down), "show vpn ike-sa detail gateway sap")
	if !strings.Contains(p2, "        State:      Established\n") || strings.Contains(p2, "Type:       ESP") {
		t.Errorf("phase2-down detail:\n%s", p2)
	}
	// Proxy IDs: one child SA per proxy ID, named TUNNEL:PROXYID.
	topo := ProxyIDTopology()
	px := run(t, NewDevice(Options{Topology: &topo}), "show vpn ike-sa detail gateway sap")
	for _, l := range []string{"        Tunnel 208    sap-sap:pid1", "        Tunnel 209    sap-sap:pid2",
		"        TS local:   Proto:any, 192.168.11.0-192.168.11.255, Ports:any"} {
		if !strings.Contains(px, l+"\n") {
			t.Errorf("proxy-ID detail lacks %q:\n%s", l, px)
		}
	}
}

// TestPolicyMatchLayout pins test security-policy-match to the sample's
// block, and the empty answer when nothing matches.
func TestPolicyMatchLayout(t *testing.T) {
	sample := sampleText(t, "test_security-policy-match.txt")
	first := sample[:strings.Index(sample, "}\n")+2]
	d := newDev(t, Healthy)
	sim := run(t, d, "test security-policy-match source 10.1.1.1 destination 10.1.1.2 protocol 17 destination-port 500 application ike")
	if a, b := ruleShapes(first), ruleShapes(strings.TrimRight(sim, "\n")+"\n"); !reflect.DeepEqual(a, b) {
		t.Errorf("shapes differ\nsample %q\nsim    %q", a, b)
	}
	head := regexp.MustCompile(`^"[^";]+; index: \d+" \{\n`)
	if !head.MatchString(first) || !head.MatchString(sim) {
		t.Errorf("first line: sample %q, sim %q", first, sim)
	}
	if !strings.Contains(sim, "        action allow;\n") {
		t.Errorf("no action allow:\n%s", sim)
	}
	if out, err := parse.Parse("security-policy-match", first, nil); err == nil {
		simOut := mustParse(t, "security-policy-match", sim)
		if a, b := keysOf(t, out, ""), keysOf(t, simOut, ""); !reflect.DeepEqual(a, b) {
			t.Errorf("fields\nsample %v\nsim    %v", a, b)
		}
	} else if !errors.Is(err, parse.ErrUnknownParser) {
		t.Fatal(err)
	}
	if out := run(t, newDev(t, Phase1Down), "test security-policy-match source 10.1.1.1 destination 10.1.1.2 protocol 17 destination-port 500 application ike"); out != "" {
		t.Errorf("no rule matches, yet %q", out)
	}
	deny := NewDevice(Options{Faults: Faults{DenyIPSec: true}})
	out := run(t, deny, "test security-policy-match source 10.1.1.1 destination 10.1.1.2 protocol 50 application ipsec-esp")
	if !strings.HasPrefix(out, `"deny-vpn-peer; index: 1" {`+"\n") || !strings.Contains(out, "        action deny;\n") {
		t.Errorf("deny rule:\n%s", out)
	}
}

// TestSessionIDLayout pins show session id to the sample: the same labels
// in the same order, the same indentation.
func TestSessionIDLayout(t *testing.T) {
	sample := sampleText(t, "show_session_id.txt")
	sim := run(t, newDev(t, Healthy), "show session id 145371")
	if a, b := shapes(sample), shapes(sim); !reflect.DeepEqual(a, b) {
		t.Errorf("shapes differ\nsample %q\nsim    %q", a, b)
	}
	if a, b := strings.SplitN(strings.TrimSpace(sample), "\n", 2)[0], strings.SplitN(strings.TrimSpace(sim), "\n", 2)[0]; len(a) != len(b) {
		t.Errorf("session line %q vs %q: the id is not right-aligned the same way", a, b)
	}
}

// TestPacketDiagSettingLayout rebuilds the Tech Note's two filters and
// compares the whole answer with the sample.
func TestPacketDiagSettingLayout(t *testing.T) {
	d := newDev(t, Healthy)
	run(t, d, "debug dataplane packet-diag set filter match source 1.1.1.50")
	run(t, d, "debug dataplane packet-diag set filter match source 1.1.1.5 destination 2.1.1.5 destination-port 80 protocol 6")
	run(t, d, "debug dataplane packet-diag set filter on")
	got := run(t, d, "debug dataplane packet-diag show setting")
	if want := sampleText(t, "debug_dataplane_packet-diag_show_setting.txt"); got != want {
		t.Errorf("show setting\n got %q\nwant %q", got, want)
	}
}

// TestAPIIKESAAndPolicy checks the XML API's answers: ike-sa as
// result/entry with the elements public clients read, nothing when there is
// no SA; the policy match in both shapes.
func TestAPIIKESAAndPolicy(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		o    Options
	}{{"healthy", Options{}}, {"phase1-down", Options{Scenario: Phase1Down}}, {"8.0", Options{SWVersion: "8.0.5"}}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startAPI(t, tc.o, APIConfig{})
			c := s.open(t)
			for _, cli := range []string{"show vpn ike-sa gateway sap", "show vpn ike-sa detail gateway sap", "show vpn ike-sa"} {
				res, err := c.Run(ctx, transports.Command{CLI: cli})
				if err != nil {
					t.Fatal(err)
				}
				m, _ := res.Data.(map[string]any)
				if tc.o.Scenario == Phase1Down {
					if m["entry"] != nil {
						t.Errorf("%s: entry %v without an SA", cli, m["entry"])
					}
					continue
				}
				e := dig(t, res.Data, "entry")
				for k, want := range map[string]string{"name": "sap", "gwid": "90", "peerip": "10.1.1.1"} {
					if got := dig(t, e, k); got != want {
						t.Errorf("%s: %s = %v, want %s", cli, k, got, want)
					}
				}
				if v, _ := dig(t, e, "created").(string); v == "" {
					t.Errorf("%s: no created", cli)
				}
			}
			res, err := c.Run(ctx, transports.Command{CLI: "test security-policy-match source 10.1.1.1 destination 10.1.1.2 protocol 17 destination-port 500 application ike"})
			if err != nil {
				t.Fatal(err)
			}
			switch tc.name {
			case "healthy":
				line, _ := dig(t, res.Data, "msg", "line").(string)
				if !strings.HasPrefix(line, `"allow-ipsec; index: 3" {`) || !strings.Contains(line, "action allow;") {
					t.Errorf("msg/line %q", line)
				}
			case "8.0":
				if e := dig(t, res.Data, "rules", "entry"); e != "allow-ipsec; index: 3" {
					t.Errorf("rules/entry %#v", e)
				}
			case "phase1-down":
				m, _ := res.Data.(map[string]any)
				if _, ok := m["rules"]; !ok || m["msg"] != nil {
					t.Errorf("empty match: %#v", res.Data)
				}
			}
		})
	}
}
