package parse

import (
	"regexp"
	"strings"
)

// totalsLine matches "Show IPSec SA: Total 1 tunnels found. 1 ipsec sa found."
// in both spellings (IPSec, IPsec).
var totalsLine = regexp.MustCompile(`(?i)total\s+(\d+)\s+tunnels?\s+found\.?\s*(\d+)\s+ipsec\s+sas?\s+found`)

// parseIPSecSA reads show vpn ipsec-sa [tunnel T], with or without the
// remain-time(Sec) column. Fields: entries (each gwid, tunnel_id,
// peer_address, tunnel, gateway, algorithm, spi_in, spi_out, life_sec,
// life_kb, remain_time when printed, and base_tunnel and proxy_id: the
// SA name cut at its colon), count (SAs), tunnels (tunnels found, when the
// totals line is printed), sas (the distinct SA names, in order),
// tunnel_ids (the distinct tunnel ids, in order) and tunnel_id (the first
// entry's, "" if none).
func parseIPSecSA(text string, data any) (map[string]any, error) {
	var entries []any
	var count, tunnels int64 = -1, -1
	if data != nil {
		entries = ipsecSAXML(data)
		if n, ok := toInt(leaf(path(data, "ntun"))); ok {
			tunnels = n
		}
	}
	if entries == nil {
		entries = ipsecSAText(text)
		for _, l := range lines(text) {
			if m := totalsLine.FindStringSubmatch(l); m != nil {
				tunnels, _ = toInt(m[1])
				count, _ = toInt(m[2])
			}
		}
	}
	if entries == nil {
		entries = []any{}
	}
	if count < 0 || count < int64(len(entries)) {
		count = int64(len(entries))
	}
	// A tunnel with proxy IDs has one SA per proxy ID, named TUNNEL:PROXYID
	// (PAN-OS object names hold no colon).
	sas, ids := []any{}, []any{}
	seenSA, seenID := map[string]bool{}, map[string]bool{}
	for _, x := range entries {
		e := x.(map[string]any)
		name, _ := e["tunnel"].(string)
		base, proxy, _ := strings.Cut(name, ":")
		e["base_tunnel"], e["proxy_id"] = base, proxy
		if name != "" && !seenSA[name] {
			seenSA[name] = true
			sas = append(sas, name)
		}
		if id, _ := e["tunnel_id"].(string); id != "" && !seenID[id] {
			seenID[id] = true
			ids = append(ids, id)
		}
	}
	out := map[string]any{"entries": entries, "count": count, "tunnel_id": "", "sas": sas, "tunnel_ids": ids}
	if tunnels >= 0 {
		out["tunnels"] = tunnels
	}
	if len(entries) > 0 {
		out["tunnel_id"] = entries[0].(map[string]any)["tunnel_id"]
	}
	return out, nil
}

// ipsecSAText reads the rows of the table whose header starts with
// GwID/client IP and has a TnID column.
func ipsecSAText(text string) []any {
	var entries []any
	for _, t := range findTables(lines(text)) {
		col := columnIndex(t)
		if _, ok := col["tnid"]; !ok {
			continue
		}
		if _, ok := col["tunnel_gateway"]; !ok {
			continue
		}
		for _, r := range t.rows {
			cell := func(k string) string {
				if i, ok := col[k]; ok {
					return strings.TrimSpace(r[i])
				}
				return ""
			}
			e := map[string]any{
				"gwid":         cell("gwid_client_ip"),
				"tunnel_id":    cell("tnid"),
				"peer_address": cell("peer_address"),
				"algorithm":    cell("algorithm"),
				"spi_in":       cell("spi_in"),
				"spi_out":      cell("spi_out"),
			}
			tunnel, gateway := splitTunnelGateway(cell("tunnel_gateway"))
			e["tunnel"], e["gateway"] = tunnel, gateway
			if life := cell("life_sec_kb"); life != "" {
				e["life"] = life
				sec, kb, _ := strings.Cut(life, "/")
				e["life_sec"], e["life_kb"] = value(sec), value(kb)
			}
			if _, ok := col["remain_time_sec"]; ok {
				e["remain_time"] = value(cell("remain_time_sec"))
			}
			entries = append(entries, e)
		}
	}
	return entries
}

// columnIndex maps each snake_case column label of t to its index.
func columnIndex(t table) map[string]int {
	m := map[string]int{}
	for i, c := range t.columns {
		if _, ok := m[snake(c)]; !ok {
			m[snake(c)] = i
		}
	}
	return m
}

// splitTunnelGateway cuts "tunnel(gateway)" at its last '('.
func splitTunnelGateway(s string) (string, string) {
	i := strings.LastIndexByte(s, '(')
	if i <= 0 || !strings.HasSuffix(s, ")") {
		return s, ""
	}
	return s[:i], s[i+1 : len(s)-1]
}

// ipsecAliases maps the XML element names of an ipsec-sa entry to the text
// form's field names. Element names are those a public collector reads
// (panos-notes §3.4), not checked against a device; several spellings are
// accepted.
var ipsecAliases = map[string]string{
	"gwid": "gwid", "tid": "tunnel_id", "tnid": "tunnel_id", "name": "tunnel",
	"gateway": "gateway", "gw": "gateway", "peerip": "peer_address", "peer-ip": "peer_address",
	"algorithm": "algorithm", "spi-in": "spi_in", "spiin": "spi_in", "i_spi": "spi_in",
	"spi-out": "spi_out", "spiout": "spi_out", "o_spi": "spi_out", "life": "life_sec",
	"kb": "life_kb", "remain": "remain_time", "remain-time": "remain_time", "remaintime": "remain_time",
}

// ipsecSAXML reads result/entries/entry.
func ipsecSAXML(data any) []any {
	es := list(path(data, "entries", "entry"))
	if es == nil {
		return nil
	}
	out := make([]any, 0, len(es))
	for _, e := range es {
		m := mapRecord(e, ipsecAliases, map[string]bool{"spi_in": true, "spi_out": true, "gwid": true, "tunnel_id": true})
		for _, k := range []string{"gwid", "tunnel_id", "tunnel", "gateway", "peer_address", "spi_in", "spi_out"} {
			if _, ok := m[k]; !ok {
				m[k] = ""
			}
		}
		out = append(out, m)
	}
	return out
}
