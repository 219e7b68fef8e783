package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/transports"
)

// planCleanup makes every cleanup: entry pending, now that the transport
// is open, and journals the ones it can render already, so `runbook
// cleanup` knows them even if the engine dies. An entry with a when:, or
// whose rendering needs values not known yet, is rendered again at cleanup
// time. A plan that cannot be journaled stops the run before any step.
func (ru *run) planCleanup() error {
	env := ru.env(nil)
	var left []undoEntry
	for i, s := range ru.pb.Cleanup {
		if s.Run == nil {
			continue
		}
		e := undoEntry{key: cleanupKey(i), shown: s.Run.Src}
		if s.When == nil {
			if cmd, shown, err := ru.render(s.Run, env); err == nil {
				e.cmd, e.shown = cmd, shown
				if err := ru.j.Append(JournalEntry{Time: ru.now(), Event: evCleanupPlan, Key: e.key, Command: shown}); err != nil {
					return err
				}
				ru.cleanup = append(ru.cleanup, e)
			}
		}
		left = append(left, e)
	}
	ru.mu.Lock()
	ru.cleanups = left
	ru.mu.Unlock()
	return nil
}

// setCleanup updates the pending cleanup: entry key; done takes it off.
func (ru *run) setCleanup(e undoEntry, done bool) {
	ru.mu.Lock()
	defer ru.mu.Unlock()
	for k, c := range ru.cleanups {
		if c.key == e.key {
			if done {
				ru.cleanups = append(ru.cleanups[:k], ru.cleanups[k+1:]...)
			} else {
				ru.cleanups[k] = e
			}
			return
		}
	}
}

// runCleanup runs the undo stack, newest first, then the cleanup: section.
// Every entry is attempted even when one fails; a dropped connection is
// re-opened (bounded) so cleanup still reaches the device. An entry that
// fails, including one whose when: or command cannot be evaluated, stays
// pending: the run exits 3.
func (ru *run) runCleanup(ctx context.Context) {
	ru.mu.Lock()
	stack := append([]undoEntry(nil), ru.pending...)
	ru.mu.Unlock()
	if len(stack) > 0 || len(ru.pb.Cleanup) > 0 {
		ru.printf("cleanup: %d undo, %d cleanup\n", len(stack), len(ru.pb.Cleanup))
	}
	for i := len(stack) - 1; i >= 0; i-- {
		e := stack[i]
		rec := ru.cleanupOne(ctx, e)
		ru.m.Undo = append(ru.m.Undo, rec)
		if rec.Status == "ok" {
			ru.mu.Lock()
			for k, p := range ru.pending {
				if p.key == e.key {
					ru.pending = append(ru.pending[:k], ru.pending[k+1:]...)
					break
				}
			}
			ru.mu.Unlock()
		}
	}
	if !ru.connected { // never connected: nothing was sent, nothing to clean
		return
	}
	env := ru.env(nil)
	failed := func(e undoEntry, err error) {
		msg := ru.redact(err.Error())
		ru.printf("  cleanup: %s\n      FAILED: %s\n", e.shown, msg)
		ru.m.Cleanup = append(ru.m.Cleanup, CleanupRecord{Command: e.shown, Status: "failed", Error: msg, Time: ru.now()})
		ru.setCleanup(e, false)
	}
	for i, s := range ru.pb.Cleanup {
		key := cleanupKey(i)
		if s.Run == nil {
			continue
		}
		e := undoEntry{key: key, shown: s.Run.Src}
		if s.When != nil {
			ok, err := s.When.Bool(env)
			if err != nil {
				failed(e, fmt.Errorf("when: %w", err))
				continue
			}
			if !ok {
				ru.setCleanup(e, true)
				continue
			}
		}
		cmd, shown, err := ru.render(s.Run, env)
		if err != nil {
			failed(e, err)
			continue
		}
		e.cmd, e.shown = cmd, shown
		if !slices.Contains(ru.cleanup, e) {
			// Not journaled at the start (a when:, or a value captured
			// since): journaled now, before it is sent, so that
			// `runbook cleanup` finishes it as it is sent here. Not sent
			// if that fails.
			if err := ru.j.Append(JournalEntry{Time: ru.now(), Event: evCleanupPlan, Key: key, Command: shown}); err != nil {
				failed(e, fmt.Errorf("not sent: %w", err))
				continue
			}
		}
		rec := ru.cleanupOne(ctx, e)
		ru.m.Cleanup = append(ru.m.Cleanup, rec)
		ru.setCleanup(e, rec.Status == "ok")
	}
}

// cleanupOne runs one undo or cleanup command, re-opening the transport
// once (with bounded backoff) if the session was lost.
func (ru *run) cleanupOne(ctx context.Context, e undoEntry) CleanupRecord {
	what := "undo"
	if strings.HasPrefix(e.key, "cleanup-") {
		what = "cleanup"
	}
	ru.printf("  %s: %s\n", what, e.shown)
	rec := CleanupRecord{Command: e.shown, Time: ru.now()}
	var err error
	var text, via string
	if ru.tr == nil {
		if ru.unreachable != nil {
			// Re-opening already failed after its bounded attempts: the
			// remaining entries stay pending for `runbook cleanup`.
			err = ru.unreachable
		} else {
			err = ru.reopen(ctx)
		}
	}
	if err == nil {
		text, via, err = ru.cleanupSend(ctx, e)
		if err != nil && lostSession(err) && ctx.Err() == nil {
			if ru.unreachable != nil {
				err = fmt.Errorf("%w; %v", err, ru.unreachable)
			} else if rerr := ru.reopen(ctx); rerr == nil {
				text, via, err = ru.cleanupSend(ctx, e)
			} else {
				err = fmt.Errorf("%w; reconnect: %v", err, rerr)
			}
		}
	}
	rec.Transport = via // empty when it was never sent
	ru.seq++
	name := fmt.Sprintf("steps/%03d-cleanup-%s.txt", ru.seq, safeName(e.shown))
	if text != "" {
		if _, werr := ru.writeOutput(name, text); werr == nil {
			rec.Output = name
		}
	}
	if err != nil {
		rec.Status, rec.Error = "failed", ru.redact(err.Error())
		ru.printf("      FAILED: %s\n", rec.Error)
	} else {
		rec.Status = "ok"
		ru.printf("      ok\n")
	}
	if jerr := ru.j.Append(JournalEntry{Time: ru.now(), Event: evCleanupEntry, Key: e.key, Command: e.shown, Status: rec.Status, Error: rec.Error}); jerr != nil {
		// The command was sent; the journal still lists it as pending, so
		// `runbook cleanup` would only send it once more.
		rec.Note = "not journaled: " + jerr.Error()
		ru.printf("      %s\n", rec.Note)
	}
	return rec
}

func (ru *run) cleanupSend(ctx context.Context, e undoEntry) (text, via string, err error) {
	defer func() {
		if p := recover(); p != nil { // a bug must not stop the other entries
			err = fmt.Errorf("internal error (a bug: please report it): %v", p)
		}
	}()
	t := 30 * time.Second
	cctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	res, err := ru.tr.Run(cctx, transports.Command{CLI: e.cmd, Shown: e.shown, Timeout: t})
	return res.Text, ru.via(res.Transport), err
}

func lostSession(err error) bool {
	var ce *transports.ConnError
	return errors.Is(err, transports.ErrClosed) || errors.As(err, &ce)
}

// reopen replaces the transport, trying up to 3 times with backoff.
func (ru *run) reopen(ctx context.Context) error {
	if ru.tr != nil {
		_ = ru.tr.Close()
		ru.tr = nil
	}
	backoff := 500 * time.Millisecond
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var tr transports.Transport
		if tr, err = ru.o.Open(ctx); err == nil {
			ru.tr = tr
			ru.printf("      reconnected\n")
			return nil
		}
		if attempt < 3 {
			if serr := ru.clock.Sleep(ctx, backoff); serr != nil {
				return serr
			}
			backoff *= 2
		}
	}
	ru.unreachable = fmt.Errorf("cannot reconnect: %w", err)
	return ru.unreachable
}
