package runtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/diff"
	"go.yaml.in/yaml/v3"

	"github.com/runbook-dev/runbook/internal/yamlerr"
)

// Expectation is what replaying a case must give: every command sent, in
// order, split by phase; the findings that fired; the exit code. It is
// stored as CASE.expect.yaml beside the cassette.
type Expectation struct {
	// ExitCode is the exit code the run maps to (engine.ExitCode).
	ExitCode int `yaml:"exit_code"`
	// Commands are the commands sent while the steps ran, in order, as
	// sent (a repeated step once per run). A file pulled through the
	// transport is listed as "export CATEGORY [FILE]".
	Commands []string `yaml:"commands"`
	// Undo are the undo commands sent, newest first, as they ran.
	Undo []string `yaml:"undo"`
	// Cleanup are the commands of the playbook's cleanup: section sent.
	Cleanup []string `yaml:"cleanup"`
	// Findings are the findings that fired, in the playbook's order.
	Findings []Finding `yaml:"findings"`
}

// Finding is a finding that fired: its id and severity.
type Finding struct {
	ID       string `yaml:"id"`
	Severity string `yaml:"severity"`
}

const expectHeader = `# Expected outcome of replaying the cassette beside this file with ` + "`runbook test`" + `.
# Written by ` + "`runbook test --update`" + `; review the diff before committing it.
`

// Encode returns e in its file form. The form is canonical: two equal
// expectations encode to the same bytes, so comparing and diffing the
// encoded forms is exact.
func (e *Expectation) Encode() []byte {
	norm := *e
	for _, l := range []*[]string{&norm.Commands, &norm.Undo, &norm.Cleanup} {
		if *l == nil {
			*l = []string{}
		}
	}
	if norm.Findings == nil {
		norm.Findings = []Finding{}
	}
	var b bytes.Buffer
	b.WriteString(expectHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	// Encoding plain strings, ints and slices cannot fail.
	_ = enc.Encode(&norm)
	_ = enc.Close()
	return b.Bytes()
}

// LoadExpectation reads an expectations file. Unknown keys are refused, so
// a typo is reported rather than ignored. A missing file gives an error
// wrapping fs.ErrNotExist.
func LoadExpectation(path string) (*Expectation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("expectations: %w", err)
	}
	doc, probs := yamlerr.Decode(b)
	if len(probs) > 0 {
		p := probs[0]
		return nil, badInput("expectations %s:%d:%d: %s", path, p.Line, p.Col, p.Msg)
	}
	var e Expectation
	if doc == nil {
		return &e, nil
	}
	// Decoded again with the decoder: KnownFields is lost in Node.Decode.
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&e); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var msgs []string
			for _, m := range te.Errors {
				msgs = append(msgs, placeTypeError(path, doc, m))
			}
			return nil, badInput("%s", strings.Join(msgs, "\n"))
		}
		return nil, badInput("expectations %s: %w", path, err)
	}
	return &e, nil
}

var typeErrRe = regexp.MustCompile(`^line (\d+): (.*)$`)
var unknownFieldRe = regexp.MustCompile(`^field (\S+) not found in type`)

// placeTypeError writes one of yaml's type errors ("line N: ...") as
// "expectations PATH:LINE:COL: ...", the column that of the node on that
// line it is about.
func placeTypeError(path string, doc *yaml.Node, m string) string {
	sm := typeErrRe.FindStringSubmatch(m)
	if sm == nil {
		return fmt.Sprintf("expectations %s: %s", path, m)
	}
	line, _ := strconv.Atoi(sm[1])
	msg := sm[2]
	key := ""
	if fm := unknownFieldRe.FindStringSubmatch(msg); fm != nil {
		key = fm[1]
		msg = fmt.Sprintf("unknown key %q (want exit_code, commands, undo, cleanup, findings; id and severity in a finding)", key)
	}
	col := 0
	var find func(n *yaml.Node)
	find = func(n *yaml.Node) {
		if col > 0 {
			return
		}
		if n.Line == line && (key == "" || n.Value == key) && n.Kind != yaml.DocumentNode {
			col = n.Column
			return
		}
		for _, c := range n.Content {
			find(c)
		}
	}
	find(doc)
	if col == 0 {
		col = 1
	}
	return fmt.Sprintf("expectations %s:%d:%d: %s", path, line, col, msg)
}

// WriteExpectation writes e to path atomically (a temporary file in the
// same directory, then a rename).
func WriteExpectation(path string, e *Expectation) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".expect-*")
	if err != nil {
		return fmt.Errorf("expectations: %w", err)
	}
	_, werr := tmp.Write(e.Encode())
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("expectations %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("expectations %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("expectations %s: %w", path, err)
	}
	return nil
}

// Diff returns a unified diff from want (labelled wantName) to got
// (labelled gotName), "" when they are equal.
func Diff(wantName string, want *Expectation, gotName string, got *Expectation) string {
	w, g := want.Encode(), got.Encode()
	if bytes.Equal(w, g) {
		return ""
	}
	d := string(diff.Diff(wantName, w, gotName, g))
	// Drop the "diff a b" line: the ---/+++ lines name both sides.
	if strings.HasPrefix(d, "diff ") {
		if i := strings.IndexByte(d, '\n'); i >= 0 {
			d = d[i+1:]
		}
	}
	return d
}
