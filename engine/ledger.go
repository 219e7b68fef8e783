package engine

// This file is the undo ledger: the one owner of the undo and cleanup
// entries a run still owes the device. The running engine and `runbook
// cleanup` build it from the same journal events by the same code (apply),
// list it in the same order (Pending) and drain it with the same policy
// (drainer): one label per kind, one timeout per entry, one reopen policy.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
)

// EntryKind tells an undo entry (armed by a step) from a cleanup: entry.
type EntryKind uint8

// The entry kinds.
const (
	KindUndo EntryKind = 1 + iota
	KindCleanup
)

// String is the label the kind is printed with ("undo", "cleanup") on the
// terminal, in `runbook cleanup` and in the manifest's lists.
func (k EntryKind) String() string {
	if k == KindCleanup {
		return "cleanup"
	}
	return "undo"
}

// Key identifies a ledger entry across the run and every later `runbook
// cleanup`: an undo entry is the Index-th undo of the step sent at Seq; a
// cleanup entry is the Index-th entry of the cleanup: section.
type Key struct {
	Kind  EntryKind
	Seq   int
	Index int
}

func undoKey(seq, i int) Key { return Key{Kind: KindUndo, Seq: seq, Index: i} }
func cleanupKey(i int) Key   { return Key{Kind: KindCleanup, Index: i} }

// String is the key as the journal writes it: "undo-3-0", "cleanup-1".
func (k Key) String() string {
	if k.Kind == KindCleanup {
		return fmt.Sprintf("cleanup-%d", k.Index)
	}
	return fmt.Sprintf("undo-%d-%d", k.Seq, k.Index)
}

// ParseKey reads a key as the journal writes it.
func ParseKey(s string) (Key, error) {
	var k Key
	var rest string
	if n, _ := fmt.Sscanf(s, "cleanup-%d%s", &k.Index, &rest); n == 1 && k.Index >= 0 {
		k.Kind = KindCleanup
		return k, nil
	}
	if n, _ := fmt.Sscanf(s, "undo-%d-%d%s", &k.Seq, &k.Index, &rest); n == 2 && k.Seq >= 0 && k.Index >= 0 {
		k.Kind = KindUndo
		return k, nil
	}
	return Key{}, fmt.Errorf("journal: %q is not an undo or cleanup key", s)
}

// Forms are the forms of one undo or cleanup entry, tried in order until
// the device accepts one. In the journal an entry of one form is written
// as a string, one of several as a list.
type Forms []string

// MarshalJSON writes one form as a string, several as a list.
func (f Forms) MarshalJSON() ([]byte, error) {
	if len(f) == 1 {
		return json.Marshal(f[0])
	}
	return json.Marshal([]string(f))
}

// UnmarshalJSON reads a string or a list of strings.
func (f *Forms) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*f = Forms{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*f = many
	return nil
}

// PendingEntry is an undo or cleanup entry not yet done.
type PendingEntry struct {
	Key Key
	// Command is the first form, as written down (shown).
	Command string
	// Forms are every form, the first included, tried in order.
	Forms []string
	// Refused are the device's words for each form it already refused in
	// this run folder, by form; such a form is never sent again.
	Refused map[string]string
	// Hold says why the entry cannot be sent as the journal has it (its
	// when: was never decided or failed, its command needed values the run
	// never had); "" when it can. A held entry is left for the operator.
	Hold string
	// Error is the entry's last failure, "" if it has not failed yet.
	Error string

	// send are the commands sent for each form, as rendered with their
	// secrets (the running engine); nil when read from a journal.
	send []string
}

// Label is "undo" or "cleanup".
func (p PendingEntry) Label() string { return p.Key.Kind.String() }

// Ledger holds a run's undo and cleanup entries not yet done. Its methods
// may be called from another goroutine (a signal handler asks Pending)
// while the engine records.
type Ledger struct {
	mu      sync.Mutex
	undo    []*PendingEntry // in the order journaled
	cleanup []*PendingEntry // in the order of the cleanup: section
	done    map[Key]bool
	// byKey finds an entry of undo or cleanup by its key; sending finds
	// the undo entries by each command they send (undoSending), so a step
	// costs the same however many undo entries are pending.
	byKey   map[Key]*PendingEntry
	sending map[string][]*PendingEntry
	// refused maps a form (shown) to the device's words refusing it, for
	// every form refused in this run folder, steps included.
	refused map[string]string
}

func newLedger() *Ledger {
	return &Ledger{done: map[Key]bool{}, refused: map[string]string{},
		byKey: map[Key]*PendingEntry{}, sending: map[string][]*PendingEntry{}}
}

// NewLedger builds the ledger of a journal.
func NewLedger(entries []JournalEntry) *Ledger {
	l := newLedger()
	for _, e := range entries {
		l.apply(e, nil)
	}
	return l
}

// Pending computes, from a journal, the entries not done: undo newest
// first, then cleanup: entries in the order of the section (NewLedger).
func Pending(entries []JournalEntry) []PendingEntry { return NewLedger(entries).Pending() }

// apply is the one reading of the journal's ledger events. send, for the
// running engine, are the commands really sent for the entries e adds:
// per entry, per form.
//
// An undo counts from its undo-intent, journaled before its step's command
// is sent: the command may have reached the device even if the engine
// died before recording that it was sent.
func (l *Ledger) apply(e JournalEntry, send [][]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := func(i int) []string {
		if i < len(send) {
			return send[i]
		}
		return nil
	}
	switch e.Event {
	case evUndoIntent:
		for i, forms := range e.Undo {
			k := undoKey(e.Seq, i)
			if l.find(k) != nil || len(forms) == 0 {
				continue
			}
			p := &PendingEntry{Key: k, Forms: slices.Clone(forms), send: at(i)}
			l.undo = append(l.undo, p)
			l.byKey[k] = p
			for j, cli := range p.send {
				if !slices.Contains(p.send[:j], cli) {
					l.sending[cli] = append(l.sending[cli], p)
				}
			}
		}
	case evCleanupPlan:
		k, err := ParseKey(e.Key)
		if err != nil || k.Kind != KindCleanup {
			return
		}
		forms := []string(e.Forms)
		if len(forms) == 0 {
			forms = []string{e.Command}
		}
		// An entry journaled again (decided, or rendered with values
		// captured since) takes its latest forms.
		if p := l.find(k); p != nil {
			p.Forms, p.send, p.Hold = forms, at(0), e.Hold
			return
		}
		p := &PendingEntry{Key: k, Forms: forms, send: at(0), Hold: e.Hold}
		l.cleanup = append(l.cleanup, p)
		l.byKey[k] = p
		slices.SortStableFunc(l.cleanup, func(a, b *PendingEntry) int { return a.Key.Index - b.Key.Index })
	case evRefused:
		l.refused[e.Command] = e.Error
	case evCleanupEntry:
		k, err := ParseKey(e.Key)
		if err != nil {
			return
		}
		switch e.Status {
		case "ok", "skipped":
			l.done[k] = true
		default:
			if p := l.find(k); p != nil {
				p.Error = e.Error
			}
		}
	}
}

func (l *Ledger) find(k Key) *PendingEntry { return l.byKey[k] }

// record journals e and, only once it is on record, applies it: the
// ledger never owes what the journal does not say. A journal that cannot
// be written returns its error and changes nothing, so the command the
// entry guards is not sent.
func (l *Ledger) record(j *journal, e JournalEntry, send ...[]string) error {
	if err := j.Append(e); err != nil {
		return err
	}
	l.apply(e, send)
	return nil
}

// Pending returns the entries not done, in the order they run: the undo
// entries newest step first (a step's own list in the order written),
// then the cleanup: entries in the order of the section.
func (l *Ledger) Pending() []PendingEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending(slices.Clone(l.undo), l.cleanup)
}

// undoSending returns the pending undo entries with a form sent as cli,
// in the order of Pending: the only entries a step sending cli can satisfy
// (satisfyUndo). Its cost is one map lookup, not a pass over the ledger.
func (l *Ledger) undoSending(cli string) []PendingEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var undo []*PendingEntry
	for _, p := range l.sending[cli] {
		if !l.done[p.Key] {
			undo = append(undo, p)
		}
	}
	return l.pending(undo, nil)
}

// pending copies the entries of undo (sorted here, newest step first) and
// cleanup that are not done. l.mu is held.
func (l *Ledger) pending(undo, cleanup []*PendingEntry) []PendingEntry {
	slices.SortStableFunc(undo, func(a, b *PendingEntry) int {
		if a.Key.Seq != b.Key.Seq {
			return b.Key.Seq - a.Key.Seq
		}
		return a.Key.Index - b.Key.Index
	})
	var out []PendingEntry
	for _, list := range [][]*PendingEntry{undo, cleanup} {
		for _, p := range list {
			if l.done[p.Key] {
				continue
			}
			c := *p
			c.Forms = slices.Clone(p.Forms)
			c.Command = c.Forms[0]
			c.Refused = map[string]string{}
			for _, f := range c.Forms {
				if why, ok := l.refused[f]; ok {
					c.Refused[f] = why
				}
			}
			out = append(out, c)
		}
	}
	return out
}

// refusal returns the device's words if it refused form (as shown) in
// this run folder.
func (l *Ledger) refusal(form string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	why, ok := l.refused[form]
	return why, ok
}

// Shown lists the pending entries as the operator reads them: one line
// each (ShowForms).
func (l *Ledger) Shown() []string {
	var out []string
	for _, p := range l.Pending() {
		out = append(out, ShowForms(p.Forms))
	}
	return out
}

// ShowForms writes the forms of one entry for the operator: the command
// itself when it has one, else `one of: "form1", "form2"` (quoted, as a
// PAN-OS command may hold "|" or ",").
func ShowForms(forms []string) string {
	if len(forms) == 1 {
		return forms[0]
	}
	q := make([]string, len(forms))
	for i, f := range forms {
		q[i] = strconv.Quote(f)
	}
	return "one of: " + strings.Join(q, ", ")
}

// entryTimeout bounds each undo or cleanup command; DefaultCleanupTimeout
// bounds the whole drain, in the run and in `runbook cleanup`.
const (
	entryTimeout          = 30 * time.Second
	DefaultCleanupTimeout = 2 * time.Minute
)

// session is the transport the ledger is drained through, with the reopen
// policy: a session lost is re-opened up to 3 times with backoff, and once
// that failed every later entry fails at once (unreachable).
type session struct {
	open        func(context.Context) (transports.Transport, error)
	tr          transports.Transport
	unreachable error
	clock       Clock
	// emit delivers the session's events (reconnected, cleanup entries).
	emit func(Event)
	// via is the transport that carried the last command sent (the part
	// that answered, for a target reached both ways), "" before any.
	via string
	// transport names the target's transport, for a transport that does
	// not say which part answered.
	transport string
}

// reopen replaces the transport, trying up to 3 times with backoff.
func (s *session) reopen(ctx context.Context) error {
	if s.tr != nil {
		_ = s.tr.Close()
		s.tr = nil
	}
	backoff := 500 * time.Millisecond
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var tr transports.Transport
		if tr, err = s.open(ctx); err == nil {
			s.tr = tr
			s.emit(Event{Type: EvReconnected, Transport: s.transport})
			return nil
		}
		if attempt < 3 {
			if serr := s.clock.Sleep(ctx, backoff); serr != nil {
				return serr
			}
			backoff *= 2
		}
	}
	s.unreachable = fmt.Errorf("cannot reconnect: %w", err)
	return s.unreachable
}

// run sends one command, opening the transport if there is none and
// re-opening it once if the session was lost on the way.
func (s *session) run(ctx context.Context, cli, shown string) (string, error) {
	if s.tr == nil {
		if s.unreachable != nil {
			return "", s.unreachable
		}
		if err := s.reopen(ctx); err != nil {
			return "", err
		}
	}
	text, err := s.send(ctx, cli, shown)
	if err != nil && lostSession(err) && ctx.Err() == nil {
		if s.unreachable != nil {
			return text, fmt.Errorf("%w; %v", err, s.unreachable)
		}
		if rerr := s.reopen(ctx); rerr != nil {
			return text, fmt.Errorf("%w; reconnect: %v", err, rerr)
		}
		text, err = s.send(ctx, cli, shown)
	}
	return text, err
}

func (s *session) send(ctx context.Context, cli, shown string) (text string, err error) {
	defer func() {
		if p := recover(); p != nil { // a bug must not stop the other entries
			err = fmt.Errorf("internal error (a bug: please report it): %v", p)
		}
	}()
	cctx, cancel := context.WithTimeout(ctx, entryTimeout)
	defer cancel()
	res, err := s.tr.Run(cctx, transports.Command{CLI: cli, Shown: shown, Timeout: entryTimeout})
	s.via = res.Transport
	if s.via == "" {
		s.via = s.transport
	}
	return res.Text, err
}

func lostSession(err error) bool {
	var ce *transports.ConnError
	return errors.Is(err, transports.ErrClosed) || errors.As(err, &ce)
}

// Refused reports whether err is the device refusing a command in its own
// words (a *transports.DeviceError: invalid syntax, an unknown command,
// "not available to xmlapi client"), the case where an alternative form
// is tried. A lost session, a timeout or a failed copy is not a refusal.
func Refused(err error) bool {
	var de *transports.DeviceError
	return errors.As(err, &de) && !errors.Is(err, transports.ErrCopyFailed) && !errors.Is(err, transports.ErrHostKeyNotAccepted)
}

// refusalWords are the device's words in a refusal.
func refusalWords(err error) string {
	var de *transports.DeviceError
	if errors.As(err, &de) {
		if de.Code != "" {
			return fmt.Sprintf("%s (code %s)", de.Message, de.Code)
		}
		return de.Message
	}
	return err.Error()
}

// drained is how one entry went.
type drained struct {
	entry PendingEntry
	rec   CleanupRecord
}

// drainer sends the ledger's pending entries, each once, in order.
type drainer struct {
	l      *Ledger
	j      *journal
	s      *session
	now    func() time.Time
	redact func(string) string
	// prepare, if set, decides an entry just before it is sent (the
	// engine: a cleanup entry's when: and its rendering, journaled
	// through the ledger); skip records it as not needed. nil: as
	// journaled (`runbook cleanup`).
	prepare func(ctx context.Context, p PendingEntry) (skip bool, err error)
	// output, if set, names the file of the run folder that keeps what
	// the device answered: the folder writes it as it records the event
	// that follows (send), through em.
	output func(p PendingEntry, text string) *FolderWrite
	em     *emitter
	// written is the output to hand to the folder with the next event.
	written *FolderWrite
	// note is added to every record ("by runbook cleanup").
	note string
	// later is set for `runbook cleanup`: the device may have changed
	// since the run, so an entry whose every form it refused then is tried
	// again, once each (a form refused while another is left untried is
	// still skipped). An entry of one form is always sent, as before
	// one_of: its refusal is no reason to think the device is clean.
	later bool
}

// drain sends every pending entry: the forms of each in order until one
// is accepted, never a form of a one_of the device already refused in this
// run folder (see later). Every entry is attempted even when one fails; one that fails
// stays pending. Each result is journaled, so draining twice sends nothing
// the second time.
func (d *drainer) drain(ctx context.Context) []drained {
	var out []drained
	for _, p := range d.l.Pending() {
		if d.prepare != nil {
			skip, err := d.prepare(ctx, p)
			if err != nil {
				rec := d.fail(p, err.Error())
				out = append(out, drained{p, rec})
				continue
			}
			if skip {
				continue
			}
			// prepare may have journaled it again, decided or rendered.
			if q := d.l.find(p.Key); q != nil {
				d.l.mu.Lock()
				p.Forms, p.send, p.Hold = slices.Clone(q.Forms), q.send, q.Hold
				d.l.mu.Unlock()
				p.Command = p.Forms[0]
			}
		}
		out = append(out, drained{p, d.one(ctx, p)})
	}
	return out
}

// fail records p as failed without sending anything.
func (d *drainer) fail(p PendingEntry, msg string) CleanupRecord {
	d.entry(p, p.Command, 0)
	rec := CleanupRecord{Command: p.Command, Status: "failed", Error: msg, Time: d.now(), Note: d.note}
	d.ended(p, &rec)
	d.journalResult(p, &rec)
	return rec
}

func (d *drainer) journalResult(p PendingEntry, rec *CleanupRecord) {
	e := JournalEntry{Time: d.now(), Event: evCleanupEntry, Key: p.Key.String(), Command: rec.Command, Status: rec.Status, Error: rec.Error}
	if err := d.l.record(d.j, e); err != nil {
		// The command was sent (or not): the journal still lists the
		// entry as pending, so `runbook cleanup` would only try it again.
		rec.Note = strings.TrimPrefix(rec.Note+"; not journaled: "+err.Error(), "; ")
		d.s.emit(Event{Type: EvProblem, Scope: "step", Key: p.Key.String(), Message: rec.Note})
	}
}

// one tries the forms of p in order.
func (d *drainer) one(ctx context.Context, p PendingEntry) CleanupRecord {
	rec := CleanupRecord{Command: p.Command, Time: d.now(), Note: d.note}
	if p.Hold != "" {
		msg := "not sent: " + p.Hold + "; run it by hand if it applies: " + ShowForms(p.Forms)
		d.entry(p, p.Command, 0)
		rec.Status, rec.Error = "failed", msg
		d.ended(p, &rec)
		d.journalResult(p, &rec)
		return rec
	}
	var refused []RefusedForm
	var err error
	accepted := -1
	if d.later && len(p.Refused) == len(p.Forms) {
		p.Refused = nil
	}
	for i, form := range p.Forms {
		if i == 0 {
			d.entry(p, form, len(p.Forms))
		} else {
			d.s.emit(Event{Type: EvFormTried, Key: p.Key.String(), Label: p.Label(), Form: i + 1, Forms: len(p.Forms), Command: form})
		}
		if why, ok := p.Refused[form]; ok && len(p.Forms) > 1 {
			d.s.emit(Event{Type: EvFormSkipped, Key: p.Key.String(), Label: p.Label(), Form: i + 1, Forms: len(p.Forms), Command: form, Error: why})
			refused = append(refused, RefusedForm{Form: i, Command: form, Error: why})
			continue
		}
		cli := form
		if i < len(p.send) {
			cli = p.send[i]
		} else if strings.Contains(form, secret.Placeholder) {
			// The journal never holds a secret: this form cannot be
			// rebuilt from it, and sending the placeholder would be wrong.
			err = errors.New("the command holds a secret, which the journal does not keep: run it on the device by hand")
			continue
		}
		var text string
		text, err = d.s.run(ctx, cli, form)
		rec.Transport = d.s.via
		if d.output != nil && text != "" {
			if w := d.output(p, text); w != nil {
				rec.Output, d.written = w.File, w
			}
		}
		if err == nil {
			accepted = i
			rec.Command = form
			if len(p.Forms) > 1 {
				d.send(Event{Type: EvFormAccepted, Key: p.Key.String(), Label: p.Label(), Form: i + 1, Forms: len(p.Forms), Command: form}, &rec)
			}
			break
		}
		if !Refused(err) {
			break // a lost session, a timeout: not the device's answer
		}
		words := d.redact(refusalWords(err))
		refused = append(refused, RefusedForm{Form: i, Command: form, Error: words})
		d.send(Event{Type: EvFormRefused, Key: p.Key.String(), Label: p.Label(), Form: i + 1, Forms: len(p.Forms), Command: form, Error: words}, &rec)
		if jerr := d.l.record(d.j, JournalEntry{Time: d.now(), Event: evRefused, Key: p.Key.String(), Command: form, Error: words}); jerr != nil {
			d.s.emit(Event{Type: EvProblem, Scope: "step", Key: p.Key.String(), Message: d.redact(jerr.Error())})
		}
	}
	if len(p.Forms) > 1 {
		rec.Refused = refused
		if accepted >= 0 {
			rec.AcceptedForm = &accepted
		}
	}
	switch {
	case accepted >= 0:
		rec.Status = "ok"
	case err == nil || len(p.Forms) > 1 && len(refused) == len(p.Forms):
		rec.Status, rec.Error = "failed", refusedAll(refused)
	default:
		rec.Status, rec.Error = "failed", d.redact(err.Error())
	}
	d.ended(p, &rec)
	d.journalResult(p, &rec)
	return rec
}

// entry emits cleanup-entry: p is sent, first as command (forms: how many
// it has, 0 for an entry failed before any was sent).
func (d *drainer) entry(p PendingEntry, command string, forms int) {
	d.s.emit(Event{Type: EvCleanupEntry, Key: p.Key.String(), Label: p.Label(), Command: command, Forms: forms})
}

// ended emits cleanup-entry-ended with rec's status, before the result is
// journaled (a journal failure follows as a problem).
func (d *drainer) ended(p PendingEntry, rec *CleanupRecord) {
	d.send(Event{Type: EvCleanupEntryEnded, Key: p.Key.String(), Label: p.Label(), Command: rec.Command, Status: EventStatus(rec.Status), Error: rec.Error, Output: rec.Output}, rec)
}

// send emits e, the event that follows the form just sent: it carries to
// the folder what the device answered to it (written), if anything, and
// when the folder cannot write it neither rec nor e names the file (as
// the output of a cleanup command always was: no problem is reported).
func (d *drainer) send(e Event, rec *CleanupRecord) {
	w := d.written
	if w == nil || d.em == nil {
		d.s.emit(e)
		return
	}
	d.written = nil
	e.Write = w
	e, err := d.em.record(e)
	oe, rest := splitOutput(err)
	if oe != nil {
		if rec.Output == w.File {
			rec.Output = ""
		}
		if e.Output == w.File {
			e.Output = ""
		}
	}
	if rest != nil {
		d.em.folderProblem(rest)
	}
	d.em.publish(e)
}

// RefusedForm is one form of a command the device refused, with its words.
type RefusedForm struct {
	// Form is the form's index in its one_of (0 for the first).
	Form    int    `json:"form"`
	Command string `json:"command"`
	Error   string `json:"error"`
}

// RefusedError is a command whose every form the device refused.
type RefusedError struct {
	Refused []RefusedForm
}

func (e *RefusedError) Error() string { return refusedAll(e.Refused) }

// refusedAll says that the device refused every form, naming each with the
// device's words, for the operator to try by hand.
func refusedAll(refused []RefusedForm) string {
	if len(refused) == 1 {
		return "the device refused it: " + refused[0].Error
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the device refused all %d forms; try one by hand:", len(refused))
	for _, r := range refused {
		fmt.Fprintf(&b, " %q (%s);", r.Command, r.Error)
	}
	return strings.TrimSuffix(b.String(), ";")
}
