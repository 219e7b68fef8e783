package parse

import (
	"regexp"
	"strings"
)

// ruleHeader matches the first line of a matched rule's block:
// "Allow 10.125.100.58-To-Google DNS; index: 1" {
var ruleHeader = regexp.MustCompile(`^"(.*); index: (\d+)"\s*\{?$`)

// ruleIndex splits "NAME; index: N", the rule as the XML API names it.
var ruleIndex = regexp.MustCompile(`^(.*); index: (\d+)$`)

// denyActions are the actions of a rule that blocks the traffic.
var denyActions = map[string]bool{"deny": true, "drop": true, "reset-client": true,
	"reset-server": true, "reset-both": true}

// parseSecurityPolicyMatch reads test security-policy-match: one block per
// matched rule ("NAME; index: N" { from Z; ... action allow; ... }), and
// nothing at all when no rule matches. Over the XML API the answer is
// either result/rules/entry ("NAME; index: N", without the action) or,
// since PAN-OS 8.1, the CLI text in result/msg/line.
//
// Fields: rules (each name, index, action ("" when the answer does not
// say), from, to, source, destination, application_service and the other
// lines of the block under their snake_case names), count, matched,
// first ({name, index, action} of the first rule; "", 0, "" when none),
// action (the first rule's) and denied (that action is deny, drop or a
// reset).
func parseSecurityPolicyMatch(text string, data any) (map[string]any, error) {
	var rules []any
	if data != nil {
		rules = policyMatchXML(data)
	}
	if rules == nil {
		rules = policyMatchText(text)
	}
	first := map[string]any{"name": "", "index": int64(0), "action": ""}
	if len(rules) > 0 {
		r := rules[0].(map[string]any)
		first = map[string]any{"name": r["name"], "index": r["index"], "action": r["action"]}
	}
	return map[string]any{
		"rules": rules, "count": int64(len(rules)), "matched": len(rules) > 0,
		"first": first, "action": first["action"], "denied": denyActions[first["action"].(string)],
	}, nil
}

// newRule starts a rule with the fields every rule has.
func newRule(name string, index int64) map[string]any {
	r := map[string]any{"name": name, "index": index, "action": ""}
	for _, k := range []string{"from", "to", "source", "destination", "application_service"} {
		r[k] = ""
	}
	return r
}

func policyMatchText(text string) []any {
	rules := []any{}
	var cur map[string]any
	for _, l := range lines(text) {
		t := strings.TrimSpace(l)
		if t == "" || isPrompt(l) {
			continue
		}
		if m := ruleHeader.FindStringSubmatch(t); m != nil {
			n, _ := toInt(m[2])
			cur = newRule(m[1], n)
			rules = append(rules, cur)
			continue
		}
		if cur == nil {
			continue
		}
		if t == "}" {
			cur = nil
			continue
		}
		// "action allow;", "source [ 10.0.0.1 1.1.1.1 ];", "icmp-unreachable: no"
		t = strings.TrimSpace(strings.TrimSuffix(t, ";"))
		key, val, ok := strings.Cut(t, " ")
		if !ok {
			continue
		}
		key = snake(strings.TrimSuffix(key, ":"))
		val = strings.TrimSpace(val)
		if key == "destinataion_device" { // PAN-OS prints it misspelt
			setFirst(cur, "destination_device", val)
		}
		if old, ok := cur[key]; !ok || old == "" {
			cur[key] = val
		}
	}
	return rules
}

// policyMatchXML reads result/rules/entry or result/msg/line; nil when the
// answer has neither.
func policyMatchXML(data any) []any {
	if es := child(child(data, "rules"), "entry"); es != nil {
		rules := []any{}
		for _, e := range list(es) {
			s := leaf(e)
			name, index := s, int64(0)
			if m := ruleIndex.FindStringSubmatch(s); m != nil {
				name = strings.TrimSpace(m[1])
				index, _ = toInt(m[2])
			}
			rules = append(rules, newRule(name, index))
		}
		return rules
	}
	if ls := child(child(data, "msg"), "line"); ls != nil {
		var b strings.Builder
		for _, l := range list(ls) {
			if s, ok := l.(string); ok {
				b.WriteString(s)
				b.WriteByte('\n')
			}
		}
		return policyMatchText(b.String())
	}
	return nil
}
