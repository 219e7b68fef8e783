package engine

import (
	"testing"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// TestLiteralStep: a run step is rendered without an environment only
// when nothing runCommand renders or evaluates before its send has an
// expression.
func TestLiteralStep(t *testing.T) {
	lit := func() *playbook.Template {
		return &playbook.Template{Src: "show a", Parts: []playbook.Part{{Lit: "show a"}}}
	}
	ex := func() *playbook.Template {
		return &playbook.Template{Src: "show ${ params.x }", Parts: []playbook.Part{{Lit: "show "}, {Expr: &playbook.Expr{Src: "params.x"}}}}
	}
	base := func() *playbook.Step {
		return &playbook.Step{Run: lit(), OneOf: playbook.OneOf{lit(), lit()}, XML: lit(),
			Prompts: []*playbook.Answer{{Answer: lit()}}, Undo: []playbook.OneOf{{lit()}, {lit(), lit()}}}
	}
	if !literalStep(base()) || !literalStep(&playbook.Step{Run: lit()}) {
		t.Fatal("a step of literal text only is not literal")
	}
	for name, change := range map[string]func(*playbook.Step){
		"run":     func(s *playbook.Step) { s.Run = ex() },
		"one_of":  func(s *playbook.Step) { s.OneOf[1] = ex() },
		"xml":     func(s *playbook.Step) { s.XML = ex() },
		"prompts": func(s *playbook.Step) { s.Prompts[0].Answer = ex() },
		"undo":    func(s *playbook.Step) { s.Undo[1][1] = ex() },
		"repeat":  func(s *playbook.Step) { s.Repeat = &playbook.Repeat{} },
		"empty":   func(s *playbook.Step) { s.Run = &playbook.Template{} },
	} {
		s := base()
		change(s)
		if literalStep(s) {
			t.Errorf("%s: a step with it is taken as literal", name)
		}
	}
}
