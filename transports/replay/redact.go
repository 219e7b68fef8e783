package replay

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
)

// Pattern is an author's redaction pattern: every match (or, if the regexp
// has a capturing group, the text of its first group) is replaced by
// Name-N, the same text always by the same N within one recording.
type Pattern struct {
	// Name is the placeholder prefix: IP gives IP-1, IP-2, ...
	Name string
	// Regexp finds the text to replace. It must not match the empty string.
	Regexp *regexp.Regexp
}

// Redaction is how a recording hides secrets and customer details before
// anything is written, and how replay redacts commands the same way so that
// a redacted cassette still matches. It replaces:
//
//   - every value registered in its secret.Redactor, and their URL-encoded
//     and base64 forms, by secret.Placeholder;
//   - the value of any key=, password= (and similar) parameter in a URL or
//     request body, any X-PAN-KEY or Authorization header value, and
//     anything shaped like a PAN-OS API key (LUFRPT...), by
//     secret.Placeholder;
//   - every match of an author Pattern by NAME-N, consistently.
//
// The mapping from values to placeholders stays in memory; a cassette
// records only which patterns applied (Info). Redaction is safe for
// concurrent use.
type Redaction struct {
	secrets  *secret.Redactor
	patterns []Pattern
	res      []*regexp.Regexp

	mu   sync.Mutex
	seen []map[string]string // per pattern: value -> placeholder
}

// NewRedaction returns a Redaction using secrets (nil: a new, empty
// secret.Redactor) and patterns, applied in order.
func NewRedaction(secrets *secret.Redactor, patterns ...Pattern) (*Redaction, error) {
	if secrets == nil {
		secrets = &secret.Redactor{}
	}
	r := &Redaction{secrets: secrets, patterns: patterns}
	names := map[string]bool{}
	for _, p := range patterns {
		switch {
		case !patternName.MatchString(p.Name):
			return nil, fmt.Errorf("redaction: pattern name %q must be letters, digits and _ and start with a letter", p.Name)
		case names[p.Name]:
			return nil, fmt.Errorf("redaction: pattern name %q used twice", p.Name)
		case p.Regexp == nil:
			return nil, fmt.Errorf("redaction: pattern %s has no regexp", p.Name)
		case p.Regexp.MatchString(""):
			return nil, fmt.Errorf("redaction: pattern %s matches the empty string", p.Name)
		}
		names[p.Name] = true
		r.res = append(r.res, p.Regexp)
		r.seen = append(r.seen, map[string]string{})
	}
	return r, nil
}

// CompilePatterns compiles patterns as stored in a cassette header.
func CompilePatterns(infos []PatternInfo) ([]Pattern, error) {
	ps := make([]Pattern, 0, len(infos))
	for _, pi := range infos {
		re, err := regexp.Compile(pi.Regexp)
		if err != nil {
			return nil, fmt.Errorf("redaction: pattern %s: %w", pi.Name, err)
		}
		ps = append(ps, Pattern{Name: pi.Name, Regexp: re})
	}
	return ps, nil
}

// AddSecret registers one more secret value (for example a prompt answer
// marked secret), redacted as secret.Redactor does.
func (r *Redaction) AddSecret(v string) { r.secrets.Add(v) }

// Info is what a cassette header records about r.
func (r *Redaction) Info() RedactionInfo {
	info := RedactionInfo{Secrets: true}
	for _, p := range r.patterns {
		info.Patterns = append(info.Patterns, PatternInfo{Name: p.Name, Regexp: p.Regexp.String()})
	}
	return info
}

// Secrets returns s with secrets replaced (registered values, key=, X-PAN-KEY
// and API-key-shaped values) but author patterns left alone. It keeps no
// state, and is what replay.Options.Redact should be for a replayed run.
func (r *Redaction) Secrets(s string) string {
	return redactStatic(r.secrets.String(s))
}

// Command returns the command as a cassette records it. A command the
// caller gave a Shown form for (the engine does, with each substituted
// secret already replaced) keeps its literal text: only author patterns
// and the shape rules apply, so a secret that is also a word of a command
// ("debug") does not rewrite it. Without a Shown form, the CLI is
// redacted as any text.
func (r *Redaction) Command(cmd transports.Command) string {
	if cmd.Shown == "" {
		return r.String(cmd.CLI)
	}
	return r.byPatterns(redactStatic(cmd.Shown))
}

// String returns s with secrets and author patterns replaced. Author
// patterns are replaced consistently: a value seen before gets the same
// placeholder again.
func (r *Redaction) String(s string) string {
	return r.byPatterns(r.Secrets(s))
}

// byPatterns replaces the author patterns in s.
func (r *Redaction) byPatterns(s string) string {
	if len(r.res) == 0 {
		return s
	}
	spans := scan(s, r.res)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	r.mu.Lock()
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		v := s[sp.start:sp.end]
		ph, ok := r.seen[sp.pat][v]
		if !ok {
			ph = r.patterns[sp.pat].Name + "-" + strconv.Itoa(len(r.seen[sp.pat])+1)
			r.seen[sp.pat][v] = ph
		}
		b.WriteString(ph)
		last = sp.end
	}
	r.mu.Unlock()
	b.WriteString(s[last:])
	return b.String()
}

// Value returns a copy of v (nested map[string]any, []any, string) with
// every string redacted by String. Other values are returned as they are.
func (r *Redaction) Value(v any) any {
	switch v := v.(type) {
	case string:
		return r.String(v)
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = r.Value(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = r.Value(x)
		}
		return s
	}
	return v
}

// staticRules redact what is a secret by its shape, whatever its value.
var staticRules = []struct {
	re   *regexp.Regexp
	repl string
}{
	// key=..., password=... in a URL query or a form body.
	{regexp.MustCompile(`(?i)((?:^|[?&;\s"'])(?:key|api_key|apikey|password|passwd)=)[^&\s"'<>]+`), "${1}" + secret.Placeholder},
	// An X-PAN-KEY header, however it is printed.
	{regexp.MustCompile(`(?i)(x-pan-key"?\s*[:=]\s*"?)[^\s"'<>,}]+`), "${1}" + secret.Placeholder},
	// HTTP credentials: Authorization: Basic base64(user:password).
	{regexp.MustCompile(`(?i)(authorization"?\s*[:=]\s*"?(?:basic|bearer)\s+)[^\s"'<>,}]+`), "${1}" + secret.Placeholder},
	// PAN-OS API keys are base64 and start with LUFRPT.
	{regexp.MustCompile(`LUFRPT[A-Za-z0-9+/]{8,}={0,2}`), secret.Placeholder},
}

func redactStatic(s string) string {
	if !mayHoldStatic(s) {
		return s
	}
	for _, r := range staticRules {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// mayHoldStatic reports whether a staticRules regexp could match s: every
// match holds "key", "passw" or "authorization" (any case) or "LUFRPT". It
// answers true for any non-ASCII text, which (?i) folding could make match
// (the Kelvin sign is a k), so skipping the regexps never changes a result;
// it spares a regexp pass over every replayed command that holds none.
func mayHoldStatic(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !staticStart[c] {
			continue
		}
		if c >= 0x80 {
			return true
		}
		switch c | 0x20 {
		case 'k':
			if i+3 <= len(s) && s[i+1]|0x20 == 'e' && s[i+2]|0x20 == 'y' {
				return true
			}
		case 'p':
			if i+5 <= len(s) && strings.EqualFold(s[i:i+5], "passw") {
				return true
			}
		case 'a':
			if i+13 <= len(s) && strings.EqualFold(s[i:i+13], "authorization") {
				return true
			}
		case 'l':
			if strings.HasPrefix(s[i:], "LUFRPT") {
				return true
			}
		}
	}
	return false
}

// staticStart is the bytes mayHoldStatic looks further at: the first
// letters of its words in either case, and every byte of non-ASCII text.
var staticStart = func() (t [256]bool) {
	for _, c := range "kKpPaAlL" {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// span is one match of pattern pat in a string.
type span struct{ start, end, pat int }

// scan finds the matches of res in s, leftmost first; at the same start the
// earlier regexp wins. Overlapping matches are dropped. A regexp with a
// capturing group contributes its first group's text.
func scan(s string, res []*regexp.Regexp) []span {
	var all []span
	for i, re := range res {
		for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
			st, en := m[0], m[1]
			if len(m) >= 4 && m[2] >= 0 {
				st, en = m[2], m[3]
			}
			if en > st {
				all = append(all, span{st, en, i})
			}
		}
	}
	if len(all) < 2 {
		return all
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].start != all[j].start {
			return all[i].start < all[j].start
		}
		return all[i].pat < all[j].pat
	})
	out := all[:0]
	end := 0
	for _, sp := range all {
		if sp.start >= end {
			out = append(out, sp)
			end = sp.end
		}
	}
	return out
}

// token is one placeholder (recorded side) or pattern value (incoming side)
// in a command.
type token struct {
	pat   int
	id    int // placeholder number; -1 for a value that is not a placeholder
	value string
}

// shape is a command with its placeholders and pattern values cut out.
type shape struct {
	skel   string
	tokens []token
}

// matcher compares incoming commands with recorded, redacted ones. A
// placeholder NAME-N in the cassette matches any text pattern NAME matches
// (or the placeholder itself, when the run replays the cassette's redacted
// params), as long as N always stands for the same text.
type matcher struct {
	redact func(string) string
	names  []string
	phRes  []*regexp.Regexp // placeholders, for recorded commands
	inRes  []*regexp.Regexp // placeholders then patterns, for incoming ones
	bind   []map[int]string // per pattern: placeholder number -> value
	rev    []map[string]int // per pattern: value -> placeholder number
}

func newMatcher(info RedactionInfo, redact func(string) string) (*matcher, error) {
	ps, err := CompilePatterns(info.Patterns)
	if err != nil {
		return nil, err
	}
	m := &matcher{redact: redact}
	for _, p := range ps {
		if !patternName.MatchString(p.Name) {
			return nil, fmt.Errorf("redaction: pattern name %q must be letters, digits and _ and start with a letter", p.Name)
		}
		m.names = append(m.names, p.Name)
		m.phRes = append(m.phRes, regexp.MustCompile(`\b`+regexp.QuoteMeta(p.Name)+`-\d+\b`))
		m.bind = append(m.bind, map[int]string{})
		m.rev = append(m.rev, map[string]int{})
	}
	m.inRes = append(append([]*regexp.Regexp(nil), m.phRes...), make([]*regexp.Regexp, len(ps))...)
	for i, p := range ps {
		m.inRes[len(ps)+i] = p.Regexp
	}
	return m, nil
}

// display is the incoming command as error messages show it: secrets
// redacted, customer values left as the operator typed them.
func (m *matcher) display(s string) string {
	if m.redact != nil {
		s = m.redact(s)
	}
	return redactStatic(s)
}

func (m *matcher) recorded(s string) shape {
	if len(m.names) == 0 {
		return shape{skel: s}
	}
	return m.cut(s, scan(s, m.phRes), true)
}

func (m *matcher) incoming(s string) shape {
	s = m.display(s)
	if len(m.names) == 0 {
		return shape{skel: s}
	}
	return m.cut(s, scan(s, m.inRes), false)
}

func (m *matcher) cut(s string, spans []span, recorded bool) shape {
	if len(spans) == 0 {
		return shape{skel: s}
	}
	k := len(m.names)
	var b strings.Builder
	sh := shape{tokens: make([]token, 0, len(spans))}
	last := 0
	for _, sp := range spans {
		pat, isPH := sp.pat, recorded || sp.pat < k
		if pat >= k {
			pat -= k
		}
		v := s[sp.start:sp.end]
		t := token{pat: pat, id: -1, value: v}
		if isPH {
			t.id, _ = strconv.Atoi(v[strings.LastIndexByte(v, '-')+1:])
		}
		b.WriteString(s[last:sp.start])
		b.WriteString("\x00" + strconv.Itoa(pat) + "\x00")
		last = sp.end
		sh.tokens = append(sh.tokens, t)
	}
	b.WriteString(s[last:])
	sh.skel = b.String()
	return sh
}

// errBinding says a command matched a recorded one but for the value a
// placeholder stands for.
var errBinding = errors.New("a placeholder would stand for two different values")

// match reports whether incoming command in matches recorded command rec,
// and returns the bindings a match would add.
func (m *matcher) match(rec, in shape) ([]token, error) {
	if rec.skel != in.skel || len(rec.tokens) != len(in.tokens) {
		return nil, ErrMismatch
	}
	var add []token
	for i, rt := range rec.tokens {
		it := in.tokens[i]
		if it.id >= 0 { // the run sent the placeholder itself
			if it.id != rt.id {
				return nil, ErrMismatch
			}
			continue
		}
		v, bound := m.bind[rt.pat][rt.id]
		id, seen := m.rev[rt.pat][it.value]
		for _, a := range add {
			if a.pat == rt.pat && a.id == rt.id {
				v, bound = a.value, true
			}
			if a.pat == rt.pat && a.value == it.value {
				id, seen = a.id, true
			}
		}
		if (bound && v != it.value) || (seen && id != rt.id) {
			return nil, errBinding
		}
		if !bound {
			add = append(add, token{pat: rt.pat, id: rt.id, value: it.value})
		}
	}
	return add, nil
}

func (m *matcher) commit(add []token) {
	for _, a := range add {
		m.bind[a.pat][a.id] = a.value
		m.rev[a.pat][a.value] = a.id
	}
}
