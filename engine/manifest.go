package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// ManifestVersion is the version of the manifest.json format
// (docs/run-folder.md).
const ManifestVersion = 1

// Manifest is manifest.json: what was run, against what, and what came back.
type Manifest struct {
	Version  int              `json:"version"`
	Playbook ManifestPlaybook `json:"playbook"`
	Params   map[string]any   `json:"params"`
	// FailOn is the --fail-on severity the run was given (exit 5 when a
	// finding of it or worse fired), empty when none.
	FailOn  string         `json:"fail_on,omitempty"`
	Target  ManifestTarget `json:"target"`
	Started time.Time      `json:"started"`
	Ended   time.Time      `json:"ended"`
	// Status is ok, incomplete (every step ran, but steps that let the run
	// go on failed: Missing), failed, timeout, interrupted or
	// connect-failed.
	Status string `json:"status"`
	// ExitCode is the process exit code the run maps to.
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	// DeviceClock is the device's own time, from its last `show clock`.
	DeviceClock string          `json:"device_clock,omitempty"`
	Steps       []StepRecord    `json:"steps"`
	Undo        []CleanupRecord `json:"undo"`
	Cleanup     []CleanupRecord `json:"cleanup"`
	// CleanupPending lists the commands not undone: the device may be dirty.
	CleanupPending []string         `json:"cleanup_pending,omitempty"`
	Artifacts      []ArtifactRecord `json:"artifacts"`
	Notes          []string         `json:"notes,omitempty"`
	// Missing is the evidence the run could not take (missing.go): each
	// step that failed and let the run go on, with the device's words and
	// how to take it by hand. Empty when nothing is missing.
	Missing []MissingRecord `json:"missing_evidence,omitempty"`
	// Series are the numeric fields of repeated steps that changed between
	// runs, for charts.
	Series   []SeriesRecord  `json:"series,omitempty"`
	Findings []FindingRecord `json:"findings"`
	// Unevaluated lists findings whose expression failed at run time.
	Unevaluated []string `json:"findings_unevaluated,omitempty"`
	AutoConfirm bool     `json:"auto_confirmed,omitempty"`
	// SessionLog is the path of the raw transcript the transport wrote
	// (run --session-log), as given; empty when there was none.
	SessionLog string `json:"session_log,omitempty"`
}

// ManifestPlaybook identifies the playbook run.
type ManifestPlaybook struct {
	Name   string `json:"name"`
	Title  string `json:"title"`
	Source string `json:"source"`
	SHA256 string `json:"sha256"`
}

// ManifestTarget identifies the device.
type ManifestTarget struct {
	Name      string            `json:"name"`
	Transport string            `json:"transport"`
	Facts     map[string]string `json:"facts,omitempty"`
}

// StepRecord is one executed step (one run of a repeated step).
type StepRecord struct {
	Seq     int    `json:"seq"`
	ID      string `json:"id,omitempty"`
	Kind    string `json:"kind"`
	Line    int    `json:"line,omitempty"`
	Command string `json:"command,omitempty"`
	// Transport is the transport that carried the command or the export
	// (ssh, xmlapi; for a target reached both ways, the part that did).
	Transport string `json:"transport,omitempty"`
	Run       int    `json:"run,omitempty"` // 1-based run of a repeated step
	// Item is the item of a for_each step this run was for.
	Item  string    `json:"item,omitempty"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Status is ok, failed, timeout, skipped, interrupted, or refused (the
	// device would not take the command over this transport: Note says
	// how to run it by hand).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	Output string `json:"output,omitempty"` // path relative to the run folder
	SHA256 string `json:"sha256,omitempty"`
	Note   string `json:"note,omitempty"`
	// AcceptedForm is, for a step of several forms (run: one_of), the
	// index of the form the device accepted (0 for the first); Command is
	// that form. Nil for a plain command, or when no form was accepted.
	AcceptedForm *int `json:"accepted_form,omitempty"`
	// Refused are the forms the device refused, each with its words.
	Refused []RefusedForm `json:"refused,omitempty"`
	// NotEvidence is set on the record of a command or export whose step
	// says `evidence: false`: its failure is not missing evidence, also
	// when runbook cleanup rebuilds the list of a killed run from the
	// records.
	NotEvidence bool `json:"not_evidence,omitempty"`
	// Lets are the values the step's lets had when the run reached it,
	// in the order written, as shownLets writes them (redacted, bounded);
	// every record of the step holds them. None for a step without lets,
	// and in a record runbook cleanup rebuilt from the journal.
	Lets []LetValue `json:"lets,omitempty"`
}

// LetValue is one let of a step as its record holds it.
type LetValue struct {
	Name string `json:"name"`
	// Value is the value written as a template shows it, each string in
	// it redacted before it is put together; a list or a map shows its
	// first elements and how many more it has ("…3 more"), a long string
	// its start and "…": see shownLets.
	Value string `json:"value"`
}

// CleanupRecord is one undo or cleanup command and how it went.
type CleanupRecord struct {
	Command string `json:"command"`
	// Transport is the transport that carried the command, when it was
	// sent.
	Transport string    `json:"transport,omitempty"`
	Status    string    `json:"status"` // ok, failed, pending
	Error     string    `json:"error,omitempty"`
	Time      time.Time `json:"time"`
	Output    string    `json:"output,omitempty"`
	Note      string    `json:"note,omitempty"`
	// AcceptedForm is, for an entry of several forms (one_of), the index
	// of the form the device accepted (0 for the first); Command is that
	// form. Nil when the entry has one form or none was accepted.
	AcceptedForm *int `json:"accepted_form,omitempty"`
	// Refused are the forms the device refused, with its words.
	Refused []RefusedForm `json:"refused,omitempty"`
	// DoneBy is the seq of the playbook's own step that sent this undo
	// command: the entry was satisfied by it and not sent again. Zero for
	// an entry sent at cleanup (or not sent).
	DoneBy int `json:"done_by_seq,omitempty"`
}

// ArtifactRecord is a file brought back into artifacts/.
type ArtifactRecord struct {
	Step     string `json:"step,omitempty"`
	Category string `json:"category"`
	Path     string `json:"path"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// FindingRecord is a finding that fired.
type FindingRecord struct {
	ID       string           `json:"id"`
	Severity string           `json:"severity"`
	Message  string           `json:"message"`
	Evidence []EvidenceRecord `json:"evidence,omitempty"`
}

// SeriesRecord is one numeric field of a repeated step, one value per run.
type SeriesRecord struct {
	Step string `json:"step"`
	// Item is the item of a for_each step the series is of: each item has
	// its own series.
	Item  string `json:"item,omitempty"`
	Field string `json:"field"`
	// Kind says what a value is, so the report draws the right view
	// (docs/run-folder.md): SeriesDelta, SeriesCumulative or SeriesGauge.
	Kind   string      `json:"kind,omitempty"`
	Values []float64   `json:"values"`
	Times  []time.Time `json:"times"`
}

// The kinds of a series (SeriesRecord.Kind).
const (
	// SeriesDelta: every sample is already a change, the device's count
	// since its previous sample (show counter global ... delta yes).
	SeriesDelta = "delta"
	// SeriesCumulative: a running total (show counter global without
	// delta, show vpn flow tunnel-id): its change between samples is what
	// tells.
	SeriesCumulative = "cumulative"
	// SeriesGauge: a level read at each sample (CPU, a pool's free
	// buffers).
	SeriesGauge = "gauge"
)

// EvidenceRecord names the values a finding rests on.
type EvidenceRecord struct {
	// End and Target are, in a case finding, the end the evidence is
	// of (its name in the playbook's case: section) and its target.
	End    string `json:"end,omitempty"`
	Target string `json:"target,omitempty"`
	Step   string `json:"step"`
	// Item is the item of a for_each step: each item has its own record.
	Item   string `json:"item,omitempty"`
	Field  string `json:"field,omitempty"`
	Values []any  `json:"values,omitempty"`
	// Outputs are, for an entry that names no field (the finding rests on
	// the output's text), the output files of the step's runs in the run
	// folder, one per run whose output was written.
	Outputs []string `json:"outputs,omitempty"`
}

// WriteFileAtomic writes data to path (mode 0644) through a synced
// temporary file and a rename, so a reader never sees half a file.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadManifest reads a run folder's manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return &m, nil
}
