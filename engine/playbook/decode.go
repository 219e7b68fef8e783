package playbook

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-dev/runbook/secret"
)

var topKeys = []string{"name", "title", "description", "warnings", "timeout", "params", "steps", "cleanup", "findings", "case"}

// playbook decodes the top-level mapping into pb.
func (l *loader) playbook(file string, root *yaml.Node, pb *Playbook) {
	pairs, ok := l.mapping(file, root, "playbook", topKeys)
	if !ok {
		return
	}
	has := map[string]bool{}
	// Params first: expressions elsewhere need to know which are secret.
	for _, p := range pairs {
		if p.key == "params" {
			pb.Params = l.params(file, p.v)
		}
	}
	l.secrets = map[string]bool{}
	for _, p := range pb.Params {
		if p.Type == TypeSecret {
			l.secrets[p.Name] = true
		}
	}
	for _, p := range pairs {
		has[p.key] = true
		switch p.key {
		case "name":
			if s, ok := l.str(file, p.v, "name"); ok {
				if !nameRe.MatchString(s) {
					l.errf(file, p.v, "name %q must be lower-case letters, digits and dashes, starting with a letter or digit", s)
				}
				pb.Name = s
			}
		case "title":
			if s, ok := l.str(file, p.v, "title"); ok {
				if strings.TrimSpace(s) == "" {
					l.errf(file, p.v, "title must not be empty")
				}
				pb.Title = s
			}
		case "description":
			pb.Description, _ = l.str(file, p.v, "description")
		case "warnings":
			items, _ := l.seq(file, p.v, "warnings")
			for _, it := range items {
				if s, ok := l.str(file, it, "a warning"); ok {
					pb.Warnings = append(pb.Warnings, s)
				}
			}
		case "timeout":
			pb.Timeout, _ = l.duration(file, p.v, "timeout")
		case "steps":
			if l.stream != nil && p.k == l.stream.key {
				pb.Steps = l.streamSteps(file, l.stream)
				break
			}
			pb.Steps = l.steps(file, p.v, "steps")
			for _, s := range pb.Steps {
				l.facts.add(s, true)
			}
			if items, ok := l.seq(file, p.v, "steps"); ok && len(items) == 0 {
				l.errf(file, p.v, "steps must not be empty")
			}
		case "cleanup":
			pb.Cleanup = l.steps(file, p.v, "cleanup")
			// The engine sends cleanup's commands and nothing else: any
			// other kind (an if's commands above all) would never run.
			for _, s := range pb.Cleanup {
				if s.Kind != KindRun {
					l.add(s.Pos, "%s step is not allowed in cleanup, which runs commands only (put when: on a run step instead)", article(string(s.Kind)))
				}
				if s.ForEach != nil {
					l.add(s.ForEach.Pos, "for_each is not allowed in cleanup, whose commands are rendered once")
				}
				if len(s.Lets) > 0 {
					l.add(s.Lets[0].Pos, "let is not allowed in cleanup, whose entries are planned before the steps run: write the expression in the command")
				}
			}
		case "findings":
			items, _ := l.seq(file, p.v, "findings")
			for _, it := range items {
				if f := l.finding(file, it, nil); f != nil {
					pb.Findings = append(pb.Findings, f)
				}
			}
		case "case":
			pb.Case = l.caseSection(file, p.v)
		}
	}
	for _, req := range []string{"name", "title", "steps"} {
		if !has[req] {
			l.errf(file, root, "missing required key %q", req)
		}
	}
}

var paramKeys = []string{"type", "required", "default", "description", "values"}

var paramTypeNames = []string{"string", "int", "bool", "duration", "ip", "cidr", "enum", "secret"}

func (l *loader) params(file string, n *yaml.Node) []*Param {
	pairs, ok := l.mapping(file, n, "params", nil)
	if !ok {
		return nil
	}
	var out []*Param
	for _, kv := range pairs {
		p := &Param{Pos: l.pos(file, kv.k), Name: kv.key}
		if !identRe.MatchString(kv.key) {
			l.errf(file, kv.k, "parameter name %q must be lower-case letters, digits and underscores, starting with a letter", kv.key)
		}
		what := fmt.Sprintf("parameter %q", kv.key)
		fields, ok := l.mapping(file, kv.v, what, paramKeys)
		if !ok {
			continue
		}
		var defNode, valuesNode *yaml.Node
		hasType := false
		for _, f := range fields {
			switch f.key {
			case "type":
				hasType = true
				if s, ok := l.str(file, f.v, "type"); ok {
					if !slices.Contains(paramTypeNames, s) {
						msg := fmt.Sprintf("unknown parameter type %q: want one of %s", s, strings.Join(paramTypeNames, ", "))
						l.errf(file, f.v, "%s", msg)
					} else {
						p.Type = ParamType(s)
					}
				}
			case "required":
				p.Required, _ = l.boolean(file, f.v, "required")
			case "description":
				p.Description, _ = l.str(file, f.v, "description")
			case "default":
				defNode = deref(f.v)
			case "values":
				valuesNode = f.v
				items, _ := l.seq(file, f.v, "values")
				for _, it := range items {
					if s, ok := l.str(file, it, "an enum value"); ok {
						p.Values = append(p.Values, s)
					}
				}
			}
		}
		if !hasType {
			l.errf(file, kv.v, "%s has no type", what)
		}
		if p.Type == TypeEnum && valuesNode == nil {
			l.errf(file, kv.v, "enum %s needs values", what)
		}
		if p.Type != TypeEnum && p.Type != "" && valuesNode != nil {
			l.errf(file, valuesNode, "values is only for enum parameters")
		}
		if defNode != nil {
			if p.Required {
				l.errf(file, defNode, "%s is required, so it cannot have a default", what)
			}
			if p.Type != "" {
				l.paramDefault(file, p, defNode)
			}
		}
		out = append(out, p)
	}
	return out
}

// paramDefault checks a default against its parameter's type and stores
// its raw form.
func (l *loader) paramDefault(file string, p *Param, n *yaml.Node) {
	want := map[ParamType]string{TypeInt: "!!int", TypeBool: "!!bool"}[p.Type]
	if want == "" {
		want = "!!str"
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != want {
		l.errf(file, n, "default of %s parameter %q must be %s, not %s", p.Type, p.Name,
			map[string]string{"!!int": "an integer", "!!bool": "true or false", "!!str": "a string"}[want], describe(n))
		return
	}
	p.Default, p.HasDefault = n.Value, true
	if _, err := ParseValue(p, n.Value); err != nil {
		if p.Type == TypeSecret {
			l.errf(file, n, "default of secret parameter %q: %v", p.Name, secret.ErrLiteral)
			// The value may be the secret itself: never in the snippet.
			if e := l.errs[len(l.errs)-1]; n.Value != "" {
				e.Source = strings.ReplaceAll(e.Source, n.Value, secret.Placeholder)
			}
			return
		}
		l.errf(file, n, "default of parameter %q: %v", p.Name, err)
	}
}

// steps decodes a list of steps, expanding includes.
func (l *loader) steps(file string, n *yaml.Node, what string) []*Step {
	items, ok := l.seq(file, n, what)
	if !ok {
		return nil
	}
	// A step's node is not read again once decoded: it is dropped from
	// the tree as the list is decoded, so a playbook of many steps does
	// not hold its whole YAML tree and its steps at once. Not in a file
	// with anchors, where an alias may decode a node again.
	drop := !l.anchored[file]
	var out []*Step
	for i, it := range items {
		out = append(out, l.step(file, it)...)
		if drop {
			items[i] = nil
		}
	}
	return out
}

// step decodes one step; an include yields the fragment's steps.
func (l *loader) step(file string, n *yaml.Node) []*Step {
	// Aliases can make a small file name an exponential number of steps.
	if l.nsteps++; l.nsteps > maxSteps {
		if l.nsteps == maxSteps+1 {
			l.errf(file, n, "more than %d steps (YAML aliases repeating steps?)", maxSteps)
		}
		return nil
	}
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		l.errf(file, n, "a step must be a mapping, not %s", describe(n))
		return nil
	}
	// Find the kind first, so the allowed keys are known.
	var kinds []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; slices.Contains(kindKeys, k) && !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		// Still report unknown keys, then say what is missing.
		l.mapping(file, n, "step", allStepKeys())
		l.errf(file, n, "step has no kind: want one of %s", strings.Join(kindKeys, ", "))
		return nil
	case 1:
	default:
		l.errf(file, n, "step has %d kinds (%s): want exactly one", len(kinds), strings.Join(kinds, ", "))
		return nil
	}
	kind := kinds[0]
	what := kind + " step"
	allowed := allowedStepKeys[kind]
	pairs, ok := l.mapping(file, n, what, nil)
	if !ok {
		return nil
	}
	pairs = slices.DeleteFunc(pairs, func(p kv) bool {
		if slices.Contains(allowed, p.key) {
			return false
		}
		if p.key == "let" && kind == "if" {
			l.errf(file, p.k, "let is not allowed in an if step: its branches are steps of their own, each may have a let")
			return true
		}
		if slices.Contains(allStepKeys(), p.key) {
			l.errf(file, p.k, "key %q is not allowed in %s", p.key, article(what))
			return true
		}
		msg := fmt.Sprintf("unknown key %q in %s", p.key, what)
		if s := suggest(p.key, allowed); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		l.errf(file, p.k, "%s", msg)
		return true
	})
	if kind == "include" {
		return l.include(file, pairs[0].v)
	}
	s := &Step{Pos: l.pos(file, n), Kind: StepKind(kind)}
	get := map[string]*yaml.Node{}
	for _, p := range pairs {
		get[p.key] = p.v
	}
	// Common keys.
	if v := get["id"]; v != nil {
		if id, ok := l.str(file, v, "id"); ok {
			if !stepID(id) {
				l.errf(file, v, "step id %q must be lower-case letters, digits and underscores", id)
			} else if prev, dup := l.stepIDs[id]; dup {
				l.errf(file, v, "step id %q is already used at %s", id, l.idPos(prev))
			} else {
				l.stepIDs[id] = l.idAt(file, v)
			}
			s.ID = id
		}
	}
	if v := get["name"]; v != nil {
		s.Name, _ = l.str(file, v, "name")
	}
	// The lets first, wherever written: every other expression of the
	// step compiles after them and sees them (an if step, whose branches
	// are steps of their own, has none).
	if v := get["let"]; v != nil {
		s.Lets = l.lets(file, v, "step")
		from := len(l.pending)
		defer func() {
			for _, pe := range l.pending[from:] {
				if pe.check == nil && pe.lets == nil {
					pe.lets, pe.letsOf = s.Lets, "step"
				}
			}
		}()
		l.stepLets = s.Lets
		defer func() { l.stepLets = nil }()
	}
	if v := get["when"]; v != nil {
		s.When = l.cond(file, v, "when", false)
	}
	if v := get["on_error"]; v != nil {
		if oe, ok := l.str(file, v, "on_error"); ok {
			switch OnError(oe) {
			case OnErrorFail, OnErrorContinue:
				s.OnError = OnError(oe)
			default:
				l.errf(file, v, "on_error must be fail or continue, not %q", oe)
			}
		}
	}
	switch kind {
	case "run":
		l.runStep(file, s, get)
	case "wait":
		s.Kind = KindWait
		s.Wait = l.durationValue(file, get["wait"], "wait")
		if v := get["message"]; v != nil {
			s.Message = l.template(file, v, "message")
		}
	case "prompt":
		s.Message = l.template(file, get["prompt"], "prompt")
		if v := get["timeout"]; v != nil {
			s.PromptTimeout, _ = l.duration(file, v, "timeout")
		}
		s.Default = "continue"
		if v := get["default"]; v != nil {
			if d, ok := l.str(file, v, "default"); ok {
				if d != "continue" && d != "abort" {
					l.errf(file, v, "default must be continue or abort, not %q", d)
				}
				s.Default = d
			}
		}
	case "note":
		s.Message = l.template(file, get["note"], "note")
	case "export":
		l.exportStep(file, s, get)
	case "if":
		s.If = l.cond(file, get["if"], "if", false)
		if get["then"] == nil {
			l.errf(file, n, "if without then")
		} else {
			s.Then = l.steps(file, get["then"], "then")
		}
		if v := get["else"]; v != nil {
			s.Else = l.steps(file, v, "else")
		}
	}
	return []*Step{s}
}

// allowedStepKeys are the keys a step of each kind may have.
var allowedStepKeys = func() map[string][]string {
	m := map[string][]string{}
	for _, k := range kindKeys {
		m[k] = append(slices.Clone(commonStepKeys), kindStepKeys[k]...)
	}
	m["include"] = kindStepKeys["include"]
	return m
}()

// allStepKeys is every key some step may have: a key of another kind is
// reported as "not allowed" rather than unknown.
func allStepKeys() []string {
	all := slices.Clone(commonStepKeys)
	for _, k := range kindKeys {
		all = append(all, kindStepKeys[k]...)
	}
	return all
}

func article(what string) string {
	if strings.IndexAny(what[:1], "aeiou") == 0 {
		return "an " + what
	}
	return "a " + what
}

var (
	repeatKeys  = []string{"count", "interval"}
	retryKeys   = []string{"max", "interval"}
	answerKeys  = []string{"match", "answer"}
	captureKeys = []string{"regex", "expr"}
	scpKeys     = []string{"to", "password"}
)

// evidence decodes a run or export step's `evidence:`.
func (l *loader) evidence(file string, s *Step, get map[string]*yaml.Node) {
	if v := get["evidence"]; v != nil {
		if ev, ok := l.boolean(file, v, "evidence"); ok {
			s.NotEvidence = !ev
		}
	}
}

func (l *loader) runStep(file string, s *Step, get map[string]*yaml.Node) {
	l.evidence(file, s, get)
	from := len(l.pending) // the expressions for_each's item is visible in
	if forms := l.oneOf(file, get["run"], "run"); len(forms) > 0 {
		s.Run = forms[0]
		if isOneOf(get["run"]) {
			s.OneOf = forms
		}
	}
	if v := get["xml"]; v != nil {
		s.XML = l.template(file, v, "xml")
		if s.OneOf != nil {
			l.errf(file, v, "xml is not allowed with run: one_of: each form is sent as written (the XML API derives each form's XML)")
		}
	}
	if v := get["timeout"]; v != nil {
		s.Timeout, _ = l.duration(file, v, "timeout")
	}
	if v := get["prompts"]; v != nil {
		items, _ := l.seq(file, v, "prompts")
		for _, it := range items {
			pairs, ok := l.mapping(file, it, "a prompt answer", answerKeys)
			if !ok {
				continue
			}
			a := &Answer{Pos: l.pos(file, it)}
			for _, p := range pairs {
				switch p.key {
				case "match":
					a.Match = l.regex(file, p.v, "match")
				case "answer":
					a.Answer = l.template(file, p.v, "answer")
					a.Secret = l.usesSecret(a.Answer)
				}
			}
			if a.Match == nil || a.Answer == nil {
				if len(pairs) == len(answerKeys) {
					// Both present, one was invalid: already reported.
				} else {
					l.errf(file, it, "a prompt answer needs match and answer")
				}
				continue
			}
			s.Prompts = append(s.Prompts, a)
		}
	}
	if v := get["repeat"]; v != nil {
		if pairs, ok := l.mapping(file, v, "repeat", repeatKeys); ok {
			r := &Repeat{Pos: l.pos(file, v)}
			for _, p := range pairs {
				switch p.key {
				case "count":
					r.Count = l.intValue(file, p.v, "count")
					if r.Count != nil && r.Count.Expr == nil {
						if err := CheckCount(r.Count.Value); err != nil {
							l.errf(file, p.v, "%v", err)
						}
					}
				case "interval":
					r.Interval = l.durationValue(file, p.v, "interval")
				}
			}
			switch {
			case !slices.ContainsFunc(pairs, func(p kv) bool { return p.key == "count" }):
				l.errf(file, v, "repeat without count")
			case r.Count != nil && (r.Count.Expr != nil || r.Count.Value > 1) &&
				!slices.ContainsFunc(pairs, func(p kv) bool { return p.key == "interval" }):
				l.errf(file, v, "repeat needs an interval")
			}
			s.Repeat = r
		}
	}
	until, retry := get["until"], get["retry"]
	if until != nil {
		s.Until = l.cond(file, until, "until", true)
		if retry == nil {
			l.errf(file, until, "until without retry: add retry: {max: N, interval: D}")
		}
	}
	if retry != nil {
		if until == nil {
			l.errf(file, retry, "retry without until")
		}
		if pairs, ok := l.mapping(file, retry, "retry", retryKeys); ok {
			r := &Retry{Pos: l.pos(file, retry)}
			hasMax := false
			for _, p := range pairs {
				switch p.key {
				case "max":
					hasMax = true
					if m, ok := l.integer(file, p.v, "retry max"); ok {
						if m < 1 {
							l.errf(file, p.v, "retry max must be at least 1, not %d", m)
						} else if m > MaxRetry {
							l.errf(file, p.v, "retry max must be at most %d, not %d", MaxRetry, m)
						}
						r.Max = m
					}
				case "interval":
					r.Interval, _ = l.duration(file, p.v, "retry interval")
				}
			}
			if !hasMax {
				l.errf(file, retry, "retry without max")
			}
			s.Retry = r
		}
	}
	if v := get["capture"]; v != nil {
		l.captureMap(file, s, v)
	}
	if v := get["parse"]; v != nil {
		if p, ok := l.str(file, v, "parse"); ok {
			if i := slices.Index(Parsers, p); i >= 0 {
				p = Parsers[i] // one string for every step that names it
			} else {
				msg := fmt.Sprintf("unknown parser %q: want one of %s", p, strings.Join(Parsers, ", "))
				l.errf(file, v, "%s", msg)
			}
			s.Parse = p
		}
	}
	if v := get["undo"]; v != nil {
		v = deref(v)
		if v.Kind == yaml.SequenceNode {
			for _, it := range v.Content {
				if forms := l.oneOf(file, it, "undo"); forms != nil {
					s.Undo = append(s.Undo, forms)
				}
			}
		} else if forms := l.oneOf(file, v, "undo"); forms != nil {
			s.Undo = append(s.Undo, forms)
		}
	}
	if get["for_each"] != nil {
		l.forEach(file, s, get, from)
	}
}

// isOneOf reports whether n is written {one_of: [...]}.
func isOneOf(n *yaml.Node) bool {
	return n != nil && deref(n).Kind == yaml.MappingNode
}

// oneOf decodes a command position: a string (one form) or
// {one_of: [form, form, ...]}, two or more distinct forms tried in order.
func (l *loader) oneOf(file string, n *yaml.Node, what string) OneOf {
	if n == nil {
		return nil
	}
	if !isOneOf(n) {
		if t := l.template(file, n, what); t != nil {
			return OneOf{t}
		}
		return nil
	}
	m := deref(n)
	has := false
	for i := 0; i < len(m.Content); i += 2 {
		has = has || deref(m.Content[i]).Value == "one_of"
	}
	if !has {
		l.errf(file, n, "%s must be a string or {one_of: [form, form, ...]}, not a mapping without one_of", what)
		return nil
	}
	pairs, ok := l.mapping(file, n, what, []string{"one_of"})
	if !ok || len(pairs) == 0 {
		return nil
	}
	items, ok := l.seq(file, pairs[0].v, what+" one_of")
	if !ok {
		return nil
	}
	if len(items) < 2 {
		l.errf(file, pairs[0].v, "%s one_of needs at least two forms (a single command is written as a string)", what)
		return nil
	}
	var out OneOf
	seen := map[string]int{}
	for _, it := range items {
		t := l.template(file, it, what+" one_of")
		if t == nil {
			return nil
		}
		if line, dup := seen[t.Src]; dup {
			l.errf(file, it, "%s one_of: form %q is given twice (first at line %d)", what, t.Src, line)
			return nil
		}
		seen[t.Src] = l.pos(file, it).Line
		out = append(out, t)
	}
	return out
}

func (l *loader) captureMap(file string, s *Step, n *yaml.Node) {
	pairs, ok := l.mapping(file, n, "capture", nil)
	if !ok {
		return
	}
	for _, p := range pairs {
		c := &Capture{Pos: l.pos(file, p.k), Name: p.key}
		if !identRe.MatchString(p.key) {
			l.errf(file, p.k, "capture name %q must be lower-case letters, digits and underscores, starting with a letter", p.key)
			continue
		}
		var key string
		v := deref(p.v)
		if v.Kind == yaml.MappingNode {
			fields, ok := l.mapping(file, v, "capture "+p.key, captureKeys)
			if !ok {
				continue
			}
			if len(fields) != 1 {
				l.errf(file, v, "capture %q needs exactly one of regex and expr", p.key)
				continue
			}
			f := fields[0]
			if f.key == "regex" {
				c.Regex = l.regex(file, f.v, "capture "+p.key)
				key = "regex:" + f.v.Value
			} else {
				c.Expr = l.expr(file, f.v, "capture "+p.key, exprAny, true)
				key = "expr:" + f.v.Value
			}
		} else {
			c.Regex = l.regex(file, v, "capture "+p.key)
			key = "regex:" + v.Value
		}
		if prev, ok := l.captures[p.key]; ok && prev.key != key {
			l.errf(file, p.k, "capture %q is already defined at %s with a different %s", p.key, prev.pos,
				strings.SplitN(prev.key, ":", 2)[0])
		} else if !ok {
			l.captures[p.key] = captureDef{key: key, pos: c.Pos}
		}
		if c.Regex != nil || c.Expr != nil {
			s.Captures = append(s.Captures, c)
		}
	}
}

func (l *loader) exportStep(file string, s *Step, get map[string]*yaml.Node) {
	l.evidence(file, s, get)
	e := &Export{Pos: s.Pos}
	if c, ok := l.str(file, get["export"], "export"); ok {
		if strings.TrimSpace(c) == "" {
			l.errf(file, get["export"], "export category must not be empty")
		}
		e.Category = c
	}
	if v := get["file"]; v != nil {
		e.File = l.template(file, v, "file")
	}
	if v := get["timeout"]; v != nil {
		s.Timeout, _ = l.duration(file, v, "timeout")
	}
	if v := get["scp"]; v != nil {
		if pairs, ok := l.mapping(file, v, "scp", scpKeys); ok {
			for _, p := range pairs {
				switch p.key {
				case "to":
					e.ScpTo = l.template(file, p.v, "scp to")
				case "password":
					e.ScpPassword = l.template(file, p.v, "scp password")
					if e.ScpPassword != nil && e.ScpPassword.Static() && e.ScpPassword.Src != "" {
						l.errf(file, p.v, "scp password must be a secret parameter such as ${params.scp_password}, never the password itself")
					}
				}
			}
		}
	}
	s.Export = e
}

// include expands an include step into the steps of the fragment.
func (l *loader) include(file string, n *yaml.Node) []*Step {
	rel, ok := l.str(file, n, "include")
	if !ok {
		return nil
	}
	target := l.join(file, rel)
	if target == "" {
		l.errf(file, n, "include %s: outside the playbook's folder; only files in its folder or below can be included", rel)
		return nil
	}
	if slices.Contains(l.includes, target) || target == file {
		chain := append(slices.Clone(l.includes), target)
		l.errf(file, n, "include cycle: %s", strings.Join(chain, " -> "))
		return nil
	}
	if len(l.includes) >= maxIncludeDepth {
		l.errf(file, n, "includes nested deeper than %d", maxIncludeDepth)
		return nil
	}
	src, err := l.read(target)
	if err != nil {
		l.errf(file, n, "include %s: cannot read %s", rel, target)
		return nil
	}
	root := l.parse(target, src)
	if root == nil {
		return nil
	}
	if len(l.includes) == 0 {
		l.includes = append(l.includes, file)
	}
	l.includes = append(l.includes, target)
	defer func() { l.includes = l.includes[:len(l.includes)-1] }()
	if root.Kind != yaml.SequenceNode {
		l.errf(target, root, "a fragment must be a list of steps, not %s", describe(root))
		return nil
	}
	return l.steps(target, root, "fragment")
}

var (
	findingKeys = []string{"id", "severity", "let", "when", "message", "evidence"}
	caseKeys    = []string{"ends", "findings"}
)

// caseSection decodes the top-level case: section.
func (l *loader) caseSection(file string, n *yaml.Node) *Case {
	pairs, ok := l.mapping(file, n, "case", caseKeys)
	if !ok {
		return nil
	}
	c := &Case{Pos: l.pos(file, n)}
	var findings *yaml.Node
	for _, p := range pairs {
		switch p.key {
		case "ends":
			items, _ := l.seq(file, p.v, "case ends")
			for _, it := range items {
				name, ok := l.str(file, it, "an end's name")
				if !ok {
					continue
				}
				switch {
				case !identRe.MatchString(name):
					l.errf(file, it, "end name %q must be lower-case letters, digits and underscores, starting with a letter", name)
				case slices.Contains(c.Ends, name):
					l.errf(file, it, "end %q is named twice", name)
				default:
					c.Ends = append(c.Ends, name)
				}
			}
			if len(items) < 2 {
				l.errf(file, p.v, "case ends must name at least two ends (the first targets of the run, in order)")
			}
		case "findings":
			findings = p.v
		}
	}
	if c.Ends == nil {
		l.errf(file, n, "case without ends")
		return c
	}
	if findings != nil {
		items, _ := l.seq(file, findings, "case findings")
		for _, it := range items {
			if f := l.finding(file, it, c.Ends); f != nil {
				c.Findings = append(c.Findings, f)
			}
		}
	}
	return c
}

// finding decodes a finding: of one run when ends is nil, else of the
// case whose ends are named (its expressions see ends.NAME; each
// evidence entry names its end).
func (l *loader) finding(file string, n *yaml.Node, ends []string) *Finding {
	pairs, ok := l.mapping(file, n, "finding", findingKeys)
	if !ok {
		return nil
	}
	from := len(l.pending)
	if ends != nil {
		defer func() {
			for _, pe := range l.pending[from:] {
				pe.withEnds = true
			}
		}()
	}
	evKeys := []string{"step", "field"}
	if ends != nil {
		evKeys = []string{"end", "step", "field"}
	}
	f := &Finding{Pos: l.pos(file, n)}
	// The lets first, wherever written: the finding's other expressions
	// compile after them and see them.
	for _, p := range pairs {
		if p.key == "let" {
			f.Lets = l.lets(file, p.v, "finding")
		}
	}
	lets := len(l.pending)
	defer func() {
		for _, pe := range l.pending[lets:] {
			if pe.check == nil {
				pe.lets, pe.letsOf = f.Lets, "finding"
			}
		}
	}()
	has := map[string]bool{}
	for _, p := range pairs {
		has[p.key] = true
		switch p.key {
		case "id":
			f.ID, _ = l.str(file, p.v, "id")
		case "severity":
			if s, ok := l.str(file, p.v, "severity"); ok {
				switch Severity(s) {
				case SeverityCritical, SeverityWarning, SeverityInfo:
					f.Severity = Severity(s)
				default:
					l.errf(file, p.v, "severity must be critical, warning or info, not %q", s)
				}
			}
		case "when":
			f.When = l.cond(file, p.v, "when", false)
		case "message":
			f.Message = l.template(file, p.v, "message")
		case "evidence":
			items, _ := l.seq(file, p.v, "evidence")
			for _, it := range items {
				ev, ok := l.mapping(file, it, "evidence", evKeys)
				if !ok {
					continue
				}
				var e Evidence
				for _, x := range ev {
					if x.key == "end" {
						if e.End, ok = l.str(file, x.v, "evidence end"); ok && !slices.Contains(ends, e.End) {
							l.errf(file, x.v, "evidence names unknown end %q (the case's ends are %s)", e.End, strings.Join(ends, ", "))
						}
					} else if x.key == "step" {
						if e.Step, ok = l.str(file, x.v, "evidence step"); ok {
							l.pending = append(l.pending, &pendingExpr{check: func() {
								if _, known := l.stepIDs[e.Step]; !known {
									l.errf(file, x.v, "evidence names unknown step %q", e.Step)
								}
							}})
						}
					} else {
						e.Field, _ = l.str(file, x.v, "evidence field")
					}
				}
				if e.Step == "" {
					l.errf(file, it, "evidence needs a step")
					continue
				}
				if ends != nil && e.End == "" {
					l.errf(file, it, "evidence of a case finding needs an end (one of %s)", strings.Join(ends, ", "))
					continue
				}
				f.Evidence = append(f.Evidence, e)
			}
		}
	}
	for _, req := range []string{"severity", "when", "message"} {
		if !has[req] {
			l.errf(file, n, "finding without %s", req)
		}
	}
	return f
}

// regex compiles a regular expression scalar.
func (l *loader) regex(file string, n *yaml.Node, what string) *regexp.Regexp {
	s, ok := l.str(file, n, what)
	if !ok {
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		l.errf(file, n, "%s: invalid regular expression: %v", what, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return nil
	}
	return re
}

// duration reads a literal duration scalar.
func (l *loader) duration(file string, n *yaml.Node, what string) (d time.Duration, ok bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		l.errf(file, n, "%s must be a duration such as 30s or 10m, not %s", what, describe(n))
		return 0, false
	}
	s := n.Value
	v, err := ParseDuration(s)
	if err == nil {
		err = checkDuration(v)
	}
	if err != nil {
		l.errf(file, n, "%s: %v", what, err)
		return 0, false
	}
	return v, true
}

// usesSecret reports whether t interpolates a secret parameter.
func (l *loader) usesSecret(t *Template) bool {
	if t == nil {
		return false
	}
	for _, p := range t.Parts {
		if p.Expr == nil {
			continue
		}
		if l.readsSecret(p.Expr.Src, l.stepLets) {
			return true
		}
	}
	return false
}

// readsSecret reports whether the expression src names a secret
// parameter, or one of lets that does (each let may read those before
// it).
func (l *loader) readsSecret(src string, lets []*Let) bool {
	for _, m := range paramRefRe.FindAllStringSubmatch(src, -1) {
		if l.secrets[m[1]] || l.secrets[m[2]] {
			return true
		}
	}
	for i, lt := range lets {
		if lt.Expr != nil && readsName(src, lt.Name) && l.readsSecret(lt.Expr.Src, lets[:i]) {
			return true
		}
	}
	return false
}

var paramRefRe = regexp.MustCompile(`\bparams\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)|\bparams\s*\[\s*["']([^"']+)`)
