package parse

import (
	"regexp"
	"strings"
)

var (
	fibVia       = regexp.MustCompile(`(?i)\bvia\s+([0-9A-Fa-f.:]+)`)
	fibInterface = regexp.MustCompile(`(?i)\binterface\s+([A-Za-z][\w./:-]*)`)
	fibSource    = regexp.MustCompile(`(?i)\bsource\s+([0-9A-Fa-f.:]+)`)
	fibMetric    = regexp.MustCompile(`(?i)\bmetric\s+(\d+)`)
)

// parseFIBLookup reads test routing fib-lookup virtual-router VR ip X.
// Fields: interface, nexthop, source, metric (when printed), found (an
// egress interface was named), recognised (the answer is in a form this
// parser knows: an XML answer, or text with a result: or virtual-router:
// line or a route sentence; false means "found" says nothing, as no
// public text sample of this command exists). The text form is read both as "label: value"
// lines (interface:, nexthop:, source:) and as the "via X interface Y,
// source Z, metric N" sentence; the XML form maps result/nh, result/interface
// and result/src.
func parseFIBLookup(text string, data any) (map[string]any, error) {
	out := map[string]any{"interface": "", "nexthop": "", "source": ""}
	if data != nil {
		out["interface"] = leaf(child(data, "interface"))
		out["nexthop"] = leaf(child(data, "nh"))
		out["source"] = leaf(child(data, "src"))
		if m, ok := toInt(leaf(child(data, "metric"))); ok {
			out["metric"] = m
		}
		if dp := leaf(child(data, "dp")); dp != "" {
			out["dataplane"] = dp
		}
	}
	if out["interface"] == "" && out["nexthop"] == "" {
		kv := keyValueText(text)
		str := func(k string) string {
			if s, ok := kv[k].(string); ok {
				return s
			}
			return ""
		}
		out["interface"], out["nexthop"], out["source"] = str("interface"), str("nexthop"), str("source")
		for _, k := range []string{"virtual_router", "destination"} {
			if v, ok := kv[k]; ok {
				out[k] = v
			}
		}
		for _, l := range lines(text) {
			if m := fibInterface.FindStringSubmatch(l); m != nil && out["interface"] == "" {
				out["interface"] = strings.TrimRight(m[1], ",")
				if v := fibVia.FindStringSubmatch(l); v != nil {
					out["nexthop"] = v[1]
				}
				if s := fibSource.FindStringSubmatch(l); s != nil {
					out["source"] = s[1]
				}
				if n := fibMetric.FindStringSubmatch(l); n != nil {
					out["metric"], _ = toInt(n[1])
				}
			}
		}
	}
	out["found"] = out["interface"] != ""
	out["recognised"] = data != nil || out["found"] == true || fibRecognised(text)
	return out, nil
}

// fibRecognised reports whether text has the labels of the route lookup
// answer (result:, virtual-router:) that a "no route" answer still prints.
func fibRecognised(text string) bool {
	for _, l := range lines(text) {
		t := strings.ToLower(strings.TrimSpace(l))
		if strings.HasPrefix(t, "result:") || strings.HasPrefix(t, "virtual-router:") {
			return true
		}
	}
	return false
}
