package parse

import (
	"strings"
)

// counterFields are the top-level names a counter's flat value never
// overwrites.
var counterFields = map[string]bool{"counters": true, "drops": true, "count": true, "elapsed_seconds": true, "dataplane": true}

// parseCounters reads show counter global [filter ...]: rows
// "name value rate severity category aspect description". Fields:
// counters (name → {value, rate, severity, category, aspect, description}),
// each counter's value flat at top level under its name, drops (sum of the
// values of severity drop), count (counters read) and elapsed_seconds when
// printed. A counter printed more than once (one block per dataplane) has
// its values and rates summed.
func parseCounters(text string, data any) (map[string]any, error) {
	var cs []counter
	elapsed, hasElapsed := 0.0, false
	dp := ""
	if data != nil {
		cs, elapsed, hasElapsed, dp = countersXML(data)
	}
	if len(cs) == 0 {
		cs, elapsed, hasElapsed = countersText(text)
	}
	out := map[string]any{}
	byName := map[string]any{}
	var drops int64
	for _, c := range cs {
		if c.severity == "drop" {
			drops += c.value
		}
		if prev, ok := byName[c.name].(map[string]any); ok {
			prev["value"] = prev["value"].(int64) + c.value
			prev["rate"] = prev["rate"].(int64) + c.rate
			continue
		}
		byName[c.name] = map[string]any{
			"value": c.value, "rate": c.rate, "severity": c.severity,
			"category": c.category, "aspect": c.aspect, "description": c.description,
		}
	}
	for name, c := range byName {
		if !counterFields[name] {
			out[name] = c.(map[string]any)["value"]
		}
	}
	out["counters"] = byName
	out["drops"] = drops
	out["count"] = int64(len(byName))
	if hasElapsed {
		out["elapsed_seconds"] = elapsed
	}
	if dp != "" {
		out["dataplane"] = dp
	}
	return out, nil
}

type counter struct {
	name, severity, category, aspect, description string
	value, rate                                   int64
}

// countersText reads the rows of the text form. A row is any line whose
// first word is a counter name (lower case letters, digits, '_') followed
// by two integers and at least a severity.
func countersText(text string) ([]counter, float64, bool) {
	var cs []counter
	elapsed, hasElapsed := 0.0, false
	for _, l := range lines(text) {
		t := strings.TrimSpace(l)
		if rest, ok := cutPrefixFold(t, "elapsed time since last sampling:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				if v, ok := number(f[0]); ok {
					elapsed, hasElapsed = v, true
				}
			}
			continue
		}
		f := strings.Fields(t)
		if len(f) < 4 || !counterName(f[0]) {
			continue
		}
		v, ok1 := toInt(f[1])
		r, ok2 := toInt(f[2])
		if !ok1 || !ok2 {
			continue
		}
		c := counter{name: f[0], value: v, rate: r, severity: f[3]}
		if len(f) > 4 {
			c.category = f[4]
		}
		if len(f) > 5 {
			c.aspect = f[5]
		}
		if len(f) > 6 {
			c.description = afterFields(t, 6)
		}
		cs = append(cs, c)
	}
	return cs, elapsed, hasElapsed
}

// countersXML reads result/global/counters/entry (name, value, rate,
// severity, category, aspect, desc), result/global/t (milliseconds since the
// last sample) and result/dp.
func countersXML(data any) ([]counter, float64, bool, string) {
	var cs []counter
	for _, e := range list(path(data, "global", "counters", "entry")) {
		name := leaf(child(e, "name"))
		if name == "" {
			continue
		}
		v, _ := toInt(leaf(child(e, "value")))
		r, _ := toInt(leaf(child(e, "rate")))
		cs = append(cs, counter{
			name: name, value: v, rate: r,
			severity: leaf(child(e, "severity")), category: leaf(child(e, "category")),
			aspect: leaf(child(e, "aspect")), description: leaf(child(e, "desc")),
		})
	}
	elapsed, has := 0.0, false
	if t, ok := number(leaf(path(data, "global", "t"))); ok {
		elapsed, has = t/1000, true
	}
	return cs, elapsed, has, leaf(child(data, "dp"))
}

func counterName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// afterFields returns s from its n-th whitespace-separated field on.
func afterFields(s string, n int) string {
	s = strings.TrimSpace(s)
	for i := 0; i < n; i++ {
		j := strings.IndexAny(s, " \t")
		if j < 0 {
			return ""
		}
		s = strings.TrimLeft(s[j:], " \t")
	}
	return strings.TrimSpace(s)
}

// cutPrefixFold is strings.CutPrefix ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
