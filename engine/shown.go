package engine

import (
	"strings"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/secret"
)

// render renders t twice in one pass: real is what is sent to the device,
// shown is what is written down (journal, manifest, terminal, recording).
// In shown, each value interpolated by ${ } is redacted as device text is
// (secret.Redactor.String), and the literal text of the playbook is kept
// as written: a secret that happens to be a word of a command ("debug")
// never rewrites the command, and a secret of any length that was
// substituted is always hidden, as the whole value is the secret.
//
// The words of real that carry a secret are registered with the redactor:
// a device that echoes one of them ("Unknown command: zzsecretzz") has it
// hidden in its output too.
func (r *Runner) render(t *playbook.Template, env map[string]any) (real, shown string, err error) {
	if t == nil {
		return "", "", nil
	}
	if len(t.Parts) == 1 && t.Parts[0].Expr == nil {
		return t.Parts[0].Lit, t.Parts[0].Lit, nil // literal text, shown as written
	}
	var rb, sb strings.Builder
	for _, p := range t.Parts {
		if p.Expr == nil {
			rb.WriteString(p.Lit)
			sb.WriteString(p.Lit)
			continue
		}
		v, err := p.Expr.Eval(env)
		if err != nil {
			return "", "", err
		}
		s := playbook.FormatValue(v)
		rb.WriteString(s)
		sb.WriteString(r.redact(s))
	}
	real, shown = rb.String(), sb.String()
	if real != shown {
		r.registerEcho(real, shown)
	}
	return real, shown, nil
}

// registerEcho registers, as secrets, the words of real that are not words
// of shown: the words a secret was substituted into.
func (r *Runner) registerEcho(real, shown string) {
	kept := map[string]bool{}
	for _, w := range strings.Fields(shown) {
		kept[w] = true
	}
	for _, w := range strings.Fields(real) {
		if !kept[w] && !strings.Contains(w, secret.Placeholder) {
			r.o.Secrets.Redactor.Add(w)
		}
	}
}
