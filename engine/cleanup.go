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

// planCleanup renders the cleanup: section once the transport is open and
// journals it, so `runbook cleanup` knows it even if the engine dies. An
// entry whose rendering needs values not known yet is rendered again at
// cleanup time.
func (ru *run) planCleanup() {
	env := ru.env(nil)
	for i, s := range ru.pb.Cleanup {
		if s.Run == nil || s.When != nil {
			continue
		}
		cmd, err := s.Run.Render(env)
		if err != nil {
			continue
		}
		e := undoEntry{key: cleanupKey(i), cmd: cmd}
		ru.cleanup = append(ru.cleanup, e)
		_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evCleanupPlan, Key: e.key, Command: cmd})
	}
}

// runCleanup runs the undo stack, newest first, then the cleanup: section.
// Every entry is attempted even when one fails; a dropped connection is
// re-opened (bounded) so cleanup still reaches the device.
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
	for i, s := range ru.pb.Cleanup {
		key := cleanupKey(i)
		if s.Run == nil {
			continue
		}
		if s.When != nil {
			ok, err := s.When.Bool(env)
			if err != nil || !ok {
				continue
			}
		}
		cmd, err := s.Run.Render(env)
		if err != nil {
			ru.m.Cleanup = append(ru.m.Cleanup, CleanupRecord{Command: s.Run.Src, Status: "failed", Error: err.Error(), Time: ru.now()})
			continue
		}
		if !slices.Contains(ru.cleanup, undoEntry{key: key, cmd: cmd}) {
			// Not journaled at the start (a when:, or a value captured
			// since): journaled now, before it is sent, so that
			// `runbook cleanup` finishes it as it is sent here.
			_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evCleanupPlan, Key: key, Command: cmd})
		}
		rec := ru.cleanupOne(ctx, undoEntry{key: key, cmd: cmd})
		ru.m.Cleanup = append(ru.m.Cleanup, rec)
		if rec.Status != "ok" {
			// Kept pending; a planned entry is also in the journal for
			// `runbook cleanup`.
			ru.mu.Lock()
			ru.pending = append([]undoEntry{{key: key, cmd: cmd}}, ru.pending...)
			ru.mu.Unlock()
		}
	}
}

// cleanupOne runs one undo or cleanup command, re-opening the transport
// once (with bounded backoff) if the session was lost.
func (ru *run) cleanupOne(ctx context.Context, e undoEntry) CleanupRecord {
	what := "undo"
	if strings.HasPrefix(e.key, "cleanup-") {
		what = "cleanup"
	}
	ru.printf("  %s: %s\n", what, e.cmd)
	rec := CleanupRecord{Command: e.cmd, Time: ru.now()}
	var err error
	var text string
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
		text, err = ru.cleanupSend(ctx, e.cmd)
		if err != nil && lostSession(err) && ctx.Err() == nil {
			if ru.unreachable != nil {
				err = fmt.Errorf("%w; %v", err, ru.unreachable)
			} else if rerr := ru.reopen(ctx); rerr == nil {
				text, err = ru.cleanupSend(ctx, e.cmd)
			} else {
				err = fmt.Errorf("%w; reconnect: %v", err, rerr)
			}
		}
	}
	ru.seq++
	name := fmt.Sprintf("steps/%03d-cleanup-%s.txt", ru.seq, safeName(ru.redact(e.cmd)))
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
	_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evCleanupEntry, Key: e.key, Command: e.cmd, Status: rec.Status, Error: rec.Error})
	return rec
}

func (ru *run) cleanupSend(ctx context.Context, cmd string) (text string, err error) {
	defer func() {
		if p := recover(); p != nil { // a bug must not stop the other entries
			err = fmt.Errorf("internal error (a bug: please report it): %v", p)
		}
	}()
	t := 30 * time.Second
	cctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	res, err := ru.tr.Run(cctx, transports.Command{CLI: cmd, Timeout: t})
	return res.Text, err
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
