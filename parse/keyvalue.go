package parse

import (
	"regexp"
	"sort"
	"strings"
)

// parseKeyValue reads "label: value" lines (show vpn flow tunnel-id, show
// session id, show system info). Labels become snake_case keys; a label line
// without a value (or a bare label) followed by more indented lines prefixes
// their keys ("packets received" / "when lifetime expired:0" →
// packets_received_when_lifetime_expired). A line "label   value" without a
// colon but with a gap of two or more spaces is read as a pair too
// ("tunnel  sap-sap"). Several pairs on one line, separated by two or more
// spaces, are all read ("sport: 1     dport: 31"). The first occurrence of a
// key wins.
func parseKeyValue(text string, data any) (map[string]any, error) {
	if data != nil {
		if out := keyValueXML(data); len(out) > 0 {
			return out, nil
		}
	}
	return keyValueText(text), nil
}

// secondPair finds the start of a second "label:" inside a value.
var secondPair = regexp.MustCompile(`\s{2,}([A-Za-z][A-Za-z0-9 _/().-]*?):(\s|$)`)

type kvFrame struct {
	indent int
	prefix string
}

func keyValueText(text string) map[string]any {
	out := map[string]any{}
	ls := lines(text)
	var stack []kvFrame
	for i, l := range ls {
		content := strings.TrimSpace(l)
		if content == "" || isPrompt(l) {
			continue
		}
		indent := indentOf(l)
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		prefix := ""
		if len(stack) > 0 {
			prefix = stack[len(stack)-1].prefix + "_"
		}
		deeper := nextIndent(ls, i) > indent
		colon := strings.IndexByte(content, ':')
		// "tunnel  vpn_TEST:Red_1": a label, a gap, then a value that holds
		// a colon (a proxy-ID SA name). Such a colon comes after the gap and
		// is followed by more text, where a label's colon ends the label
		// ("enc  algorithm:  3DES", "start time      : ...").
		if gap := strings.Index(content, "  "); colon > 0 && gap > 0 && gap < colon &&
			strings.TrimSpace(content[gap:colon]) != "" &&
			colon+1 < len(content) && content[colon+1] != ' ' && content[colon+1] != '\t' {
			colon = -1
		}
		if colon > 0 {
			label := snake(content[:colon])
			rest := strings.TrimSpace(content[colon+1:])
			if label == "" {
				continue
			}
			if rest == "" && deeper {
				stack = append(stack, kvFrame{indent, prefix + label})
				continue
			}
			for rest != "" && strings.IndexByte(rest, ':') >= 0 { // a second pair has a colon
				loc := secondPair.FindStringSubmatchIndex(rest)
				if loc == nil {
					break
				}
				setFirst(out, prefix+label, kvValue(rest[:loc[0]]))
				label = snake(rest[loc[2]:loc[3]])
				rest = strings.TrimSpace(rest[loc[3]+1:])
			}
			setFirst(out, prefix+label, kvValue(rest))
			continue
		}
		if gap := strings.Index(content, "  "); gap > 0 {
			setFirst(out, prefix+snake(content[:gap]), kvValue(content[gap:]))
			continue
		}
		if indent > 0 && deeper {
			stack = append(stack, kvFrame{indent, prefix + snake(content)})
		}
	}
	return out
}

// nextIndent is the indent of the next non-blank line after ls[i], -1 if none.
func nextIndent(ls []string, i int) int {
	for _, l := range ls[i+1:] {
		if strings.TrimSpace(l) != "" {
			return indentOf(l)
		}
	}
	return -1
}

// seconds matches durations the CLI prints as "25935 sec" or "2865 seconds ago".
var seconds = regexp.MustCompile(`^(\d+) ?(s|sec|secs|second|seconds)( ago)?$`)

// kvValue converts a key-value value: numbers as numbers, "N sec" and
// "N seconds ago" as int64 seconds, anything else a trimmed string.
func kvValue(s string) any {
	s = strings.TrimSpace(s)
	if s == "" || s[0] < '0' || s[0] > '9' || !strings.ContainsRune("scdo", rune(s[len(s)-1])) {
		// Not "N sec", "N seconds" or "N seconds ago": spare the regexp.
		return value(s)
	}
	if m := seconds.FindStringSubmatch(s); m != nil {
		if n, ok := toInt(m[1]); ok {
			return n
		}
	}
	return value(s)
}

// flowAliases maps the XML element names of a tunnel flow record
// (show running tunnel flow, show vpn flow tunnel-id over the API) to the
// field names of the text form of show vpn flow tunnel-id.
var flowAliases = map[string]string{
	"name":              "tunnel",
	"gwid":              "gateway_id",
	"gw":                "gateway",
	"localip":           "local_ip",
	"peerip":            "peer_ip",
	"inner-if":          "inner_interface",
	"outer-if":          "outer_interface",
	"sid":               "session",
	"mtu":               "tunnel_mtu",
	"remaintime":        "lifetime_remain",
	"last-rekey":        "latest_rekey",
	"monitor-on":        "monitor",
	"monitor-pkt-seen":  "monitor_packets_seen",
	"monitor-pkt-reply": "monitor_packets_reply",
	"context":           "en_decap_context",
	"keytype":           "key_type",
	"proto":             "protocol",
	"auth":              "auth_algorithm",
	"enc":               "enc_algorithm",
	"anti-replay":       "anti_replay_check",
	"auth-err":          "authentication_errors",
	"dec-err":           "decryption_errors",
	"inner-warn":        "inner_packet_warnings",
	"pkt-replay":        "replay_packets",
	"pkt-lifetime":      "packets_received_when_lifetime_expired",
	"pkt-lifesize":      "packets_received_when_lifesize_expired",
	"seq-send":          "sending_sequence",
	"seq-recv":          "receive_sequence",
	"pkt-encap":         "encap_packets",
	"pkt-decap":         "decap_packets",
	"byte-encap":        "encap_bytes",
	"byte-decap":        "decap_bytes",
	"acquire":           "key_acquire_requests",
	"owner":             "ownership",
}

// stringFields keep their text even when it looks like a number: SPIs are
// hexadecimal and may be all digits.
var stringFields = map[string]bool{"local_spi": true, "remote_spi": true, "spi_in": true, "spi_out": true}

// keyValueXML flattens the first record of a structured answer:
// result/entries/entry[0], result/IPSec/entry[0], result/system, or result
// itself. A flow record (it has pkt-encap, pkt-decap or acquire) is renamed
// with flowAliases.
func keyValueXML(data any) map[string]any {
	rec := data
	for _, k := range []string{"entries", "IPSec", "system", "entry"} {
		if c := child(rec, k); c != nil {
			rec = c
			if l := list(rec); len(l) > 0 {
				rec = l[0]
			}
		}
	}
	if l := list(rec); len(l) > 0 {
		rec = l[0]
	}
	m, ok := rec.(map[string]any)
	if !ok {
		return nil
	}
	var aliases map[string]string
	for _, k := range []string{"pkt-encap", "pkt-decap", "acquire"} {
		if _, ok := m[k]; ok {
			aliases = flowAliases
		}
	}
	out := mapRecord(m, aliases, stringFields)
	// Top-level leaves beside the record (ntun) are kept too.
	if top, ok := data.(map[string]any); ok && !sameMap(top, m) {
		for k, v := range top {
			if s, ok := v.(string); ok {
				setFirst(out, snake(k), value(s))
			}
		}
	}
	return out
}

func sameMap(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
