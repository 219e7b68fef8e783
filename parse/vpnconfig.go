package parse

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// This file reads the two commands that show a firewall's configured VPN,
// whether or not the tunnel is up: show vpn tunnel (the IPSec tunnels, their
// proxy IDs and IPSec crypto proposals) and show vpn gateway (the IKE
// gateways and their IKE crypto proposals). Their text layouts come from one
// public page (a Zscaler configuration example, parse/testdata/
// show_vpn_flow_gateway_tunnel_zscaler-doc.txt), whose column alignment is
// not trustworthy: rows are read by their shape, not by header offsets. The
// XML form of show vpn tunnel follows the elastic/beats fixture
// (show_vpn_tunnel.xml); no public sample shows the XML form of show vpn
// gateway.

// tunnelRow is one row of show vpn tunnel: TnID, Name(Gateway), the local
// proxy network and its Ptl:Port, the remote one and its Ptl:Port, then the
// proposal ("ESP tunl [DH2][NULL][MD5]      7200-sec").
var tunnelRow = regexp.MustCompile(`^\s*(\d+)\s+(\S.*?)\s+([0-9A-Fa-f.:]+/\d+)\s+(\d+):(\d+)\s+([0-9A-Fa-f.:]+/\d+)\s+(\d+):(\d+)\s*(.*)$`)

// brackets matches the bracketed proposal parts "[DH2][NULL][MD5]".
var brackets = regexp.MustCompile(`\[([^\]]*)\]`)

// lifeSec and lifeKB match a lifetime "7200-sec" and a lifesize "512-kb".
var (
	lifeSec = regexp.MustCompile(`(?i)(\d+)-sec\b`)
	lifeKB  = regexp.MustCompile(`(?i)(\d+)-kb\b`)
)

// tunnelTotal matches "Show IPSec tunnel config: Total 2 tunnels found".
var tunnelTotal = regexp.MustCompile(`(?i)ipsec\s+tunnel\s+config:\s*total\s+(\d+)\s+tunnels?\s+found`)

// gatewayTotal matches "Show IKE gateway config: Total 1 gateways found.".
var gatewayTotal = regexp.MustCompile(`(?i)ike\s+gateway\s+config:\s*total\s+(\d+)\s+gateways?\s+found`)

// parseVPNTunnel reads show vpn tunnel. Fields: form ("text", "xml", or ""
// when neither layout was recognised), known (the layout was recognised),
// count, tunnels (the totals line's count, or result/ntun), selectors and
// proposals ("NAME: selector", "NAME: proposal" of each entry), entries. Each entry:
// tunnel_id, name, base_tunnel and proxy_id (the name cut at its colon),
// gateway, local and remote (networks, CIDR, masked), local_protocol,
// local_port, remote_protocol, remote_port, wildcard (both networks are
// 0.0.0.0/0 or ::/0 with no protocol or port: no proxy ID), selector
// ("LOCAL -> REMOTE", with "[proto:port -> proto:port]" when one is set)
// and mirror (the selector the other end must have), protocol ("ESP"),
// mode ("tunl"), dh, enc, hash (lists of strings, as printed),
// proposal_known (the three were found), proposal (protocol, mode and the
// bracketed parts), lifetime_sec and lifetime_kb when shown.
func parseVPNTunnel(text string, data any) (map[string]any, error) {
	out := map[string]any{"form": "", "known": false, "count": int64(0), "entries": []any{}, "selectors": []any{}, "proposals": []any{}}
	var entries []any
	if data != nil {
		if _, isMap := data.(map[string]any); isMap {
			out["form"] = "xml"
		}
		es := list(path(data, "entries", "entry"))
		if es != nil || path(data, "ntun") != nil {
			out["known"] = true
		}
		for _, e := range es {
			entries = append(entries, tunnelXML(e))
		}
		if n, ok := toInt(leaf(path(data, "ntun"))); ok {
			out["tunnels"] = n
		}
	} else {
		// The rows follow the header (TnID ... Local Proxy IP ...); they are
		// read by their shape, whatever their alignment.
		header := false
		for _, l := range lines(text) {
			if strings.HasPrefix(strings.TrimSpace(l), "TnID") && strings.Contains(strings.ToLower(l), "local proxy ip") {
				header = true
				out["form"], out["known"] = "text", true
				continue
			}
			if !header {
				continue
			}
			if e, ok := tunnelText(l); ok {
				entries = append(entries, e)
			}
		}
		textTotal(out, text, tunnelTotal, "tunnels")
	}
	if entries != nil {
		out["entries"] = entries
	}
	out["count"] = int64(len(entries))
	out["selectors"], out["proposals"] = summary(entries, "selector"), summary(entries, "proposal")
	return out, nil
}

// summary lists "NAME FIELD" for each entry: a short form of the entries
// that a finding can name as its evidence.
func summary(entries []any, field string) []any {
	out := []any{}
	for _, x := range entries {
		e := x.(map[string]any)
		out = append(out, fmt.Sprintf("%v: %v", e["name"], e[field]))
	}
	return out
}

// tunnelText reads one row of the text form.
func tunnelText(l string) (map[string]any, bool) {
	m := tunnelRow.FindStringSubmatch(l)
	if m == nil {
		return nil, false
	}
	name, gw := splitTunnelGateway(strings.TrimSpace(m[2]))
	e := map[string]any{"tunnel_id": m[1], "gateway": gw}
	setTunnelName(e, name)
	setSelectors(e, m[3], value(m[4]), value(m[5]), m[6], value(m[7]), value(m[8]))
	rest := strings.TrimSpace(m[9])
	words := strings.Fields(rest)
	proto, mode := "", ""
	if len(words) > 0 && !strings.HasPrefix(words[0], "[") {
		proto = words[0]
	}
	if len(words) > 1 && !strings.HasPrefix(words[1], "[") {
		mode = words[1]
	}
	var parts []string
	for _, b := range brackets.FindAllStringSubmatch(rest, -1) {
		parts = append(parts, b[1])
	}
	setProposal(e, proto, mode, parts, 0)
	setLife(e, rest)
	return e, true
}

// tunnelXML reads one result/entries/entry of the XML form: TSi_* is the
// local selector and TSr_* the remote one (as the text form's Local Proxy
// IP and Remote Proxy IP columns; the firewall proposes its local network
// as initiator).
func tunnelXML(rec any) map[string]any {
	get := func(k string) string { return leaf(child(rec, k)) }
	e := map[string]any{"tunnel_id": get("id"), "gateway": get("gw")}
	setTunnelName(e, get("name"))
	cidr := func(ip, prefix string) string {
		if ip == "" {
			return ""
		}
		if prefix == "" {
			return ip
		}
		return ip + "/" + prefix
	}
	setSelectors(e, cidr(get("TSi_ip"), get("TSi_prefix")), value(get("TSi_proto")), value(get("TSi_port")),
		cidr(get("TSr_ip"), get("TSr_prefix")), value(get("TSr_proto")), value(get("TSr_port")))
	var parts []string
	for _, k := range []string{"dh", "enc", "hash"} {
		var vs []string
		for _, v := range list(child(rec, k)) {
			if s := leaf(v); s != "" {
				vs = append(vs, s)
			}
		}
		parts = append(parts, strings.Join(vs, ","))
	}
	if parts[0] == "" && parts[1] == "" && parts[2] == "" {
		parts = nil
	}
	setProposal(e, get("proto"), get("mode"), parts, 0)
	if n, ok := toInt(get("life")); ok {
		e["lifetime_sec"] = n
	}
	if n, ok := toInt(get("kb")); ok {
		e["lifetime_kb"] = n
	}
	if s := get("state"); s != "" {
		e["state"] = s
	}
	return e
}

// setTunnelName sets name, base_tunnel and proxy_id (PAN-OS names hold no
// colon: TUNNEL:PROXYID is a proxy ID's SA).
func setTunnelName(e map[string]any, name string) {
	base, proxy, _ := strings.Cut(name, ":")
	e["name"], e["base_tunnel"], e["proxy_id"] = name, base, proxy
}

// setSelectors sets the selector fields of a tunnel entry.
func setSelectors(e map[string]any, local string, lproto, lport any, remote string, rproto, rport any) {
	local, remote = masked(local), masked(remote)
	e["local"], e["remote"] = local, remote
	e["local_protocol"], e["local_port"] = lproto, lport
	e["remote_protocol"], e["remote_port"] = rproto, rport
	zero := func(v any) bool { n, ok := v.(int64); return ok && n == 0 }
	plain := zero(lproto) && zero(lport) && zero(rproto) && zero(rport)
	e["wildcard"] = plain && isAny(local) && isAny(remote)
	sel := func(l string, lp, lpt any, r string, rp, rpt any) string {
		s := l + " -> " + r
		if !plain {
			s += fmt.Sprintf(" [%v:%v -> %v:%v]", lp, lpt, rp, rpt)
		}
		return s
	}
	e["selector"] = sel(local, lproto, lport, remote, rproto, rport)
	e["mirror"] = sel(remote, rproto, rport, local, lproto, lport)
}

// masked returns a CIDR with its host bits cleared ("10.1.0.5/24" ->
// "10.1.0.0/24"), or s unchanged when it is not one.
func masked(s string) string {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return s
	}
	return p.Masked().String()
}

// isAny reports whether s is 0.0.0.0/0 or ::/0.
func isAny(s string) bool { return s == "0.0.0.0/0" || s == "::/0" }

// setProposal sets protocol, mode, dh, enc, hash (and auth for a gateway),
// proposal_known and proposal from the bracketed parts: [DH][ENC][HASH]
// for a tunnel (skip 0), [AUTH][DH][ENC][HASH] for a gateway (skip 1, the
// auth part). A part listing several values separates them with commas.
func setProposal(e map[string]any, proto, mode string, parts []string, skip int) {
	split := func(s string) []any {
		out := []any{}
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	if skip == 0 {
		e["protocol"], e["mode"] = proto, mode
	}
	known := len(parts) == skip+3
	e["proposal_known"] = known
	e["dh"], e["enc"], e["hash"] = []any{}, []any{}, []any{}
	if known {
		if skip == 1 {
			e["auth"] = strings.TrimSpace(parts[0])
		}
		e["dh"], e["enc"], e["hash"] = split(parts[skip]), split(parts[skip+1]), split(parts[skip+2])
	}
	var b strings.Builder
	for _, w := range []string{proto, mode} {
		if w != "" {
			b.WriteString(w + " ")
		}
	}
	for _, p := range parts {
		b.WriteString("[" + p + "]")
	}
	e["proposal"] = strings.TrimSpace(b.String())
}

// setLife sets lifetime_sec and lifetime_kb from "7200-sec" and "512-kb".
func setLife(e map[string]any, s string) {
	if m := lifeSec.FindStringSubmatch(s); m != nil {
		if n, ok := toInt(m[1]); ok {
			e["lifetime_sec"] = n
		}
	}
	if m := lifeKB.FindStringSubmatch(s); m != nil {
		if n, ok := toInt(m[1]); ok {
			e["lifetime_kb"] = n
		}
	}
}

// parseVPNGateway reads show vpn gateway (text form only: no public sample
// shows its XML form, which gives form "xml", known false and no entry).
// Fields: form, known, count, gateways (the totals line's count),
// proposals ("NAME: proposal" of each entry), entries.
// Each entry: gateway_id, name, peer_address, local_address (as printed,
// truncated to its column by the firewall), protocol ("IKEv2"), auth
// ("PSK"), dh, enc, hash (lists of strings, as printed), proposal_known,
// proposal (the bracketed parts) and lifetime_sec when shown.
func parseVPNGateway(text string, data any) (map[string]any, error) {
	out := map[string]any{"form": "", "known": false, "count": int64(0), "entries": []any{}, "proposals": []any{}}
	if data != nil {
		if _, isMap := data.(map[string]any); isMap {
			out["form"] = "xml"
		}
		return out, nil
	}
	var entries []any
	for _, t := range findTables(lines(text)) {
		col := columnIndex(t)
		_, okP := col["proposals"]
		_, okG := col["gwid"]
		if !okP || !okG {
			continue
		}
		out["form"], out["known"] = "text", true
		for i, r := range t.rows {
			cell := func(k string) string {
				if j, ok := col[k]; ok && j < len(r) {
					return strings.TrimSpace(r[j])
				}
				return ""
			}
			if _, ok := toInt(cell("gwid")); !ok {
				continue
			}
			e := map[string]any{
				"gateway_id": cell("gwid"), "name": cell("name"), "peer_address": cell("peer_address_id"),
				"local_address": cell("local_address_id"), "protocol": cell("protocol"),
			}
			// The proposals are read from the whole row: a long Local
			// Address/ID may push them out of their column.
			row := t.lines[i]
			var parts []string
			if j := strings.IndexByte(row, '['); j >= 0 {
				for _, b := range brackets.FindAllStringSubmatch(row[j:], -1) {
					parts = append(parts, b[1])
				}
				setLife(e, row[j:])
			}
			setProposal(e, "", "", parts, 1)
			entries = append(entries, e)
		}
	}
	textTotal(out, text, gatewayTotal, "gateways")
	if entries != nil {
		out["entries"] = entries
	}
	out["count"] = int64(len(entries))
	out["proposals"] = summary(entries, "proposal")
	return out, nil
}

// textTotal sets out[key] from the total line re matches in text (the
// text form's "Total N ..." line), which also tells the answer's form.
func textTotal(out map[string]any, text string, re *regexp.Regexp, key string) {
	for _, l := range lines(text) {
		if m := re.FindStringSubmatch(l); m != nil {
			n, _ := toInt(m[1])
			out[key] = n
			out["form"], out["known"] = "text", true
		}
	}
}
