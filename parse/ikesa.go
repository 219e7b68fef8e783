package parse

import (
	"strings"
)

// parseIKESA reads show vpn ike-sa [gateway G]: the IKEv1 phase-1 and
// phase-2 tables and the IKEv2 SA and child SA tables, any of which may be
// replaced by a "There is no ... SA found." line. Fields: phase1 (IKE SAs
// of both versions), phase2 (IKEv1 phase-2 SAs and IKEv2 child SAs), child
// (the same list as phase2, for IKEv2 readers), phase1_count, phase2_count,
// and established (a phase-1 SA is up: an IKEv2 SA in state Established,
// or any IKEv1 phase-1 SA, which PAN-OS lists only once negotiated).
func parseIKESA(text string, _ any) (map[string]any, error) {
	phase1, phase2 := []any{}, []any{}
	established := false
	for _, t := range findTables(lines(text)) {
		col := columnIndex(t)
		title := strings.ToLower(t.title)
		v2 := strings.Contains(title, "ikev2")
		_, hasSN := col["sn"]
		_, hasTnID := col["tnid"]
		switch {
		case strings.Contains(title, "child") || (hasTnID && v2) || (hasTnID && hasCol(col, "parent")):
			for _, r := range t.rows {
				phase2 = append(phase2, ikeRow(t, r, "v2", childCols))
			}
		case strings.Contains(title, "phase-2") || hasTnID:
			for _, r := range t.rows {
				phase2 = append(phase2, ikeRow(t, r, "v1", phase2Cols))
			}
		case v2 || hasSN:
			for _, r := range t.rows {
				e := ikeRow(t, r, "v2", v2Cols)
				if strings.EqualFold(e["state"].(string), "established") {
					established = true
				}
				phase1 = append(phase1, e)
			}
		case strings.Contains(title, "phase-1") || hasCol(col, "peer_address"):
			for _, r := range t.rows {
				phase1 = append(phase1, ikeRow(t, r, "v1", phase1Cols))
				established = true
			}
		}
	}
	return map[string]any{
		"phase1": phase1, "phase2": phase2, "child": phase2,
		"phase1_count": int64(len(phase1)), "phase2_count": int64(len(phase2)),
		"established": established,
	}, nil
}

func hasCol(col map[string]int, k string) bool {
	_, ok := col[k]
	return ok
}

// The columns of each table (snake_case header label → field name).
var (
	phase1Cols = map[string]string{
		"gwid_client_ip": "gwid", "peer_address": "peer_address", "gateway_name": "gateway",
		"role": "role", "mode": "mode", "algorithm": "algorithm", "established": "established_at",
		"expiration": "expires_at", "v": "ike_version", "st": "state", "xt": "xt", "phase2": "phase2",
	}
	v2Cols = map[string]string{
		"gateway_id": "gwid", "peer_address": "peer_address", "gateway_name": "gateway",
		"role": "role", "sn": "sn", "algorithm": "algorithm", "established": "established_at",
		"expiration": "expires_at", "xt": "xt", "child": "children", "st": "state",
	}
	phase2Cols = map[string]string{
		"gateway_name": "gateway", "tnid": "tunnel_id", "tunnel": "tunnel", "gwid_ip": "gwid",
		"role": "role", "algorithm": "algorithm", "spi_in": "spi_in", "spi_out": "spi_out",
		"msgid": "msgid", "st": "state", "xt": "xt",
	}
	childCols = map[string]string{
		"gateway_name": "gateway", "tnid": "tunnel_id", "tunnel": "tunnel", "id": "id",
		"parent": "parent", "role": "role", "spi_in": "spi_in", "spi_out": "spi_out",
		"msgid": "msgid", "st": "state",
	}
)

// ikeNumbers are the fields read as numbers; every other stays a string
// (identifiers, SPIs, message ids, states).
var ikeNumbers = map[string]bool{"xt": true, "phase2": true, "children": true}

// ikeRow maps one row by cols; columns not in cols keep their snake_case
// label. Every field of cols is present ("" when the row lacks it).
func ikeRow(t table, r []string, version string, cols map[string]string) map[string]any {
	e := map[string]any{"version": version}
	for _, name := range cols {
		e[name] = ""
	}
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
	return e
}
