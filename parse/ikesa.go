package parse

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// parseIKESA reads every form of show vpn ike-sa:
//
//   - the summary tables of show vpn ike-sa [gateway G]: IKEv1 phase-1 and
//     phase-2, IKEv2 SA and child SA, any of which may be replaced by a
//     "There is no ... SA found." line;
//   - the key/value blocks of show vpn ike-sa detail gateway G
//     ("IKE Gateway G, ID n LOCAL => PEER", "IKE SA:", "Child SA n:");
//   - the XML API answer (result/entry, one per IKE SA).
//
// Fields: phase1 (IKE SAs), phase2 (IPsec SAs: IKEv1 phase-2 SAs, IKEv2
// child SAs of type ESP or AH), child (the same list as phase2),
// child_sas (every child SA block, INFO exchanges included), phase1_count,
// phase2_count, established (an IKE SA is up), phase2_known (the answer
// tells the child SAs) and form ("table", "detail", "xml" or "" when
// nothing was recognised). docs/parsers.md lists the fields of each entry.
func parseIKESA(text string, data any) (map[string]any, error) {
	if m, ok := data.(map[string]any); ok && len(m) == 0 {
		// An empty API answer: the device lists no IKE SA (phase 1 down).
		return ikeResult("xml", []any{}, []any{}, []any{}, false, 0), nil
	}
	if data != nil {
		if out := ikeSAXML(data); out != nil {
			return out, nil
		}
	}
	ls := lines(text)
	if isIKEDetail(ls) {
		return ikeSADetail(ls), nil
	}
	return ikeSATables(ls), nil
}

// ikeResult assembles the fields common to every form.
func ikeResult(form string, phase1, phase2, childSAs []any, known bool, phase2Count int64) map[string]any {
	established := false
	for _, p := range phase1 {
		if e, ok := p.(map[string]any); ok && e["up"] == true {
			established = true
		}
		delete(p.(map[string]any), "up")
	}
	return map[string]any{
		"phase1": phase1, "phase2": phase2, "child": phase2, "child_sas": childSAs,
		"phase1_count": int64(len(phase1)), "phase2_count": phase2Count,
		"established": established, "phase2_known": known, "form": form,
	}
}

// --- summary tables ---

func ikeSATables(ls []string) map[string]any {
	phase1, phase2 := []any{}, []any{}
	form := ""
	for _, l := range ls {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(l)), "there is no ike") {
			form = "table"
		}
	}
	for _, t := range findTables(ls) {
		col := columnIndex(t)
		title := strings.ToLower(t.title)
		v2 := strings.Contains(title, "ikev2")
		_, hasSN := col["sn"]
		_, hasTnID := col["tnid"]
		// Other tables of the same answer (ipsec-sa, tunnel, gateway
		// tables pasted together) have a TnID or Peer-Address column too,
		// but neither a MsgID nor a Role column.
		hasMsgID, hasRole := hasCol(col, "msgid"), hasCol(col, "role")
		kind := ""
		switch {
		case hasMsgID && (strings.Contains(title, "child") || (hasTnID && v2) || (hasTnID && hasCol(col, "parent"))):
			kind = "child"
		case hasMsgID && (strings.Contains(title, "phase-2") || hasTnID):
			kind = "phase2"
		case hasRole && (v2 || hasSN):
			kind = "v2"
		case hasRole && (strings.Contains(title, "phase-1") || hasCol(col, "peer_address")):
			kind = "phase1"
		default:
			continue
		}
		form = "table"
		for i, r := range t.rows {
			e := ikeTokens(kind, t.lines[i])
			if e == nil {
				e = ikeCells(kind, t, r)
			}
			switch kind {
			case "child", "phase2":
				phase2 = append(phase2, e)
			case "v2":
				e["up"] = strings.EqualFold(e["state"].(string), "established")
				phase1 = append(phase1, e)
			case "phase1":
				// PAN-OS lists an IKEv1 phase-1 SA only once it is negotiated.
				e["up"] = true
				phase1 = append(phase1, e)
			}
		}
	}
	return ikeResult(form, phase1, phase2, phase2, form != "", int64(len(phase2)))
}

func hasCol(col map[string]int, k string) bool {
	_, ok := col[k]
	return ok
}

// The columns of each table (snake_case header label → field name).
var ikeCols = map[string]map[string]string{
	"phase1": {
		"gwid_client_ip": "gwid", "peer_address": "peer_address", "gateway_name": "gateway",
		"role": "role", "mode": "mode", "algorithm": "algorithm", "established": "established_at",
		"expiration": "expires_at", "v": "ike_version", "st": "state", "xt": "xt", "phase2": "phase2",
	},
	"v2": {
		"gateway_id": "gwid", "peer_address": "peer_address", "gateway_name": "gateway",
		"role": "role", "sn": "sn", "algorithm": "algorithm", "established": "established_at",
		"expiration": "expires_at", "xt": "xt", "child": "children", "st": "state",
	},
	"phase2": {
		"gateway_name": "gateway", "tnid": "tunnel_id", "tunnel": "tunnel", "gwid_ip": "gwid",
		"role": "role", "algorithm": "algorithm", "spi_in": "spi_in", "spi_out": "spi_out",
		"msgid": "msgid", "st": "state", "xt": "xt",
	},
	"child": {
		"gateway_name": "gateway", "tnid": "tunnel_id", "tunnel": "tunnel", "id": "id",
		"parent": "parent", "role": "role", "spi_in": "spi_in", "spi_out": "spi_out",
		"msgid": "msgid", "st": "state",
	},
}

// ikeNumbers are the fields read as numbers; every other stays a string
// (identifiers, SPIs, message ids, states).
var ikeNumbers = map[string]bool{"xt": true, "phase2": true, "children": true}

// ikeVersion is the version field of each kind of table.
var ikeVersion = map[string]string{"phase1": "v1", "phase2": "v1", "v2": "v2", "child": "v2"}

// newIKEEntry starts an entry with every field of its table ("" when the
// row lacks it).
func newIKEEntry(kind string) map[string]any {
	e := map[string]any{"version": ikeVersion[kind]}
	for _, name := range ikeCols[kind] {
		e[name] = ""
	}
	return e
}

// ikeCells maps one row by the column offsets of its table; columns not
// in the table's list keep their snake_case label. A trailing state column
// is the row's last word whatever the offsets say, so that a name longer
// than its column does not shift the state out of it.
func ikeCells(kind string, t table, r []string) map[string]any {
	cols := ikeCols[kind]
	e := newIKEEntry(kind)
	for i, c := range t.columns {
		k := snake(c)
		name, ok := cols[k]
		if !ok {
			name = k
		}
		if name == "" || i >= len(r) {
			continue
		}
		cell := strings.TrimSpace(r[i])
		if ikeNumbers[name] {
			e[name] = value(cell)
		} else {
			e[name] = cell
		}
	}
	if n := len(t.columns); n > 0 && snake(t.columns[n-1]) == "st" {
		if w := strings.Fields(strings.Join(r, " ")); len(w) > 0 {
			e["state"] = w[len(w)-1]
		}
	}
	return e
}

func isRole(w string) bool {
	return strings.EqualFold(w, "Init") || strings.EqualFold(w, "Resp")
}

func isDigits(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
}

// ikeTokens reads a row by its words instead of its column offsets: the
// identifiers and addresses at the left, the dates, counters and state at
// the right, and the role word (Init or Resp) between the names and the
// algorithm. Names and algorithms may then hold spaces or overflow their
// columns. It returns nil when the row does not have that shape (the
// caller then uses the offsets).
func ikeTokens(kind, l string) map[string]any {
	ws := words(l)
	n := len(ws)
	w := func(i int) string { return l[ws[i][0]:ws[i][1]] }
	span := func(a, b int) string { // words a..b-1 as printed
		if a >= b {
			return ""
		}
		return l[ws[a][0]:ws[b-1][1]]
	}
	// role finds the last role word in [lo, hi].
	role := func(lo, hi int) int {
		for i := hi; i >= lo; i-- {
			if isRole(w(i)) {
				return i
			}
		}
		return -1
	}
	e := newIKEEntry(kind)
	switch kind {
	case "v2": // gwid peer NAME role sn ALGORITHM est(2) exp(2) xt child st
		if n < 13 {
			return nil
		}
		ri := role(3, n-9)
		if ri < 0 || !isDigits(w(n-3)) || !isDigits(w(n-2)) {
			return nil
		}
		e["gwid"], e["peer_address"], e["gateway"] = w(0), w(1), span(2, ri)
		e["role"], e["sn"], e["algorithm"] = w(ri), w(ri+1), span(ri+2, n-7)
		e["established_at"], e["expires_at"] = span(n-7, n-5), span(n-5, n-3)
		e["xt"], e["children"], e["state"] = value(w(n-3)), value(w(n-2)), w(n-1)
	case "phase1": // gwid peer NAME role mode ALGORITHM est(2) exp(2) v st xt phase2
		if n < 14 {
			return nil
		}
		ri := role(3, n-10)
		v := strings.ToLower(w(n - 4))
		if ri < 0 || (v != "v1" && v != "v2") || !isDigits(w(n-2)) || !isDigits(w(n-1)) {
			return nil
		}
		e["gwid"], e["peer_address"], e["gateway"] = w(0), w(1), span(2, ri)
		e["role"], e["mode"], e["algorithm"] = w(ri), w(ri+1), span(ri+2, n-8)
		e["established_at"], e["expires_at"] = span(n-8, n-6), span(n-6, n-4)
		e["ike_version"], e["state"] = w(n-4), w(n-3)
		e["xt"], e["phase2"] = value(w(n-2)), value(w(n-1))
	case "phase2": // NAME tnid TUNNEL gwid role ALGORITHM spi_in spi_out msgid st xt
		if n < 11 {
			return nil
		}
		ri := role(4, n-7)
		if ri < 0 || !isDigits(w(n-1)) {
			return nil
		}
		ti := firstDigits(w, 1, ri-2)
		if ti < 0 {
			return nil
		}
		e["gateway"], e["tunnel_id"], e["tunnel"], e["gwid"] = span(0, ti), w(ti), span(ti+1, ri-1), w(ri-1)
		e["role"], e["algorithm"] = w(ri), span(ri+1, n-5)
		e["spi_in"], e["spi_out"], e["msgid"] = w(n-5), w(n-4), w(n-3)
		e["state"], e["xt"] = w(n-2), value(w(n-1))
	case "child": // NAME tnid TUNNEL id parent role spi_in spi_out msgid st
		if n < 10 || !isRole(w(n-5)) {
			return nil
		}
		ti := firstDigits(w, 1, n-9)
		if ti < 0 {
			return nil
		}
		e["gateway"], e["tunnel_id"], e["tunnel"] = span(0, ti), w(ti), span(ti+1, n-7)
		e["id"], e["parent"], e["role"] = w(n-7), w(n-6), w(n-5)
		e["spi_in"], e["spi_out"], e["msgid"], e["state"] = w(n-4), w(n-3), w(n-2), w(n-1)
	default:
		return nil
	}
	return e
}

// firstDigits is the first index in [lo, hi] whose word is all digits, -1
// if none.
func firstDigits(w func(int) string, lo, hi int) int {
	for i := lo; i <= hi; i++ {
		if isDigits(w(i)) {
			return i
		}
	}
	return -1
}

// --- detail blocks ---

var (
	ikeGatewayLine = regexp.MustCompile(`^IKE Gateway (.+?), ID (\S+) (\S+) => (\S+)\s*$`)
	ikeChildLine   = regexp.MustCompile(`^Child SA (\S+):$`)
	ikeTunnelLine  = regexp.MustCompile(`^Tunnel (\d+)\s+(.+)$`)
	ikeRekey       = regexp.MustCompile(`\((\d+) sec\)`)
)

// isIKEDetail reports whether ls holds the key/value blocks of
// show vpn ike-sa detail.
func isIKEDetail(ls []string) bool {
	for _, l := range ls {
		t := strings.TrimSpace(l)
		if ikeGatewayLine.MatchString(t) || t == "IKE SA:" || ikeChildLine.MatchString(t) {
			return true
		}
	}
	return false
}

// ikeSADetail reads show vpn ike-sa detail gateway G (PAN-OS 11 layout of
// seed/samples/show_vpn_ike-sa_detail_gateway_ikev2.txt).
func ikeSADetail(ls []string) map[string]any {
	phase1, phase2, childSAs := []any{}, []any{}, []any{}
	var gw map[string]string // the current IKE Gateway line
	var cur map[string]any   // the current IKE SA or child SA block
	var isChild bool
	last := "" // the last label of the block, for continuation lines
	for _, l := range ls {
		t := strings.TrimSpace(l)
		if t == "" || isPrompt(l) {
			continue
		}
		if m := ikeGatewayLine.FindStringSubmatch(t); m != nil {
			gw = map[string]string{"gateway": m[1], "gwid": m[2], "local_address": m[3], "peer_address": m[4]}
			cur = nil
			continue
		}
		if t == "IKE SA:" {
			cur, isChild, last = map[string]any{"version": "v2", "up": false}, false, ""
			for _, k := range []string{"gateway", "gwid", "local_address", "peer_address", "spi", "spi_i",
				"spi_r", "role", "state", "sn", "algorithm", "established_at", "expires_at", "nat"} {
				cur[k] = ""
			}
			for k, v := range gw {
				cur[k] = v
			}
			phase1 = append(phase1, cur)
			continue
		}
		if m := ikeChildLine.FindStringSubmatch(t); m != nil {
			cur, isChild, last = map[string]any{"version": "v2", "id": m[1]}, true, ""
			for _, k := range []string{"gateway", "tunnel_id", "tunnel", "type", "role", "state", "msgid",
				"parent", "spi_in", "spi_out", "algorithm", "ts_local", "ts_remote", "ts_local_net", "ts_remote_net",
				"ts_local_proto", "ts_remote_proto", "ts_local_ports", "ts_remote_ports", "selector", "established_at", "expires_at"} {
				cur[k] = ""
			}
			cur["gateway"] = gw["gateway"]
			childSAs = append(childSAs, cur)
			continue
		}
		if cur == nil {
			continue
		}
		if isChild {
			// "Tunnel 1    WSTPRISMA"; a proxy ID's SA is named TUNNEL:PROXYID,
			// whose colon, unlike a label's, is followed by neither a space
			// nor the end of the line.
			if m := ikeTunnelLine.FindStringSubmatch(t); m != nil && !strings.Contains(t, ": ") && !strings.HasSuffix(t, ":") {
				cur["tunnel_id"], cur["tunnel"] = m[1], strings.TrimSpace(m[2])
				continue
			}
		}
		label, val, ok := strings.Cut(t, ":")
		if !ok {
			continue
		}
		key := snake(label)
		val = strings.TrimSpace(val)
		if key == "remote" && last == "id_local" {
			key = "id_remote"
		}
		last = key
		ikeDetailField(cur, isChild, key, val)
	}
	for _, c := range childSAs {
		e := c.(map[string]any)
		if typ := strings.ToUpper(e["type"].(string)); typ == "ESP" || typ == "AH" {
			phase2 = append(phase2, e)
		}
	}
	for _, p := range phase1 {
		e := p.(map[string]any)
		e["up"] = strings.EqualFold(e["state"].(string), "established")
		n := int64(0)
		for _, c := range phase2 {
			ce := c.(map[string]any)
			if ce["gateway"] == e["gateway"] && (e["sn"] == "" || ce["parent"] == e["sn"]) {
				n++
			}
		}
		e["children"] = n
	}
	r := ikeResult("detail", phase1, phase2, childSAs, true, int64(len(phase2)))
	sels := []any{}
	for _, c := range phase2 {
		e := c.(map[string]any)
		if sel, _ := e["selector"].(string); sel != "" {
			sels = append(sels, e["tunnel"].(string)+": "+sel)
		}
	}
	r["selectors"] = sels
	return r
}

// ikeDetailField stores one "Label: value" line of a detail block under
// the field names of the table form where they mean the same.
func ikeDetailField(e map[string]any, isChild bool, key, val string) {
	switch key {
	case "spi":
		if isChild { // "DC741738 : 834DBC59": inbound : outbound
			in, out, _ := strings.Cut(val, ":")
			e["spi_in"], e["spi_out"] = strings.TrimSpace(in), strings.TrimSpace(out)
			return
		}
		// "57D57B99A1063996:B53D13349D134568  Init": initiator:responder SPI, role
		f := strings.Fields(val)
		if len(f) > 0 {
			e["spi"] = f[0]
			i, r, _ := strings.Cut(f[0], ":")
			e["spi_i"], e["spi_r"] = i, r
		}
		if len(f) > 1 {
			e["role"] = f[1]
		}
	case "type": // "ESP       Init"
		f := strings.Fields(val)
		if len(f) > 0 {
			e["type"] = f[0]
		}
		if len(f) > 1 {
			e["role"] = f[1]
		}
	case "proposal":
		e["proposal"], e["algorithm"] = val, val
	case "message_id":
		if isChild {
			e["msgid"] = val
		} else {
			e["message_id"] = val
		}
	case "parent_sn":
		e["parent"] = val
	case "ts_local", "ts_remote": // "Proto:any, 0.0.0.0-255.255.255.255, Ports:any"
		e[key] = val
		for _, part := range strings.Split(val, ",") {
			part = strings.TrimSpace(part)
			switch l, v, _ := strings.Cut(part, ":"); {
			case strings.EqualFold(l, "proto"):
				e[key+"_proto"] = strings.TrimSpace(v)
			case strings.EqualFold(l, "ports"):
				e[key+"_ports"] = strings.TrimSpace(v)
			case part != "":
				e[key+"_net"] = rangeNet(part)
			}
		}
		if isChild {
			e["selector"] = tsSelector(e)
		}
	case "created": // "Mar.11 12:06:00, 11 minutes 43 seconds ago"
		e["created"] = val
		at, _, _ := strings.Cut(val, ",")
		e["established_at"] = strings.TrimSpace(at)
	case "expires": // "Mar.11 20:06:00, rekey in 6 hours ... (23796 sec)"
		e["expires"] = val
		at, _, _ := strings.Cut(val, ",")
		e["expires_at"] = strings.TrimSpace(at)
		if m := ikeRekey.FindStringSubmatch(val); m != nil {
			if n, ok := toInt(m[1]); ok {
				e["rekey_in"] = n
			}
		}
	default:
		if old, ok := e[key]; !ok || old == "" {
			e[key] = val
		}
	}
}

// --- XML API ---

// ikeAliases maps the XML element names of an IKE SA entry to the field
// names of the table form. name, gwid, peerip and created are the elements
// public API clients read (panos-notes §7); the others are accepted
// spellings, not checked against a device.
var ikeAliases = map[string]string{
	"name": "gateway", "gateway": "gateway", "gwid": "gwid", "peerip": "peer_address",
	"peer-ip": "peer_address", "peer": "peer_address", "localip": "local_address",
	"local-ip": "local_address", "created": "established_at", "established": "established_at",
	"expires": "expires_at", "expire": "expires_at", "expiration": "expires_at", "role": "role",
	"mode": "mode", "algo": "algorithm", "algorithm": "algorithm", "state": "state", "st": "state",
	"ver": "ike_version", "version": "ike_version", "sn": "sn", "xt": "xt",
	"phase2": "phase2", "child": "children", "children": "children",
}

// ikeSAXML reads result/entry; nil when the answer has no such element.
func ikeSAXML(data any) map[string]any {
	es := list(child(data, "entry"))
	if es == nil {
		return nil
	}
	phase1 := []any{}
	var n2 int64
	known := false
	for _, x := range es {
		if _, ok := x.(map[string]any); !ok {
			continue
		}
		e := mapRecord(x, ikeAliases, map[string]bool{"gwid": true, "sn": true})
		for _, k := range []string{"version", "gwid", "peer_address", "gateway", "role", "algorithm",
			"established_at", "expires_at", "state"} {
			if _, ok := e[k]; !ok {
				e[k] = ""
			}
		}
		if s, ok := e["state"].(int64); ok { // an IKEv1 ST number
			e["state"] = strconv.FormatInt(s, 10)
		}
		for _, k := range []string{"phase2", "children"} {
			if c, ok := e[k].(int64); ok {
				n2 += c
				known = true
			}
		}
		// An entry is an SA the device lists; only an explicit state
		// other than Established (or an IKEv1 ST number) says it is down.
		st, _ := e["state"].(string)
		e["up"] = st == "" || isDigits(st) || strings.EqualFold(st, "established")
		phase1 = append(phase1, e)
	}
	return ikeResult("xml", phase1, []any{}, []any{}, known, n2)
}

// rangeNet gives an address range of a traffic selector
// ("192.168.10.0-192.168.10.255") as a prefix when it is exactly one
// ("192.168.10.0/24"), else as printed.
func rangeNet(r string) string {
	f, l, ok := strings.Cut(r, "-")
	if !ok {
		return r
	}
	first, err1 := netip.ParseAddr(strings.TrimSpace(f))
	last, err2 := netip.ParseAddr(strings.TrimSpace(l))
	if err1 != nil || err2 != nil || first.Is4() != last.Is4() {
		return r
	}
	for bits := 0; bits <= first.BitLen(); bits++ {
		p := netip.PrefixFrom(first, bits)
		if p.Masked().Addr() != first {
			continue
		}
		b := first.AsSlice()
		for i := bits; i < len(b)*8; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		if end, _ := netip.AddrFromSlice(b); end == last {
			return p.String()
		}
	}
	return r
}

// tsSelector is a child SA's traffic selectors as "LOCAL -> REMOTE", the
// form of the vpn-tunnel parser's selectors, with " [PROTO:PORTS ->
// PROTO:PORTS]" (as printed) when either end names a protocol or ports.
func tsSelector(e map[string]any) string {
	str := func(k string) string { s, _ := e[k].(string); return s }
	if str("ts_local_net") == "" || str("ts_remote_net") == "" {
		return ""
	}
	sel := str("ts_local_net") + " -> " + str("ts_remote_net")
	isAny := func(v string) bool { return v == "" || strings.EqualFold(v, "any") }
	if !isAny(str("ts_local_proto")) || !isAny(str("ts_remote_proto")) || !isAny(str("ts_local_ports")) || !isAny(str("ts_remote_ports")) {
		sel += " [" + str("ts_local_proto") + ":" + str("ts_local_ports") + " -> " + str("ts_remote_proto") + ":" + str("ts_remote_ports") + "]"
	}
	return sel
}
