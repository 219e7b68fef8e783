package sim

import (
	"fmt"
	"net/netip"
	"strings"
)

// This file answers test security-policy-match in the layout of
// testdata/test_security-policy-match.txt: the first matching rule as a
// block `"NAME; index: N" { ... }`, and nothing at all when no rule
// matches (PAN-OS prints no "no match" line).

// policyRule is one security rule of the simulated rulebase.
type policyRule struct {
	name           string
	index          int
	from, to       string
	sources, dests []string // addresses or CIDRs; empty is any
	apps           []string // applications; empty is any
	appService     string   // the application/service line
	action         string
}

func (d *Device) rules() []policyRule {
	t := d.topo
	ends := []string{t.LocalIP, t.PeerIP}
	ipsecApps := []string{"ike", "ipsec-esp", "ipsec-esp-udp"}
	var rs []policyRule
	if d.faults.DenyIPSec {
		rs = append(rs, policyRule{name: DenyRule, index: 1, from: t.OutsideZone, to: t.OutsideZone, sources: ends, dests: ends,
			apps: ipsecApps, appService: "[0:ike/udp/any/500 1:ipsec-esp/50/any/any 2:ipsec-esp-udp/udp/any/4500 ]", action: "deny"})
	}
	rs = append(rs,
		policyRule{name: t.Rule, index: 3, from: t.OutsideZone, to: t.OutsideZone, sources: ends, dests: ends,
			apps: ipsecApps, appService: "[0:ike/udp/any/500 1:ike/udp/any/4500 2:ipsec-esp/50/any/any 3:ipsec-esp-udp/udp/any/4500 ]", action: "allow"},
		policyRule{name: "inside-to-vpn", index: 4, from: t.InsideZone, to: t.VPNZone, sources: []string{t.LocalHost}, dests: []string{t.RemoteNetwork},
			appService: "0:any/any/any/any", action: "allow"})
	return rs
}

func inList(list []string, v string) bool {
	if len(list) == 0 || v == "" {
		return true
	}
	a, err := netip.ParseAddr(v)
	for _, x := range list {
		if x == v {
			return true
		}
		if p, perr := netip.ParsePrefix(x); perr == nil && err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

func (d *Device) policyMatch(kv map[string]string) string {
	for _, r := range d.rules() {
		if (d.opts.Scenario == Phase1Down || d.opts.NoIPSecRule) && r.name == d.topo.Rule {
			continue // phase1-down, or a rulebase without it: the rule that allows IKE and ESP is missing
		}
		if (kv["from"] != "" && kv["from"] != r.from) || (kv["to"] != "" && kv["to"] != r.to) {
			continue
		}
		if !inList(r.sources, kv["source"]) || !inList(r.dests, kv["destination"]) || !inList(r.apps, kv["application"]) {
			continue
		}
		return formatRule(r)
	}
	return ""
}

// formatRule prints a rule block as the sample does (8-space indent,
// "icmp-unreachable: no" without a semicolon, the sample's own spelling
// "destinataion-device").
func formatRule(r policyRule) string {
	list := func(v []string) string {
		switch len(v) {
		case 0:
			return "any"
		case 1:
			return v[0]
		}
		return "[ " + strings.Join(v, " ") + " ]"
	}
	return fmt.Sprintf(`"%s; index: %d" {
        from %s;
        source %s;
        source-region none;
        to %s;
        destination %s;
        destination-region none;
        user any;
        source-device any;
        destinataion-device any;
        category any;
        application/service %s;
        action %s;
        icmp-unreachable: no
        terminal yes;
}

`, r.name, r.index, r.from, list(r.sources), r.to, list(r.dests), r.appService, r.action)
}
