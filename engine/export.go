package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/transports"
)

// export brings a file back: pulled into artifacts/ by a transport that can,
// else pushed with `scp export` when a destination is given, else skipped
// with a note telling the engineer how to attach it by hand.
func (ru *run) export(ctx context.Context, s *playbook.Step) error {
	env := ru.env(nil)
	x := s.Export
	// file and to are sent; shownFile and shownTo are written down.
	file, shownFile, err := ru.render(x.File, env)
	if err != nil {
		return fmt.Errorf("export file: %w", err)
	}
	scpCmd := "scp export " + x.Category
	shownScp := scpCmd
	if file != "" {
		scpCmd += " from " + file
		shownScp += " from " + shownFile
	}
	if ex, ok := ru.tr.(transports.Exporter); ok && ex.CanExport(x.Category) {
		err := ru.pull(ctx, s, ex, x.Category, file, shownFile)
		ru.last.byHand = exportByHand(shownScp, "USER@HOST:PATH")
		ru.exportStopped(ctx, s, err)
		return err
	}
	to, shownTo, err := ru.render(x.ScpTo, env)
	if err != nil {
		return fmt.Errorf("export scp.to: %w", err)
	}
	what := x.Category
	if file != "" {
		what += " " + shownFile
	}
	if it, ok := ru.tr.(transports.Interactive); to != "" && (!ok || !it.Interactive()) {
		// scp export asks for a password: only a CLI session can answer.
		ru.addNote(fmt.Sprintf("%s was not exported: the %s transport can neither pull it nor answer the password question of scp export. "+
			"On the firewall's CLI (SSH) run `%s to %s`, then attach the file to the case.",
			what, ru.o.Transport, shownScp, shownTo), nil)
		ru.skip(s)
		return nil
	}
	if to == "" {
		ru.addNote(fmt.Sprintf("%s was not exported: the %s transport cannot pull it and no scp destination was given. "+
			"On the firewall run `%s to USER@HOST:PATH` (or pass --param scp_to=USER@HOST:PATH), then attach the file to the case.",
			what, ru.o.Transport, shownScp), nil)
		ru.skip(s)
		return nil
	}
	cmd := transports.Command{CLI: scpCmd + " to " + to, Shown: shownScp + " to " + shownTo, Timeout: ru.stepTimeout(s)}
	if s.Timeout == 0 && cmd.Timeout < 10*time.Minute {
		cmd.Timeout = 10 * time.Minute // a tech-support file takes minutes to generate
	}
	// The transport answers the device's questions (the remote host key,
	// the password) and reads the copy's verdict.
	cmd.Scp = &transports.Scp{AcceptNewHostKey: ru.o.ScpAcceptNewHostKey}
	if x.ScpPassword != nil {
		pw, err := x.ScpPassword.Render(env)
		if err != nil {
			return fmt.Errorf("export scp.password: %w", err)
		}
		cmd.Scp.Password = pw
	}
	_, err = ru.send(ctx, s, []transports.Command{cmd}, nil, 1, 1, nil)
	ru.last.byHand = exportByHand(shownScp, shownTo)
	ru.exportStopped(ctx, s, err)
	switch {
	case errors.Is(err, transports.ErrHostKeyNotAccepted):
		host := shownTo
		if i := strings.IndexByte(host, '@'); i >= 0 {
			host = host[i+1:]
		}
		host, _, _ = strings.Cut(host, ":")
		ru.addNote(fmt.Sprintf("%s was not exported: the firewall has not seen the SSH host key of %s and asked whether to trust it; "+
			"runbook answered no. Check the key, then run again with --scp-accept-new-host-key to answer yes for that run, "+
			"or run `%s to %s` on the firewall's CLI yourself.", what, host, shownScp, shownTo), nil)
	case errors.Is(err, transports.ErrCopyFailed):
		ru.addNote(fmt.Sprintf("%s was not exported: `scp export` failed on the firewall (see the step's output for the device's words). "+
			"Fix the destination or its password, then run `%s to %s` on the firewall's CLI and attach the file to the case.", what, shownScp, shownTo), nil)
	}
	return err
}

// exportStopped lists, when the run was stopped (a signal, --timeout)
// while export step s exported (err is its error), the file as missing
// evidence (exportMissing), unless the step says `evidence: false`. A
// stopped pull kept no partial file (pull removes it).
func (ru *run) exportStopped(ctx context.Context, s *playbook.Step, err error) {
	if err == nil || ctx.Err() == nil || !ru.last.set || ru.last.rec.Status == "ok" {
		return
	}
	r := ru.last.rec
	ru.m.Missing = append(ru.m.Missing, exportMissing(s.ID, r.Seq, r.Command, r.Status, ru.last.byHand, s.NotEvidence)...)
}

// exportByHand tells how to export a file by hand: shownScp is the scp
// export command without its destination.
func exportByHand(shownScp, shownTo string) string {
	return fmt.Sprintf("On the firewall's CLI (SSH) run `%s to %s`, then attach the file to the case.", shownScp, shownTo)
}

// explain adds to err what the operator can do about it, where the engine
// knows: the step's record and the run's error carry it.
func explain(err error) error {
	if errors.Is(err, transports.ErrHostKeyNotAccepted) {
		return fmt.Errorf("%w (the firewall has not seen this host's SSH key; to let it answer yes, run again with --scp-accept-new-host-key)", err)
	}
	return err
}

// pull streams a file from the device into artifacts/.
func (ru *run) pull(ctx context.Context, s *playbook.Step, ex transports.Exporter, category, file, shownFile string) error {
	ru.seq++
	seq := ru.seq
	label := "export " + category
	if file != "" {
		label += " " + shownFile
	}
	ru.em.emit(Event{Type: EvStepStarted, Seq: seq, Step: s.ID, Kind: string(s.Kind), Command: label})
	start := ru.now()
	_ = ru.j.Append(JournalEntry{Time: start, Event: evStepStart, Seq: seq, Step: s.ID, Command: label, NotEvidence: s.NotEvidence, Kind: kindExport})
	tmp, err := ru.folder.Artifact()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, ru.exportTimeout(s))
	req := transports.ExportRequest{Category: category, File: file, MaxBytes: ru.o.MaxExportBytes, Progress: ru.progress(seq, s.ID)}
	aw := newArtifactWriter(tmp)
	info, err := ex.Export(cctx, req, aw)
	cancel()
	sum, werr := aw.Close()
	var serr error
	if err == nil && werr == nil {
		// Once, at the end, as the manifest that will name this file and
		// its hash is synced.
		serr = tmp.Sync()
	}
	cerr := tmp.Close()
	if err == nil {
		err = errors.Join(werr, serr, cerr)
	}
	rec := StepRecord{Seq: seq, ID: s.ID, Kind: "export", Line: s.Line, Command: label, Transport: ru.via(info.Transport), Start: start, End: ru.now(), Status: "ok", NotEvidence: s.NotEvidence}
	if err == nil {
		name := artifactName(ru.redact(info.Name), category, shownFile)
		var rel string
		if rel, err = tmp.Keep(name); err == nil {
			rec.Output, rec.SHA256 = rel, sum
			ru.m.Artifacts = append(ru.m.Artifacts, ArtifactRecord{Step: s.ID, Category: category, Path: rel, Size: info.Size, SHA256: sum})
		}
	}
	if err != nil {
		tmp.Remove()
		rec.Status, rec.Error = "failed", ru.redact(err.Error())
		if ctx.Err() != nil {
			rec.Status = stoppedStatus(ctx)
		} else if errors.Is(err, context.DeadlineExceeded) {
			rec.Status = "timeout"
		}
	}
	_ = ru.j.Append(JournalEntry{Time: ru.now(), Event: evStepEnd, Seq: seq, Step: s.ID, Status: rec.Status, Error: rec.Error, Stopped: err != nil && ctx.Err() != nil})
	// The file is kept (Artifact); the folder records the step with
	// step-ended, before any other observer sees it.
	ru.recordStep(Event{Type: EvStepEnded, Seq: seq, Step: s.ID, Kind: string(s.Kind), Command: label, Status: EventStatus(rec.Status),
		Error: rec.Error, Output: rec.Output, Bytes: info.Size, DurationMS: durMS(rec.End.Sub(rec.Start))}, &rec, "", "")
	ru.record(s, playbook.RunView{Text: rec.Output, Time: rec.End}, rec.Status, rec.Error)
	return err
}

func (ru *run) exportTimeout(s *playbook.Step) time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 30 * time.Minute // generating a tech-support file takes minutes
}

// artifactName is a base name that can never leave artifacts/.
func artifactName(name, category, file string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "" || name == "." || name == ".." || name == "/" {
		name = file
	}
	name = safeName(filepath.Base(name))
	if name == "x" || name == "" {
		name = safeName(category)
	}
	return name
}

// progress returns an ExportRequest.Progress that emits export-progress
// events: at each whole percent of a known total, else at each MiB, and
// at the end. Bounded by the bytes, not the clock, so a replay's events
// are the same every time (at most about a hundred per export with a
// total).
func (ru *run) progress(seq int, step string) func(done, total int64) {
	last := int64(-1)
	return func(done, total int64) {
		mark := done >> 20
		if total > 0 {
			mark = done * 100 / total
		}
		if mark == last && done != total {
			return
		}
		last = mark
		ru.em.emit(Event{Type: EvExportProgress, Seq: seq, Step: step, Bytes: done, Total: total})
	}
}

// FormatBytes gives a size in bytes, KiB, MiB or GiB.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
