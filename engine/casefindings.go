package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// EndState is what one run's findings saw once it ended: the input of
// the findings of a case (playbook.Case), which read several runs. Params
// hold secrets as resolved: nothing rendered from it may be written
// without Redact.
type EndState struct {
	Params map[string]any
	Vars   map[string]string
	Steps  map[string]playbook.StepView
	Target playbook.TargetView
	// Redact removes the run's secrets from a text.
	Redact func(string) string
	// Outputs are the output files, in the end's run folder, of a step
	// (and item) a case finding names as evidence without a field; nil:
	// none.
	Outputs func(step, item string) []string
}

// EvalCase evaluates the findings of case c once every end ran: ends[i]
// is the state of the run of the i-th target (nil when nothing was sent
// to it), the first len(c.Ends) of which are the case's ends, in order.
// It returns the findings that fired, most severe first, and why the
// others could not be evaluated: every finding is left unevaluated when
// an end is missing (fewer targets than ends, or one that sent nothing).
func EvalCase(c *playbook.Case, ends []*EndState) (findings []FindingRecord, unevaluated []string) {
	findings = []FindingRecord{}
	if c == nil || len(c.Findings) == 0 {
		return findings, nil
	}
	if len(ends) < len(c.Ends) {
		return findings, []string{fmt.Sprintf("case: the run has %d targets, the case names %d ends (%s): no case finding was evaluated",
			len(ends), len(c.Ends), strings.Join(c.Ends, ", "))}
	}
	env := map[string]map[string]any{}
	byName := map[string]*EndState{}
	for i, name := range c.Ends {
		st := ends[i]
		if st == nil {
			return findings, []string{fmt.Sprintf("case: end %s (target %d of the run) sent nothing: no case finding was evaluated", name, i+1)}
		}
		byName[name] = st
		env[name] = playbook.Env(st.Params, st.Vars, st.Steps, st.Target, nil)
	}
	redact := func(s string) string {
		for _, name := range c.Ends {
			if r := byName[name].Redact; r != nil {
				s = r(s)
			}
		}
		return s
	}
	caseEnv := playbook.CaseEnv(env)
	for _, f := range c.Findings {
		caseEnv, err := f.Env(caseEnv)
		var ok bool
		if err == nil {
			ok, err = f.When.Bool(caseEnv)
		}
		if err != nil {
			unevaluated = append(unevaluated, fmt.Sprintf("%s: %s", f.ID, redact(err.Error())))
			continue
		}
		if !ok {
			continue
		}
		msg, err := f.Message.Render(caseEnv)
		if err != nil {
			msg = f.Message.Src
		}
		rec := FindingRecord{ID: f.ID, Severity: string(f.Severity), Message: redact(msg)}
		for _, ev := range f.Evidence {
			st := byName[ev.End]
			for _, r := range evidenceOf(ev, st.Steps[ev.Step], redact) {
				r.End, r.Target = ev.End, redact(st.Target.Name)
				if ev.Field == "" && st.Outputs != nil {
					r.Outputs = st.Outputs(ev.Step, r.Item)
				}
				rec.Evidence = append(rec.Evidence, r)
			}
		}
		findings = append(findings, rec)
	}
	sort.SliceStable(findings, func(i, j int) bool {
		return severityRank[playbook.Severity(findings[i].Severity)] < severityRank[playbook.Severity(findings[j].Severity)]
	})
	return findings, unevaluated
}
