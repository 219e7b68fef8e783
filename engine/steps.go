package engine

// This file runs the steps: each kind, repeats and retries, captures,
// outputs, and the undo registered as commands are sent.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/parse"
	"github.com/runbook-dev/runbook/transports"
)

func (ru *run) env(out *playbook.RunView) map[string]any {
	env := playbook.EnvOf(ru.params, ru.vars, ru.steps, ru.target, out)
	if ru.item != nil {
		playbook.WithItem(env, *ru.item)
	}
	for k, v := range ru.lets {
		env[k] = v
	}
	return env
}

// runSteps runs steps in order; it returns the error that stops the run.
func (ru *run) runSteps(ctx context.Context, steps []*playbook.Step) error {
	for _, s := range steps {
		if err := ru.runTop(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// runTop runs step s unless the run was stopped; it returns the error
// that stops the run.
func (ru *run) runTop(ctx context.Context, s *playbook.Step) error {
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return err
	}
	return ru.runStep(ctx, s)
}

// stepError is a step that failed, with its position.
type stepError struct {
	step *playbook.Step
	err  error
}

func (e *stepError) Error() string {
	return fmt.Sprintf("%s:%d: step %s: %v", e.step.File, e.step.Line, stepLabel(e.step), e.err)
}
func (e *stepError) Unwrap() error { return e.err }

func stepLabel(s *playbook.Step) string {
	if s.ID != "" {
		return s.ID
	}
	if s.Run != nil {
		return fmt.Sprintf("%q", s.Run.Src)
	}
	return string(s.Kind)
}

func (ru *run) runStep(ctx context.Context, s *playbook.Step) error {
	ru.reach(s)
	ru.last = lastSent{}
	// The lets first: the step's when and all the rest see them, with
	// the values of this moment. An undo is rendered from them as the
	// command is, before the first send, and journaled as rendered: a
	// `runbook cleanup` after a kill sends what this run would have.
	ru.lets, ru.letsShown = nil, nil
	if len(s.Lets) > 0 {
		env, err := s.Env(ru.env(nil))
		if err != nil {
			return ru.fail(s, err)
		}
		ru.lets = make(map[string]any, len(s.Lets))
		for _, lt := range s.Lets {
			ru.lets[lt.Name] = env[lt.Name]
		}
		ru.letsShown = shownLets(s.Lets, ru.lets, ru.redact)
		defer func() { ru.lets, ru.letsShown = nil, nil }()
	}
	if s.When != nil {
		ok, err := s.When.Bool(ru.env(nil))
		if err != nil {
			return ru.fail(s, fmt.Errorf("when: %w", err))
		}
		if !ok {
			ru.skip(s)
			return nil
		}
	}
	var err error
	switch s.Kind {
	case playbook.KindRun:
		err = ru.runCommand(ctx, s)
	case playbook.KindWait:
		err = ru.wait(ctx, s)
	case playbook.KindPrompt:
		err = ru.prompt(ctx, s)
	case playbook.KindNote:
		err = ru.note(s)
	case playbook.KindExport:
		err = ru.export(ctx, s)
	case playbook.KindIf:
		var ok bool
		ok, err = s.If.Bool(ru.env(nil))
		if err != nil {
			return ru.fail(s, fmt.Errorf("if: %w", err))
		}
		if ok {
			return ru.runSteps(ctx, s.Then)
		}
		return ru.runSteps(ctx, s.Else)
	default:
		err = fmt.Errorf("unknown step kind %q", s.Kind)
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || errors.Is(err, ErrAborted) {
		return err
	}
	if errors.Is(err, transports.ErrDiverged) {
		// A replay out of step with its cassette: going on would answer
		// every later command with the wrong output.
		return &stepError{step: s, err: err}
	}
	if goesOn(s, err) {
		ru.stepFailed(s, err)
	}
	if s.OnError == playbook.OnErrorContinue {
		ru.missed(s, err)
		ru.em.emit(Event{Type: EvStepContinued, Step: s.ID, Reason: ReasonOnErrorContinue, NotEvidence: s.NotEvidence})
		return nil
	}
	if errors.Is(err, transports.ErrNotOverAPI) && s.OnError == "" {
		// Refused for the way it came, not for what it asks: the note says
		// how to run it by hand, and the rest of the evidence is taken.
		// An author who wants a hard stop writes on_error: fail.
		ru.missed(s, err)
		ru.em.emit(Event{Type: EvStepContinued, Step: s.ID, Reason: ReasonNotOverAPI, NotEvidence: s.NotEvidence})
		return nil
	}
	if s.Kind == playbook.KindExport && s.OnError == "" {
		// A failed export does not cost the evidence still to come (the
		// other captures, the tech-support file): the run goes on, and
		// ends incomplete (exit 1) once every step ran; unless the export
		// takes no evidence (evidence: false): then nothing is missing and
		// the outcome does not change.
		if !s.NotEvidence {
			ru.exportFailed = append(ru.exportFailed, &stepError{step: s, err: err})
		}
		ru.missed(s, err)
		ru.em.emit(Event{Type: EvStepContinued, Step: s.ID, Reason: ReasonExportFailed, NotEvidence: s.NotEvidence})
		return nil
	}
	return &stepError{step: s, err: err}
}

func (ru *run) fail(s *playbook.Step, err error) error {
	return &stepError{step: s, err: err}
}

func (ru *run) skip(s *playbook.Step) { ru.skipBecause(s, "") }

// skipBecause records s as skipped; why, when given, is noted in the
// manifest and the summary.
func (ru *run) skipBecause(s *playbook.Step, why string) {
	if ru.pb.Keeps(s) {
		ru.steps[s.ID] = playbook.StepView{Skipped: true, Status: "skipped"}
	}
	now := ru.now()
	rec := StepRecord{ID: s.ID, Kind: string(s.Kind), Line: s.Line, Command: srcOf(s), Start: now, End: now, Status: "skipped", Note: why}
	ru.recordStep(Event{Type: EvStepSkipped, Step: s.ID, Kind: string(s.Kind), Name: describe(s), Reason: why}, &rec, "", "")
}

func srcOf(s *playbook.Step) string {
	if s.Run != nil {
		return s.Run.Src
	}
	return ""
}

func describe(s *playbook.Step) string {
	if s.Name != "" {
		return s.Name
	}
	switch {
	case s.Run != nil:
		return s.Run.Src
	case s.Export != nil:
		return "export " + s.Export.Category
	case s.Message != nil:
		return string(s.Kind) + ": " + firstLine(s.Message.Src)
	}
	return string(s.Kind)
}

// describeShown names a run step in a progress line: its name, else the
// command as shown (rendered, secrets as their references), never the
// template with its ${ }.
func describeShown(s *playbook.Step, shown string) string {
	if s.Name != "" || shown == "" {
		return describe(s)
	}
	return shown
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// runCommand runs a run step: repeat × until, captures, parse, undo.
func (ru *run) runCommand(ctx context.Context, s *playbook.Step) error {
	if s.ForEach != nil {
		return ru.runForEach(ctx, s)
	}
	var env map[string]any // what the step renders reads none: no environment to build
	if !literalStep(s) {
		env = ru.env(nil)
	}
	forms, err := ru.commands(s, env)
	if err != nil {
		return err
	}
	var undo []undoEntry
	if len(s.Undo) > 0 {
		// A step arms its undo once, at its first send; once it ended it
		// is not run again, and the run holds no step it is done with.
		defer delete(ru.armed, s)
	}
	for _, u := range s.Undo {
		shown, send, err := ru.renderForms(u, env)
		if err != nil {
			return fmt.Errorf("undo: %w", err)
		}
		undo = append(undo, undoEntry{cmd: send, shown: shown})
	}
	count, interval, err := repeatOf(s, env)
	if err != nil {
		return err
	}
	attempts := 1
	if s.Until != nil {
		attempts = s.Retry.Max
	}
	// What a pause of the step holds back: none for a step sent once.
	// at is which send of the step each is, with what it sends at each
	// run (its plan): none for a step sent once.
	var p *Pause
	var at *sendAt
	if count > 1 || s.Until != nil {
		p = ru.pauseOf(s, forms, undo, nil, count, interval)
		plan := *p
		if s.Until != nil {
			plan.Tries = attempts
		}
		at = &sendAt{plan: &plan, first: true}
	}
	for i := 1; i <= count; i++ {
		if p != nil { // pace is nothing for a step sent once
			p.Run, p.Try, p.Tries = i, 0, 0
			if err := ru.pace(ctx, s, p, interval, describeShown(s, forms[0].Shown)); err != nil {
				return ru.stoppedIn(ctx, s, p, err)
			}
		}
		for a := 1; ; a++ {
			if at != nil {
				at.run, at.try = i, 0
				if s.Until != nil {
					at.try = a
				}
			}
			out, err := ru.send(ctx, s, forms, undo, i, count, at)
			if err != nil {
				return ru.sendStopped(ctx, s, at, err)
			}
			if s.Until == nil {
				break
			}
			ok, err := s.Until.Bool(ru.env(&out))
			if err != nil {
				return fmt.Errorf("until: %w", err)
			}
			if ok {
				break
			}
			if a >= attempts {
				return ru.failedAfterSend(ctx, s, at, fmt.Errorf("until %s: still false after %d attempts", s.Until.Src, attempts))
			}
			p.Try, p.Tries = a+1, attempts
			if err := ru.sleep(ctx, s.Retry.Interval, fmt.Sprintf("retry %d/%d of %s", a+1, attempts, describe(s)), s, p); err != nil {
				return ru.stoppedIn(ctx, s, p, err)
			}
		}
	}
	return nil
}

// literalStep reports whether runCommand renders s without reading the
// environment: its command (every form), XML form, prompt answers and
// undo forms are literal text, and it has no repeat.
func literalStep(s *playbook.Step) bool {
	literal := func(ts ...*playbook.Template) bool {
		for _, t := range ts {
			if t != nil && !(len(t.Parts) == 1 && t.Parts[0].Expr == nil) {
				return false
			}
		}
		return true
	}
	if s.Repeat != nil || !literal(s.Run, s.XML) || !literal(s.OneOf...) {
		return false
	}
	for _, a := range s.Prompts {
		if !literal(a.Answer) {
			return false
		}
	}
	for _, u := range s.Undo {
		if !literal(u...) {
			return false
		}
	}
	return true
}

// commands renders the forms of the run step s (one, or its one_of), each
// with the step's prompt answers.
func (ru *run) commands(s *playbook.Step, env map[string]any) ([]transports.Command, error) {
	if s.OneOf == nil {
		cmd, err := ru.command(s, env)
		return []transports.Command{cmd}, err
	}
	var out []transports.Command
	for k, t := range s.OneOf {
		cli, shown, err := ru.render(t, env)
		if err != nil {
			return nil, fmt.Errorf("run one_of form %d: %w", k+1, err)
		}
		cmd := transports.Command{CLI: cli, Shown: shown, Timeout: ru.stepTimeout(s)}
		if cmd.Prompts, err = ru.answers(s, env); err != nil {
			return nil, err
		}
		out = append(out, cmd)
	}
	return out, nil
}

// command renders the command of the run step s: its CLI, XML form and
// prompt answers.
func (ru *run) command(s *playbook.Step, env map[string]any) (transports.Command, error) {
	cli, shown, err := ru.render(s.Run, env)
	if err != nil {
		return transports.Command{}, fmt.Errorf("run: %w", err)
	}
	cmd := transports.Command{CLI: cli, Shown: shown, Timeout: ru.stepTimeout(s)}
	if s.XML != nil {
		if cmd.XML, _, err = ru.render(s.XML, env); err != nil {
			return transports.Command{}, fmt.Errorf("xml: %w", err)
		}
	}
	if cmd.Prompts, err = ru.answers(s, env); err != nil {
		return transports.Command{}, err
	}
	return cmd, nil
}

// answers renders the prompt answers of s.
func (ru *run) answers(s *playbook.Step, env map[string]any) ([]transports.Prompt, error) {
	var out []transports.Prompt
	for _, a := range s.Prompts {
		ans, err := a.Answer.Render(env)
		if err != nil {
			return nil, fmt.Errorf("prompts: %w", err)
		}
		out = append(out, transports.Prompt{Pattern: a.Match, Answer: ans, Secret: true})
	}
	return out, nil
}

// repeatOf evaluates the repeat of s: how many runs, how far apart.
func repeatOf(s *playbook.Step, env map[string]any) (count int, interval time.Duration, err error) {
	count = 1
	if s.Repeat == nil {
		return count, 0, nil
	}
	if count, err = s.Repeat.Count.Eval(env); err != nil {
		return 0, 0, fmt.Errorf("repeat.count: %w", err)
	}
	if err := playbook.CheckCount(count); err != nil {
		return 0, 0, fmt.Errorf("repeat.count: %w", err)
	}
	if s.Repeat.Interval != nil {
		if interval, err = s.Repeat.Interval.Eval(env); err != nil {
			return 0, 0, fmt.Errorf("repeat.interval: %w", err)
		}
	}
	return count, interval, nil
}

func (ru *run) stepTimeout(s *playbook.Step) time.Duration {
	switch {
	case s.Timeout > 0:
		return s.Timeout
	case ru.o.StepTimeout > 0:
		return ru.o.StepTimeout
	case ru.pb.Timeout > 0:
		return ru.pb.Timeout
	}
	return 60 * time.Second
}

// send sends one command, trying its forms in order until the device
// accepts one (refused: the device's own error; a lost session or a
// timeout ends the attempt as it is), and records everything about it.
// A form the device refused earlier in the run is not sent again.
//
// at, set for a step of several sends, says which this is: journaled on
// its step-start (with the step's plan on the first), before it is sent.
func (ru *run) send(ctx context.Context, s *playbook.Step, forms []transports.Command, undo []undoEntry, i, count int, at *sendAt) (playbook.RunView, error) {
	ru.seq++
	seq := ru.seq
	for k := range forms {
		if forms[k].Shown == "" {
			forms[k].Shown = ru.redact(forms[k].CLI)
		}
	}
	cmd := forms[0]
	if len(undo) > 0 && !ru.armed[s] {
		// Journaled (fsynced) before the command is sent, and in the
		// ledger from then on: a crash after sending still leaves the undo
		// on record. Not sent if that fails.
		shownUndo := make([]Forms, len(undo))
		send := make([][]string, len(undo))
		for k, u := range undo {
			shownUndo[k], send[k] = u.shown, u.cmd
		}
		if err := ru.ledger.record(ru.j, JournalEntry{Time: ru.now(), Event: evUndoIntent, Seq: seq, Step: s.ID, Command: cmd.Shown, Undo: shownUndo}, send...); err != nil {
			return playbook.RunView{}, fmt.Errorf("not sent: %w", err)
		}
	}
	if len(undo) > 0 && !ru.armed[s] {
		shown := make([]string, len(undo))
		for k, u := range undo {
			shown[k] = ShowForms(u.shown)
		}
		ru.em.emit(Event{Type: EvUndoArmed, Seq: seq, Step: s.ID, Command: cmd.Shown, Undo: shown})
	}
	started := Event{Type: EvStepStarted, Seq: seq, Step: s.ID, Kind: string(s.Kind), Command: cmd.Shown, Item: ru.itemShown()}
	if count > 1 {
		started.Run, started.Runs = i, count
	}
	ru.em.emit(started)
	start := ru.now()
	je := JournalEntry{Time: start, Event: evStepStart, Seq: seq, Step: s.ID, Command: cmd.Shown, Item: ru.itemShown(), NotEvidence: s.NotEvidence}
	if s.Kind == playbook.KindExport {
		je.Kind = kindExport
	}
	if len(forms) > 1 && at == nil {
		// A step sent once: runbook cleanup names the forms not yet
		// tried of the one a kill or a stop cut short (oneOfLeft).
		je.Forms = make(Forms, len(forms))
		for k, f := range forms {
			je.Forms[k] = f.Shown
		}
	}
	if at != nil {
		je.Run, je.Try = at.run, at.try
		if len(at.plan.Sends) > 1 {
			je.ItemNo = at.item + 1
		}
		if at.first {
			plan := *at.plan
			plan.Run, plan.Try = at.run, at.try
			je.Plan = &plan
			at.first = false
		}
	}
	_ = ru.j.Append(je) // not durable
	var res transports.Result
	var err error
	var refused []RefusedForm
	accepted, tried := -1, 0
	resent := false
	for k, c := range forms {
		if why, ok := ru.ledger.refusal(c.Shown); ok && len(forms) > 1 {
			ru.em.emit(Event{Type: EvFormSkipped, Seq: seq, Step: s.ID, Form: k + 1, Forms: len(forms), Command: c.Shown, Error: why})
			refused = append(refused, RefusedForm{Form: k, Command: c.Shown, Error: why})
			continue
		}
		if tried > 0 {
			ru.em.emit(Event{Type: EvFormTried, Seq: seq, Step: s.ID, Form: k + 1, Forms: len(forms), Command: c.Shown})
		}
		tried++
		cmd = c
		res, err = ru.run1(ctx, c)
		if err != nil && errors.Is(err, transports.ErrNotSent) && ctx.Err() == nil {
			// The session was lost between two steps (a repeat's wait, a
			// server restarted): the device never saw this command.
			// Re-open (bounded) and send it, so the procedure goes on.
			if rerr := ru.reopen(ctx); rerr != nil {
				err = fmt.Errorf("%w; %v", err, rerr)
			} else {
				res, err = ru.run1(ctx, c)
				resent = true
			}
		}
		if err == nil {
			accepted = k
			if len(forms) > 1 {
				ru.em.emit(Event{Type: EvFormAccepted, Seq: seq, Step: s.ID, Form: k + 1, Forms: len(forms), Command: c.Shown})
			}
			break
		}
		if !Refused(err) || ctx.Err() != nil {
			break
		}
		words := ru.redact(refusalWords(err))
		refused = append(refused, RefusedForm{Form: k, Command: c.Shown, Error: words})
		if jerr := ru.ledger.record(ru.j, JournalEntry{Time: ru.now(), Event: evRefused, Seq: seq, Step: s.ID, Command: c.Shown, Error: words}); jerr != nil {
			ru.problem("step", jerr)
		}
		ru.em.emit(Event{Type: EvFormRefused, Seq: seq, Step: s.ID, Form: k + 1, Forms: len(forms), Command: c.Shown, Error: words})
	}
	if len(forms) > 1 && accepted < 0 && len(refused) == len(forms) {
		err = &RefusedError{Refused: refused}
	}
	// Refused because of the way it came (the XML API): the device did
	// not run it, so there is nothing to undo.
	notOverAPI := errors.Is(err, transports.ErrNotOverAPI)
	// Refused by the device's command parser: it did not run either.
	notRun := notOverAPI || errors.Is(err, transports.ErrUnknownCommand) || errors.Is(err, transports.ErrInvalidSyntax)
	if len(undo) > 0 && !ru.armed[s] && notRun {
		ru.armed[s] = true
		ru.undoNotNeeded(seq, undo)
	} else if len(undo) > 0 && !ru.armed[s] {
		ru.armed[s] = true
		if jerr := ru.j.Append(JournalEntry{Time: ru.now(), Event: evUndoArmed, Seq: seq, Step: s.ID}); jerr != nil && err == nil {
			// The intent is on record, so the undo is not lost; but a
			// journal that cannot be written must not see more debug.
			err = jerr
		}
	}
	end := ru.now()
	rec := StepRecord{Seq: seq, ID: s.ID, Kind: string(s.Kind), Line: s.Line, Command: cmd.Shown, Transport: ru.via(res.Transport), Start: start, End: end, Status: "ok", NotEvidence: s.NotEvidence}
	if len(forms) > 1 {
		rec.Refused = refused
		if accepted >= 0 {
			rec.AcceptedForm = &accepted
		}
	}
	if count > 1 {
		rec.Run = i
	}
	rec.Item = ru.itemShown()
	if resent {
		rec.Note = "the session was lost before this command was sent: sent on a re-opened session"
	}
	if err != nil {
		err = explain(err)
		rec.Status = "failed"
		shownUndo := make([]string, len(undo))
		for k, u := range undo {
			shownUndo[k] = ShowForms(u.shown)
		}
		shownForms := make([]string, len(forms))
		for k, f := range forms {
			shownForms[k] = f.Shown
		}
		ru.last.byHand = byHandForms(shownForms, shownUndo)
		ru.last.undo, ru.last.forms = shownUndo, shownForms
		switch {
		case notOverAPI && ctx.Err() == nil:
			rec.Status = "refused"
			rec.Note = notOverAPINote(cmd.Shown, shownUndo)
			ru.addNote(rec.Note, nil)
			ru.last.byHand = rec.Note
		case ctx.Err() != nil:
			rec.Status = stoppedStatus(ctx)
		case errors.Is(err, transports.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
			rec.Status = "timeout"
			if errors.Is(err, transports.ErrStoppedReading) {
				// Not an answer that was slow: the command could not be
				// written, and the operator should know the difference.
				err = fmt.Errorf("%w after %s: %w: the command could not be written, the session was dropped", transports.ErrTimeout, cmd.Timeout, transports.ErrStoppedReading)
			} else {
				err = fmt.Errorf("%w after %s", transports.ErrTimeout, cmd.Timeout)
			}
		}
		rec.Error = ru.redact(err.Error())
	}
	text := res.Text
	if err != nil && text == "" {
		text = "# " + rec.Status + ": " + err.Error() + "\n"
	}
	// Named from the shown command: a file name is never redacted later.
	name := stepFile(seq, fileLabel(s, cmd.Shown), ru.itemSuffix())
	out := playbook.RunView{Text: res.Text, Data: res.Data, Time: end, Item: ru.itemOr(), Form: max(accepted, 0)}
	if err == nil && s.Parse != "" {
		f, perr := parse.Parse(s.Parse, res.Text, res.Data)
		if perr != nil {
			rec.Note = "parse " + s.Parse + ": " + ru.redact(perr.Error())
		}
		out.Fields = f
	}
	if k := (stepItem{rec.ID, ru.itemOr()}); s.MayRunAgain() && rec.Command != "" {
		if _, ok := ru.firstCmd[k]; !ok {
			ru.firstCmd[k] = rec.Command
		}
	}
	_ = ru.j.Append(JournalEntry{Time: end, Event: evStepEnd, Seq: seq, Step: s.ID, Status: rec.Status, Error: rec.Error, Item: ru.itemShown(),
		Stopped: err != nil && ctx.Err() != nil && (s.Kind == playbook.KindRun || s.Kind == playbook.KindExport)}) // not durable
	// The folder writes the output and the record as it records
	// step-ended, before any other observer sees it.
	ru.recordStep(Event{Type: EvStepEnded, Seq: seq, Step: s.ID, Kind: string(s.Kind), Command: cmd.Shown, Item: rec.Item,
		Status: EventStatus(rec.Status), Error: rec.Error, Output: name, DurationMS: durMS(end.Sub(start))}, &rec, name, text)
	ru.record(s, out, rec.Status, rec.Error)
	ru.keepOutput(s.ID, rec.Output)
	if err != nil {
		return out, err
	}
	ru.satisfyUndo(seq, cmd.CLI)
	if err := ru.capture(s, out); err != nil {
		return out, err
	}
	return out, nil
}

// via is the transport a command went over: the part that answered, as
// the transport says, else the target's.
func (ru *run) via(part string) string {
	if part != "" {
		return part
	}
	return ru.o.Transport
}

// notOverAPINote tells the operator how to run by hand a command the
// device refused over the XML API, and its undo after.
func notOverAPINote(shown string, undo []string) string {
	msg := fmt.Sprintf("`%s` was not run: the firewall does not take it over the XML API, so what it turns on is missing from the evidence. "+
		"Run it on the firewall's CLI (SSH): `%s`", shown, shown)
	if len(undo) > 0 {
		msg += ", then `" + strings.Join(undo, "`, `") + "` once the evidence is taken"
	}
	return msg + "; or give the target both ways (transport: [ssh, xmlapi]) so that runbook sends it over SSH."
}

// undoNotNeeded records that the undo of the command journaled as seq is
// not needed: the device refused the command without running it. The
// journal says so, so `runbook cleanup` does not send it either.
func (ru *run) undoNotNeeded(seq int, undo []undoEntry) {
	for k, u := range undo {
		shown := ShowForms(u.shown)
		rec := CleanupRecord{Command: shown, Status: "ok", Time: ru.now(), Note: "not sent: the device refused the command it undoes"}
		if err := ru.ledger.record(ru.j, JournalEntry{Time: ru.now(), Event: evCleanupEntry, Key: undoKey(seq, k).String(), Command: shown, Status: "ok", Message: rec.Note}); err != nil {
			// Not on record as done: then it is still pending, and
			// undone at the end, harmlessly.
			ru.problem("step", err)
			continue
		}
		ru.m.Undo = append(ru.m.Undo, rec)
		ru.em.emit(Event{Type: EvUndoSatisfied, Seq: seq, Key: undoKey(seq, k).String(), Command: shown, Reason: ReasonCommandRefused})
	}
}

// satisfyUndo takes out of the ledger the pending undo entries that a
// command the playbook just ran successfully (seq) already did (a procedure that
// switches debug off itself, before exporting the capture): they are not
// sent again. An entry is satisfied when cli is the command of the form
// its cleanup would send first: its first form the device has not refused
// in this run. So a step `one_of: [a, b]` accepted with b (a refused)
// satisfies an undo `b`, `one_of: [a, b]` and `one_of: [b, a]`; accepted
// with a, it satisfies `a` and `one_of: [a, b]` but not `one_of: [b, a]`,
// whose cleanup would send b. seq is the step's, recorded as DoneBy.
func (ru *run) satisfyUndo(seq int, cli string) {
	for _, p := range ru.ledger.undoSending(cli) {
		if p.Key.Kind != KindUndo || len(p.send) != len(p.Forms) {
			continue
		}
		if p.Key.Seq == seq {
			// The undo of this very command (which leaves a switch as it
			// was found, say): only a later command does it.
			continue
		}
		first := -1
		for k, f := range p.Forms {
			if _, refused := p.Refused[f]; !refused {
				first = k
				break
			}
		}
		if first < 0 || p.send[first] != cli {
			continue
		}
		// Out of the ledger only once the journal says so: else it is
		// sent again at cleanup, which is harmless.
		e := JournalEntry{Time: ru.now(), Event: evCleanupEntry, Key: p.Key.String(), Command: p.Forms[first], Status: "ok", Message: "done by the playbook"}
		if err := ru.ledger.record(ru.j, e); err != nil {
			ru.problem("step", err)
			continue
		}
		ru.em.emit(Event{Type: EvUndoSatisfied, Key: p.Key.String(), Command: p.Forms[first], Reason: ReasonDoneByPlaybook})
		rec := CleanupRecord{Command: p.Forms[first], Status: "ok", Time: ru.now(), Note: "done by the playbook's own step", DoneBy: seq}
		if len(p.Forms) > 1 {
			rec.AcceptedForm = &first
		}
		ru.m.Undo = append(ru.m.Undo, rec)
	}
}

// record updates steps.<id> with one more run.
func (ru *run) record(s *playbook.Step, out playbook.RunView, status, errText string) {
	if !ru.pb.Keeps(s) {
		// Nothing can ask for it: its output and record are in the folder.
		return
	}
	v := ru.view(s.ID)
	v.Ran, v.Skipped = true, false
	v.Status, v.OK, v.Error = status, status == "ok", errText
	v.Text, v.Data, v.Fields, v.Form = out.Text, out.Data, out.Fields, out.Form
	v.Runs = append(v.Runs, out)
	if ru.item != nil {
		v.Items = recordItem(v.Items, out, status, errText)
	}
	ru.steps[s.ID] = v
}

// notRun is steps.<id> of a step that did not run (yet), shared.
var notRun any = playbook.StepView{}

// view is steps.<id> (the zero view for an id the run does not keep).
func (ru *run) view(id string) playbook.StepView {
	v, _ := ru.steps[id].(playbook.StepView)
	return v
}

// readSteps is the views of the steps the playbook reads, for EndState.
func (ru *run) readSteps() map[string]playbook.StepView {
	out := map[string]playbook.StepView{}
	for id := range ru.steps {
		if ru.pb.ReadsStep(id) {
			out[id] = ru.view(id)
		}
	}
	return out
}

func (ru *run) capture(s *playbook.Step, out playbook.RunView) error {
	for _, c := range s.Captures {
		var val string
		if c.Regex != nil {
			m := c.Regex.FindStringSubmatch(out.Text)
			switch {
			case m == nil:
				continue
			case len(m) > 1:
				val = m[1]
			default:
				val = m[0]
			}
		} else {
			v, err := c.Expr.Eval(ru.env(&out))
			if err != nil {
				return fmt.Errorf("capture %s: %w", c.Name, err)
			}
			if v == nil {
				continue
			}
			val = fmt.Sprint(v)
		}
		ru.vars[c.Name] = val
		if val != "" {
			ru.em.emit(Event{Type: EvCapture, Step: s.ID, Name: c.Name, Value: ru.redact(val)})
		}
	}
	return nil
}

// safeByte reports whether c may stay in a file name as it is.
func safeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// SafeName reduces s to a name safe in a file name: [A-Za-z0-9._-], at
// most 60 characters ("x" when nothing is left). Run folders and step
// output files are named with it.
func SafeName(s string) string { return safeName(s) }

func safeName(s string) string {
	s = strings.Trim(replaceUnsafe(s), "-.")
	if s == "" {
		return "x"
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// replaceUnsafe replaces each run of bytes other than a-z, A-Z, 0-9, '.',
// '_' and '-' in s by one '-' (as the regexp [^a-zA-Z0-9._-]+ did: every
// byte of a rune beyond ASCII, and every invalid one, is such a byte).
func replaceUnsafe(s string) string {
	i := 0
	for i < len(s) && safeByte(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for i < len(s) {
		if safeByte(s[i]) {
			b = append(b, s[i])
			i++
			continue
		}
		b = append(b, '-')
		for i < len(s) && !safeByte(s[i]) {
			i++
		}
	}
	return string(b)
}

// stepFile is the output file of the step of sequence number seq, as
// fmt.Sprintf("steps/%03d-%s.txt", seq, label+suffix) names it.
func stepFile(seq int, label, suffix string) string {
	if seq < 0 {
		return fmt.Sprintf("steps/%03d-%s.txt", seq, label+suffix)
	}
	// On the stack for a usual name: the one allocation is the string.
	var buf [64]byte
	b := append(buf[:0], "steps/"...)
	if seq < 100 {
		b = append(b, '0')
	}
	if seq < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, '-')
	b = append(b, label...)
	b = append(b, suffix...)
	b = append(b, ".txt"...)
	return string(b)
}

func fileLabel(s *playbook.Step, cli string) string {
	if s.ID != "" {
		return safeName(s.ID)
	}
	f := strings.Fields(cli)
	if len(f) > 5 {
		f = f[:5]
	}
	return safeName(strings.Join(f, "-"))
}

// stepItem names a step, and the item of a for_each step.
type stepItem struct{ id, item string }

// recordStep hands e to the run folder carrying rec, the step's record,
// and, when file is set, text, the output to write there (redacted
// here); then to the other observers. The folder keeps the record (the
// engine keeps only what later needs: the first `show clock`). What the
// folder could not write is a problem emitted before e: an output file of
// the step (e and rec then name none), a record of the run.
func (ru *run) recordStep(e Event, rec *StepRecord, file, text string) {
	if rec.Lets == nil {
		rec.Lets = ru.letsShown
	}
	// One FolderWrite and record, reused (the folder keeps neither past
	// Record): a step costs no allocation for them.
	ru.wrec = *rec
	ru.w = FolderWrite{Step: &ru.wrec}
	w := &ru.w
	if file != "" {
		w.File, w.Output = file, []byte(ru.redact(text))
	}
	e.Write = w
	e, err := ru.em.record(e)
	oe, rest := splitOutput(err)
	switch {
	case oe != nil:
		ru.problem("step", oe)
		e.Output = ""
	case file != "":
		rec.Output = file
	}
	if rest != nil {
		ru.problem("run", fmt.Errorf("recording step %d: %w", rec.Seq, rest))
	}
	if ru.clock0 == nil && rec.Command == "show clock" && rec.Status == "ok" && rec.Output != "" {
		c := strings.TrimSpace(string(w.Output))
		ru.clock0 = &c
	}
	if rec.Status != "skipped" {
		ru.last.rec, ru.last.set = *rec, true
	}
	w.Output = nil // the run keeps no output once the step ended
	ru.em.publish(e)
}

// sleep waits d between wait and wait-ended; nothing when d is not
// positive. p, when the wait is a pause of step s, is what it holds back
// (journaled with it).
func (ru *run) sleep(ctx context.Context, d time.Duration, why string, s *playbook.Step, p *Pause) error {
	if d <= 0 {
		return nil
	}
	return ru.waitFor(ctx, d, why, nil, s, p)
}

// pauseOf is what a pause of the run step s holds back, before its
// runs: the commands it sends at each run (forms, or one per item of a
// for_each), its undo, its repeat; the caller sets the run and try.
func (ru *run) pauseOf(s *playbook.Step, forms []transports.Command, undo []undoEntry, items []string, count int, interval time.Duration) *Pause {
	p := &Pause{Runs: count, IntervalMS: interval.Milliseconds(), NotEvidence: s.NotEvidence}
	if s.Until != nil {
		p.Until, p.RetryMS = strings.TrimSpace(s.Until.Src), s.Retry.Interval.Milliseconds()
	}
	shown := func(c transports.Command) string {
		if c.Shown != "" {
			return c.Shown
		}
		return ru.redact(c.CLI)
	}
	if items == nil {
		send := PauseSend{}
		for _, f := range forms {
			send.Forms = append(send.Forms, shown(f))
		}
		p.Sends = []PauseSend{send}
	} else {
		for k, it := range items {
			p.Sends = append(p.Sends, PauseSend{Item: ru.redact(it), Forms: []string{shown(forms[k])}})
		}
	}
	for _, u := range undo {
		p.Undo = append(p.Undo, ShowForms(u.shown))
	}
	return p
}

// dropRefused takes out of pause p the forms of a one_of the device
// refused in this run: the runs the pause holds back would not send them,
// nor should the operator. A command whose every form was refused keeps
// them all.
func (ru *run) dropRefused(p *Pause) { dropForms(p, ru.refused) }

// refused says whether the device refused form f (as shown) in this run
// folder.
func (ru *run) refused(f string) bool {
	_, refused := ru.ledger.refusal(f)
	return refused
}

// goesOn says whether the run goes on after step s failed with err (not
// stopped): the step says on_error: continue, or the command was refused
// over the XML API and the step does not say on_error: fail (runStep).
func goesOn(s *playbook.Step, err error) bool {
	return s.OnError == playbook.OnErrorContinue || (errors.Is(err, transports.ErrNotOverAPI) && s.OnError == "")
}

// sendStopped returns err, the error of the send at of step s; when it
// stops the run there (a signal, --timeout, or a failure the step does
// not go on after), the runs of the step not taken are missing evidence
// first (sendMissing: the rule runbook cleanup follows for a send the
// kill cut short). When the run goes on after it (on_error: continue, a
// command refused over the XML API), missed lists the same: the step
// sends nothing after a failed send. A step sent once has no at: stopped
// while its command is in flight (a signal, --timeout), that command is
// missing, by the same rule (its plan: the form in flight, then the
// forms of its one_of not yet tried, sent once: oneOfLeft);
// its failure is listed as before (missed), or not at all when it stops
// the run.
func (ru *run) sendStopped(ctx context.Context, s *playbook.Step, at *sendAt, err error) error {
	if !ru.last.set {
		return err
	}
	if at == nil {
		if r := ru.last.rec; ctx.Err() != nil && r.Status != "ok" {
			forms := oneOfLeft(ru.last.forms, ru.refused)
			ru.m.Missing = append(ru.m.Missing, sendMissing(s.ID, oneSend(forms, r.Item, ru.last.undo, s.NotEvidence), sendAt{run: 1}, r.Seq, r.Status, r.Error)...)
		}
		return err
	}
	r := ru.last.rec
	if r.Status == "ok" && ctx.Err() == nil {
		return ru.failedAfterSend(ctx, s, at, err) // the command ran; the step failed after it (a capture)
	}
	ru.dropRefused(at.plan)
	if ctx.Err() == nil && goesOn(s, err) {
		// The run goes on: missed lists these, not the failed send alone
		// (unless it is all that is missing). The step sends nothing
		// after a failed send, so the runs (items) after it are missing.
		ru.last.missing = failedMissing(s.ID, at.plan, *at, r.Seq, r.Status, r.Error)
		return err
	}
	ru.m.Missing = append(ru.m.Missing, sendMissing(s.ID, at.plan, *at, r.Seq, r.Status, r.Error)...)
	return err
}

// failedAfterSend returns err, the error of step s after its send at
// was taken (its until: never held, a capture failed). When the run goes
// on after it (on_error: continue), missed lists that send with err,
// then the runs and items after it (sendMissing; none when it was the
// last), as runbook cleanup does from the journal's step-failed.
func (ru *run) failedAfterSend(ctx context.Context, s *playbook.Step, at *sendAt, err error) error {
	if ctx.Err() != nil || s.OnError != playbook.OnErrorContinue || !ru.last.set || at == nil {
		return err
	}
	ru.dropRefused(at.plan)
	ru.last.after = sendMissing(s.ID, at.plan, *at, 0, failedAfter, ru.redact(err.Error()))
	return err
}

// stepFailed journals that the run step s, which sent a command, failed
// with err and the run goes on after it (step-failed, with the seq of
// its last send), so that runbook cleanup lists what the run lists of it
// (missed), also when no step came after it.
func (ru *run) stepFailed(s *playbook.Step, err error) {
	if s.Kind != playbook.KindRun || !ru.last.set || s.NotEvidence {
		return
	}
	_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evStepFailed, Seq: ru.last.rec.Seq, Step: s.ID, Error: ru.redact(err.Error())}) // not durable
}

// stoppedIn returns err, the error of a pause p of step s; when the run
// was stopped in it (a signal, --timeout), the runs it holds back are
// missing evidence first (pauseMissing: the rule runbook cleanup follows
// for a pause the kill cut short).
func (ru *run) stoppedIn(ctx context.Context, s *playbook.Step, p *Pause, err error) error {
	if ctx.Err() != nil {
		ru.m.Missing = append(ru.m.Missing, pauseMissing(s.ID, p, pauseStopper(stoppedStatus(ctx)))...)
	}
	return err
}

// waitFor waits d (none when it is not positive) between wait and
// wait-ended. rec, set for a wait step, is its record: completed (its
// end and status) and handed to the folder with wait-ended, so a wait
// step emits both events even when nothing is left to wait. p, set for a
// pause of step s, is what the pause holds back, journaled with it.
func (ru *run) waitFor(ctx context.Context, d time.Duration, why string, rec *StepRecord, s *playbook.Step, p *Pause) error {
	d = max(d, 0)
	_, virtual := ru.clock.(*virtualClock)
	start := ru.now()
	deadline := start.Add(d)
	if d > 0 { // journaled before it is shown: a kill from now on cuts a wait short
		if rec != nil {
			start = rec.Start
		}
		step := ""
		if s != nil {
			step = s.ID
		}
		ru.dropRefused(p)
		ru.j.waitStarted(start, d, why, rec, step, p)
	}
	ru.em.emit(Event{Type: EvWait, Message: why, DurationMS: durMS(d), Deadline: &deadline, Virtual: virtual})
	var err error
	if d > 0 {
		err = ru.clock.Sleep(ctx, d)
	}
	status := "ok"
	if err != nil {
		status = stoppedStatus(ctx)
	}
	if d > 0 {
		ru.j.waitEnded(ru.now(), status)
	}
	ended := Event{Type: EvWaitEnded, Status: EventStatus(status)}
	if rec == nil {
		ru.em.emit(ended)
		return err
	}
	rec.End, rec.Status = ru.now(), status
	ru.recordStep(ended, rec, "", "")
	return err
}

func (ru *run) wait(ctx context.Context, s *playbook.Step) error {
	d, err := s.Wait.Eval(ru.env(nil))
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	msg := ""
	if s.Message != nil {
		if _, msg, err = ru.render(s.Message, ru.env(nil)); err != nil {
			return err
		}
	}
	left, err := ru.waitTogether(ctx, s, d)
	if err != nil {
		return err
	}
	rec := StepRecord{ID: s.ID, Kind: "wait", Line: s.Line, Start: ru.now(), Note: fmt.Sprintf("wait %s %s", d, msg)}
	return ru.waitFor(ctx, left, msg, &rec, nil, nil)
}

// stoppedStatus is the status of a step the run's context cut short:
// "timeout" when the run's --timeout passed, else "interrupted" (a signal).
func stoppedStatus(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), ErrRunTimeout) {
		return "timeout"
	}
	return "interrupted"
}

func (ru *run) prompt(ctx context.Context, s *playbook.Step) error {
	_, msg, err := ru.render(s.Message, ru.env(nil))
	if err != nil {
		return fmt.Errorf("prompt: %w", err)
	}
	start := ru.now()
	rec := StepRecord{ID: s.ID, Kind: "prompt", Line: s.Line, Start: start, Note: msg}
	if ru.o.Yes {
		ru.em.emit(Event{Type: EvPrompt, Step: s.ID, Message: msg, Auto: true})
		rec.Status, rec.End = "auto-continued", ru.now()
		ru.recordStep(Event{Type: EvPromptAnswered, Step: s.ID, Status: EvAutoContinued, Auto: true}, &rec, "", "")
		_ = ru.j.Append(JournalEntry{Time: start, Event: evPrompt, Step: s.ID, Message: msg, Status: "auto-continued"})
		return nil
	}
	ru.em.emit(Event{Type: EvPrompt, Step: s.ID, Message: msg, DurationMS: durMS(s.PromptTimeout)})
	ok, with, err := ru.ask(ctx, s, msg, s.PromptTimeout)
	answered := Event{Type: EvPromptAnswered, Step: s.ID}
	if len(with) > 0 {
		answered.Reason, answered.With = ReasonCaseAnswer, with
	}
	switch {
	case errors.Is(err, ErrPromptTimeout) && s.Default == "continue":
		ok, err = true, nil
		rec.Status = "timed-out-continued"
	case errors.Is(err, ErrPromptTimeout):
		ok, err = false, nil
	case err != nil:
		return err
	}
	if !ok {
		rec.Status = "aborted"
	} else if rec.Status == "" {
		rec.Status = "continued"
	}
	answered.Status = EventStatus(rec.Status)
	// The folder records the step with the answer.
	rec.End = ru.now()
	ru.recordStep(answered, &rec, "", "")
	_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evPrompt, Step: s.ID, Message: msg, Status: rec.Status})
	if !ok {
		return ErrAborted
	}
	return nil
}

func (ru *run) note(s *playbook.Step) error {
	_, msg, err := ru.render(s.Message, ru.env(nil))
	if err != nil {
		return fmt.Errorf("note: %w", err)
	}
	now := ru.now()
	ru.addNote(msg, &StepRecord{ID: s.ID, Kind: "note", Line: s.Line, Start: now, End: now, Status: "ok", Note: msg})
	return nil
}

// addNote records msg, whose values are already redacted (render); rec,
// set for a note step, is its record, which the folder records with the
// note.
func (ru *run) addNote(msg string, rec *StepRecord) {
	ru.m.Notes = append(ru.m.Notes, msg)
	if rec == nil {
		ru.em.emit(Event{Type: EvNote, Message: msg})
	} else {
		ru.recordStep(Event{Type: EvNote, Message: msg}, rec, "", "")
	}
	_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evNote, Message: msg})
}

// problem emits err as a problem of scope "run" or "step", redacted: an
// error may quote device text.
func (ru *run) problem(scope string, err error) {
	ru.em.emit(Event{Type: EvProblem, Scope: scope, Message: ru.redact(err.Error())})
}

// run1 sends cmd once on the current transport, bounded by its timeout.
// With no transport (a reconnect failed earlier, a step with on_error:
// continue went on) it re-opens one first, unless that already failed
// after its bounded attempts.
func (ru *run) run1(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	if ru.tr == nil {
		if ru.unreachable != nil {
			return transports.Result{}, fmt.Errorf("%w (%w)", ru.unreachable, transports.ErrNotSent)
		}
		if err := ru.reopen(ctx); err != nil {
			return transports.Result{}, err
		}
	}
	if in, ok := ru.tr.(transports.Instant); ok && in.Instant() && cmd.Timeout >= instantMin {
		// Its Run is over before such a deadline could fire: it keeps
		// cmd.Timeout itself, and the timer it would need (a context,
		// a time.AfterFunc) is most of a replayed step's own cost.
		return ru.tr.Run(ctx, cmd)
	}
	cctx, cancel := context.WithTimeout(ctx, cmd.Timeout)
	defer cancel()
	return ru.tr.Run(cctx, cmd)
}

// instantMin is the shortest command timeout run1 sends to an Instant
// transport without a deadline of its own. A shorter one could expire
// between context.WithTimeout and the ctx.Err() an Instant transport's
// Run begins with (a timeout of 1ns always does): those keep the
// deadline, so that such a command still times out as it did.
const instantMin = time.Second
