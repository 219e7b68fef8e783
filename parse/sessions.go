package parse

import (
	"regexp"
	"strings"
)

// srcCell matches "192.168.1.20[1]/Inside/1" and dstCell "1.1.1.1[26]/Outside";
// natCell matches "(10.2.62.150[1])".
var (
	srcCell = regexp.MustCompile(`^(.+)\[(\d+)\]/(.*)/(\d+)$`)
	dstCell = regexp.MustCompile(`^(.+)\[(\d+)\]/(.*)$`)
	natCell = regexp.MustCompile(`^\((.+)\[(\d+)\]\)$`)
)

// parseSessions reads show session all [filter ...]: two lines per
// session, the second starting with the vsys. Fields: sessions (each id,
// application, state, type, flag, source, sport, from_zone, proto,
// source_translated, sport_translated, vsys, destination, dport, to_zone,
// destination_translated, dport_translated), count and first_id ("" if
// none). Ids are strings, ports and protocol numbers int64.
func parseSessions(text string, data any) (map[string]any, error) {
	var ss []any
	if data != nil {
		ss = sessionsXML(data)
	}
	if ss == nil {
		ss = sessionsText(text)
	}
	out := map[string]any{"sessions": ss, "count": int64(len(ss)), "first_id": ""}
	if len(ss) > 0 {
		out["first_id"] = ss[0].(map[string]any)["id"]
	}
	return out, nil
}

func sessionsText(text string) []any {
	ss := []any{}
	var cur map[string]any
	for _, l := range lines(text) {
		f := strings.Fields(l)
		if len(f) == 0 || isPrompt(l) {
			continue
		}
		// First line: ID Application State Type [Flag] src [nat].
		if _, ok := toInt(f[0]); ok && len(f) >= 5 {
			s := map[string]any{
				"id": f[0], "application": f[1], "state": f[2], "type": f[3], "flag": "",
				"source": "", "sport": int64(0), "from_zone": "", "proto": int64(0),
				"source_translated": "", "sport_translated": int64(0),
				"vsys": "", "destination": "", "dport": int64(0), "to_zone": "",
				"destination_translated": "", "dport_translated": int64(0),
			}
			rest := f[4:]
			if len(rest) > 0 && !srcCell.MatchString(rest[0]) {
				s["flag"] = rest[0]
				rest = rest[1:]
			}
			if len(rest) == 0 {
				continue
			}
			m := srcCell.FindStringSubmatch(rest[0])
			if m == nil {
				continue
			}
			s["source"], s["sport"], s["from_zone"], s["proto"] = m[1], value(m[2]), m[3], value(m[4])
			s["source_translated"], s["sport_translated"] = m[1], value(m[2])
			if len(rest) > 1 {
				if n := natCell.FindStringSubmatch(rest[1]); n != nil {
					s["source_translated"], s["sport_translated"] = n[1], value(n[2])
				}
			}
			ss = append(ss, s)
			cur = s
			continue
		}
		// Second line: vsys dst [nat].
		if cur != nil && len(f) >= 2 && cur["vsys"] == "" {
			m := dstCell.FindStringSubmatch(f[1])
			if m == nil {
				continue
			}
			cur["vsys"] = f[0]
			cur["destination"], cur["dport"], cur["to_zone"] = m[1], value(m[2]), m[3]
			cur["destination_translated"], cur["dport_translated"] = m[1], value(m[2])
			if len(f) > 2 {
				if n := natCell.FindStringSubmatch(f[2]); n != nil {
					cur["destination_translated"], cur["dport_translated"] = n[1], value(n[2])
				}
			}
			cur = nil
		}
	}
	return ss
}

// sessionAliases maps the XML element names of a session entry to the text
// form's field names; other elements keep their snake_case name.
var sessionAliases = map[string]string{
	"idx": "id", "dst": "destination", "from": "from_zone", "to": "to_zone",
	"xsource": "source_translated", "xsport": "sport_translated",
	"xdst": "destination_translated", "xdport": "dport_translated", "flags": "flag",
}

// sessionsXML reads result/entry (one per session).
func sessionsXML(data any) []any {
	es := list(child(data, "entry"))
	if es == nil {
		return nil
	}
	out := make([]any, 0, len(es))
	for _, e := range es {
		m := mapRecord(e, sessionAliases, map[string]bool{"id": true})
		for _, k := range []string{"id", "application", "state", "type", "flag", "source", "from_zone",
			"vsys", "destination", "to_zone", "source_translated", "destination_translated"} {
			if _, ok := m[k]; !ok {
				m[k] = ""
			}
		}
		out = append(out, m)
	}
	return out
}
