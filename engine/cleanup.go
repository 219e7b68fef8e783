package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// planCleanup puts every cleanup: entry in the ledger, through the
// journal, now that the transport is open: they are pending from the
// start, and `runbook cleanup` knows them even if the engine dies. An
// entry with a when:, or whose rendering needs values not known yet, is
// journaled held (its Hold says why) and decided at cleanup time. A plan
// that cannot be journaled stops the run before any step.
func (ru *run) planCleanup() error {
	env := ru.env(nil)
	for i, s := range ru.pb.Cleanup {
		if s.Run == nil {
			continue
		}
		e := JournalEntry{Time: ru.now(), Event: evCleanupPlan, Key: cleanupKey(i).String()}
		shown, send, err := ru.renderForms(cleanupForms(s), env)
		switch {
		case err != nil:
			shown, send = formSources(cleanupForms(s)), nil
			e.Hold = "its command needs values the run had not captured yet"
		case s.When != nil:
			send = nil
			e.Hold = fmt.Sprintf("its when: %s was not decided by the run", strings.TrimSpace(s.When.Src))
		}
		e.Command = shown[0]
		if len(shown) > 1 {
			e.Forms = shown
		}
		if err := ru.ledger.record(ru.j, e, send); err != nil {
			return err
		}
	}
	return nil
}

// cleanupForms are the forms of a cleanup: entry.
func cleanupForms(s *playbook.Step) []*playbook.Template { return s.Forms() }

// formSources are the forms as written, for an entry that cannot be
// rendered.
func formSources(forms []*playbook.Template) []string {
	out := make([]string, len(forms))
	for i, t := range forms {
		out[i] = t.Src
	}
	return out
}

// renderForms renders every form: shown to write down, send to send.
func (ru *run) renderForms(forms []*playbook.Template, env map[string]any) (shown, send []string, err error) {
	for _, t := range forms {
		real, sh, err := ru.render(t, env)
		if err != nil {
			return nil, nil, err
		}
		shown, send = append(shown, sh), append(send, real)
	}
	return shown, send, nil
}

// prepareCleanup decides a cleanup: entry just before it is sent: its
// when: (false records it skipped; an error is a recorded failure that
// keeps it pending, and held, for `runbook cleanup`), and its rendering
// with the values known now, journaled again if it changed so that
// `runbook cleanup` finishes it as it is sent here. Undo entries need no
// deciding.
func (ru *run) prepareCleanup(_ context.Context, p PendingEntry) (skip bool, err error) {
	if p.Key.Kind != KindCleanup || p.Key.Index >= len(ru.pb.Cleanup) {
		return false, nil
	}
	s := ru.pb.Cleanup[p.Key.Index]
	env := ru.env(nil)
	if s.When != nil {
		ok, err := s.When.Bool(env)
		if err != nil {
			// Journaled held with why, so that `runbook cleanup` still
			// finds it pending and leaves it to the operator.
			e := JournalEntry{Time: ru.now(), Event: evCleanupPlan, Key: p.Key.String(), Command: p.Command,
				Hold: fmt.Sprintf("its when: %s could not be evaluated in the run (%s)", strings.TrimSpace(s.When.Src), firstLine(ru.redact(err.Error())))}
			if len(p.Forms) > 1 {
				e.Forms = p.Forms
			}
			if jerr := ru.ledger.record(ru.j, e, p.send); jerr != nil {
				ru.problem("step", jerr)
			}
			return false, fmt.Errorf("when: %w", err)
		}
		if !ok {
			e := JournalEntry{Time: ru.now(), Event: evCleanupEntry, Key: p.Key.String(), Command: p.Command, Status: "skipped", Message: "when: false"}
			if err := ru.ledger.record(ru.j, e); err != nil {
				ru.problem("step", err)
			}
			return true, nil
		}
	}
	shown, send, err := ru.renderForms(cleanupForms(s), env)
	if err != nil {
		return false, err
	}
	if p.Hold == "" && slices.Equal(shown, p.Forms) && slices.Equal(send, p.send) {
		return false, nil
	}
	e := JournalEntry{Time: ru.now(), Event: evCleanupPlan, Key: p.Key.String(), Command: shown[0]}
	if len(shown) > 1 {
		e.Forms = shown
	}
	// Not sent if it cannot be journaled first.
	if err := ru.ledger.record(ru.j, e, send); err != nil {
		return false, fmt.Errorf("not sent: %w", err)
	}
	return false, nil
}

// runCleanup drains the ledger: the undo entries newest first, then the
// cleanup: section (ledger.go). Every entry is attempted even when one
// fails; a dropped connection is re-opened (bounded) so cleanup still
// reaches the device. An entry that fails, including one whose when: or
// command cannot be evaluated, stays pending: the run exits 3.
func (ru *run) runCleanup(ctx context.Context) {
	if !ru.connected { // never connected: nothing was sent, nothing to clean
		return
	}
	pending := ru.ledger.Pending()
	n := map[EntryKind]int{}
	for _, p := range pending {
		n[p.Key.Kind]++
	}
	ru.em.emit(Event{Type: EvCleanupStarted, UndoCount: n[KindUndo], CleanupCount: n[KindCleanup]})
	s := ru.session()
	d := &drainer{l: ru.ledger, j: ru.j, s: s, now: ru.now, redact: ru.redact,
		prepare: ru.prepareCleanup, output: ru.cleanupOutput, em: ru.em}
	for _, r := range d.drain(ctx) {
		if r.entry.Key.Kind == KindCleanup {
			ru.m.Cleanup = append(ru.m.Cleanup, r.rec)
		} else {
			ru.m.Undo = append(ru.m.Undo, r.rec)
		}
	}
	ru.tr, ru.unreachable = s.tr, s.unreachable
	ru.em.emit(Event{Type: EvCleanupEnded, Pending: ru.ledger.Shown()})
}

// cleanupOutput names the file that keeps what the device answered to a
// cleanup command, redacted: the folder writes it with the event that
// follows (drainer.send).
func (ru *run) cleanupOutput(p PendingEntry, text string) *FolderWrite {
	ru.seq++
	name := fmt.Sprintf("steps/%03d-cleanup-%s.txt", ru.seq, safeName(p.Command))
	return &FolderWrite{File: name, Output: []byte(ru.redact(text))}
}

// session is the run's transport as the ledger's reopen policy drives it.
func (ru *run) session() *session {
	return &session{open: ru.o.Open, tr: ru.tr, unreachable: ru.unreachable, clock: ru.clock, emit: ru.em.emit, transport: ru.o.Transport}
}

// reopen replaces the transport, as the ledger's policy does: up to 3
// times with backoff.
func (ru *run) reopen(ctx context.Context) error {
	s := ru.session()
	err := s.reopen(ctx)
	ru.tr, ru.unreachable = s.tr, s.unreachable
	return err
}
