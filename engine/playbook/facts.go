package playbook

// This file holds what a run needs to know of the top-level steps before
// it runs the first: whether one prompts, the capture names, the steps it
// keeps. The loader gathers it as it decodes the steps, so a playbook
// whose steps are decoded again as the run reaches them (lazy.go) knows
// it without holding them; it is small, bounded by what the expressions
// read and by the steps that may run again, not by the number of steps.

import (
	"iter"
	"maps"
	"slices"
	"strings"
)

// KeptStep is a step (at any depth) a run keeps steps.<id> of: something
// reads it (ReadsStep), or it may run more than once (MayRunAgain).
type KeptStep struct {
	ID string
	// Parse is the parser of a step that may run again, whose runs make
	// the series of the manifest; "" for none, and for a step that runs
	// once, which makes no series.
	Parse string
}

// stepFacts is what a run needs of the steps before the first runs.
type stepFacts struct {
	// n is the number of steps, in the order of Walk.
	n int
	// prompt: some step is a prompt step.
	prompt bool
	// bounds: some repeat count, repeat interval or wait is an
	// expression (checkBounds reads the steps only then).
	bounds bool
	// captures are the capture names of the steps and of cleanup, sorted.
	captures []string
	// kept are the steps a run keeps, by id.
	kept []KeptStep
}

// factsBuilder gathers the stepFacts of the top-level steps as they are
// decoded, and gives each step its Order.
type factsBuilder struct {
	f stepFacts
	// again are the steps that may run again.
	again []KeptStep
}

func newFactsBuilder() *factsBuilder { return &factsBuilder{} }

// add adds the top-level step s (its branches with it) and, with number,
// sets the Order of each.
func (b *factsBuilder) add(s *Step, number bool) {
	Walk([]*Step{s}, func(s *Step) {
		b.f.n++
		if number {
			s.Order = b.f.n
		}
		b.f.prompt = b.f.prompt || s.Kind == KindPrompt
		b.f.bounds = b.f.bounds || s.Wait != nil && s.Wait.Expr != nil ||
			s.Repeat != nil && (s.Repeat.Count != nil && s.Repeat.Count.Expr != nil || s.Repeat.Interval != nil && s.Repeat.Interval.Expr != nil)
		if s.ID == "" {
			return
		}
		if s.MayRunAgain() {
			b.again = append(b.again, KeptStep{ID: s.ID, Parse: s.Parse})
		}
	})
}

// done returns the facts once the playbook compiled (its reads known) and
// every capture name is known; ids gives the id of every step of the
// top-level steps (at any depth, cleanup's not), each once.
func (b *factsBuilder) done(p *Playbook, captures map[string]captureDef, ids iter.Seq[string]) *stepFacts {
	f := b.f
	f.captures = slices.Sorted(maps.Keys(captures))
	f.kept = b.again
	again := map[string]bool{}
	for _, k := range b.again {
		again[k.ID] = true
	}
	for id := range ids {
		if !again[id] && p.ReadsStep(id) {
			f.kept = append(f.kept, KeptStep{ID: id})
		}
	}
	slices.SortFunc(f.kept, func(a, b KeptStep) int { return strings.Compare(a.ID, b.ID) })
	return &f
}

// MayRunAgain reports whether s can run more than once in a run: a
// repeat, a retry (until), or an item each (for_each).
func (s *Step) MayRunAgain() bool {
	return s.Repeat != nil || s.Until != nil || s.ForEach != nil
}

// Keeps reports whether a run of p keeps steps.<id> of s (a KeptStep):
// something reads it (ReadsStep), or it may run more than once
// (MayRunAgain), whose runs make its series. KeptSteps lists, before the
// steps run, the steps this says yes to.
func (p *Playbook) Keeps(s *Step) bool {
	return s.ID != "" && (p.ReadsStep(s.ID) || s.MayRunAgain())
}

// stepFacts returns the facts of p: gathered when it loaded, else (a
// Playbook built by hand) from its Steps.
func (p *Playbook) stepFacts() *stepFacts {
	if p.facts != nil {
		return p.facts
	}
	b := newFactsBuilder()
	caps := map[string]captureDef{}
	ids := map[string]Pos{}
	Walk(p.Steps, func(s *Step) {
		for _, c := range s.Captures {
			caps[c.Name] = captureDef{}
		}
		if s.ID != "" {
			ids[s.ID] = s.Pos
		}
	})
	Walk(p.Cleanup, func(s *Step) {
		for _, c := range s.Captures {
			caps[c.Name] = captureDef{}
		}
	})
	for _, s := range p.Steps {
		b.add(s, false) // a Playbook built by hand keeps what it says
	}
	return b.done(p, caps, maps.Keys(ids))
}

// NumberSteps gives the steps of a Playbook built by hand their Order, as
// Load gives a loaded playbook's: from 1, in the order of Walk over Steps
// (cleanup's stay 0). A playbook Load made, or one built by hand whose
// steps have an Order already, is left as it is. It writes the steps: call
// it before p is shared between runs (fleet.NewSync does).
func (p *Playbook) NumberSteps() {
	if p.facts != nil || p.lazy != nil {
		return
	}
	numbered := false
	Walk(p.Steps, func(s *Step) { numbered = numbered || s.Order != 0 })
	if numbered {
		return
	}
	n := 0
	Walk(p.Steps, func(s *Step) { n++; s.Order = n })
}

// HasPrompt reports whether a step of p (at any depth) is a prompt step.
func (p *Playbook) HasPrompt() bool { return p.stepFacts().prompt }

// CaptureNames are the capture names of p's steps and cleanup, sorted.
func (p *Playbook) CaptureNames() []string { return slices.Clone(p.stepFacts().captures) }

// KeptSteps are the steps (at any depth, cleanup not included) whose
// steps.<id> a run keeps: those something reads (ReadsStep) and those that
// may run again (MayRunAgain), by id.
func (p *Playbook) KeptSteps() []KeptStep { return slices.Clone(p.stepFacts().kept) }

// NumSteps is the number of p's steps at any depth (cleanup not
// included): the largest Order.
func (p *Playbook) NumSteps() int { return p.stepFacts().n }
