package runtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ExpectSuffix ends the name of a case's expectations file: the cassette
// CASE.yaml has its expectations in CASE.expect.yaml beside it.
const ExpectSuffix = ".expect.yaml"

// ErrInput is wrapped by every error that means the input is wrong rather
// than a test failing: a path that does not exist, a playbook without
// cases, a cassette or playbook that does not load (`runbook test` exits 2).
var ErrInput = errors.New("bad input")

// inputError wraps err so that errors.Is(err, ErrInput) holds while the
// message stays err's own.
type inputError struct{ err error }

func (e inputError) Error() string   { return e.err.Error() }
func (e inputError) Unwrap() []error { return []error{e.err, ErrInput} }

func badInput(format string, args ...any) error {
	return inputError{fmt.Errorf(format, args...)}
}

// Case is one test: a cassette replayed against a playbook and compared
// with the expectations stored beside it.
type Case struct {
	// Name is how the case is shown: the cassette's path, slash-separated.
	Name string
	// Cassette is the cassette file.
	Cassette string
	// Expect is the expectations file (it may not exist yet).
	Expect string
	// Playbook is the playbook file when the case was found through it;
	// empty means the cassette's `playbook:` name is looked up (see
	// LocatePlaybook).
	Playbook string
}

// Find turns paths into cases, in the order given and, within a
// directory, in lexical order; a cassette reached twice is one case. A
// path is:
//
//   - a playbook file DIR/NAME.yaml: its cases are the cassettes in
//     DIR/testdata/NAME/;
//   - a cassette file (or its CASE.expect.yaml): that one case;
//   - a directory: every cassette under it (hidden directories skipped,
//     and testdata/ directories below it too, except the testdata/NAME/
//     of a playbook NAME.yaml beside them).
//
// No paths means ".". A path that does not exist, a playbook without cases
// and a search that finds no cassette at all are errors wrapping ErrInput.
func Find(paths ...string) ([]Case, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var out []Case
	seen := map[string]bool{}
	add := func(c Case) {
		k := filepath.Clean(c.Cassette)
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, c)
	}
	for _, p := range paths {
		cs, err := findOne(p)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			add(c)
		}
	}
	if len(out) == 0 {
		return nil, badInput("no cassettes found in %s (see docs/testing-playbooks.md for where cases live)", strings.Join(paths, ", "))
	}
	return out, nil
}

func findOne(p string) ([]Case, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, badInput("%s: no such file or directory", p)
	}
	if st.IsDir() {
		return walk(p)
	}
	if base, ok := strings.CutSuffix(p, ExpectSuffix); ok {
		return []Case{newCase(base + ".yaml")}, nil
	}
	isC, err := IsCassette(p)
	if err != nil || isC {
		// A file that is not YAML is reported when the case loads it.
		return []Case{newCase(p)}, nil
	}
	// A playbook: its cases are in testdata/NAME/ beside it.
	name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	dir := filepath.Join(filepath.Dir(p), "testdata", name)
	cs, err := walk(dir)
	if err != nil || len(cs) == 0 {
		return nil, badInput("playbook %s has no cases: record one into %s (see docs/testing-playbooks.md)", p, dir+string(filepath.Separator))
	}
	for i := range cs {
		cs[i].Playbook = p
	}
	return cs, nil
}

func newCase(cassette string) Case {
	return Case{
		Name:     filepath.ToSlash(filepath.Clean(cassette)),
		Cassette: cassette,
		Expect:   strings.TrimSuffix(cassette, filepath.Ext(cassette)) + ExpectSuffix,
	}
}

// walk finds the cassettes under dir: every *.yaml file that is shaped
// like a cassette, and every one with an expectations file beside it
// (so a cassette that no longer loads is reported, not skipped). Hidden
// directories are skipped, and so are testdata/ directories below dir
// (other packages' test data, as `go test ./...` treats them) except
// testdata/NAME/ beside a playbook NAME.yaml: a playbook's cases.
func walk(dir string) ([]Case, error) {
	var out []Case
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == dir {
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if d.Name() == "testdata" {
				cs, err := playbookCases(p)
				if err != nil {
					return err
				}
				out = append(out, cs...)
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ExpectSuffix) {
			return nil
		}
		c := newCase(p)
		if _, err := os.Stat(c.Expect); err == nil {
			out = append(out, c)
			return nil
		}
		if ok, _ := IsCassette(p); ok {
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, badInput("%s: %w", dir, err)
	}
	return out, nil
}

// playbookCases walks the directories testdata/NAME/ of td that have a
// playbook NAME.yaml beside td, and nothing else of td.
func playbookCases(td string) ([]Case, error) {
	ents, err := os.ReadDir(td)
	if err != nil {
		return nil, err
	}
	var out []Case
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		pb := filepath.Join(filepath.Dir(td), e.Name()+".yaml")
		if st, err := os.Stat(pb); err != nil || st.IsDir() {
			continue
		}
		if isC, err := IsCassette(pb); err != nil || isC {
			continue
		}
		cs, err := walk(filepath.Join(td, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// IsCassette reports whether the YAML file path is shaped like a cassette:
// a mapping with `exchanges:`, or with both `version:` and `playbook:` (a
// playbook has `name:` and `steps:`). It does not validate the cassette.
func IsCassette(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return false, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return false, nil
	}
	var keys []string
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		keys = append(keys, m.Content[i].Value)
	}
	has := func(k string) bool { return slices.Contains(keys, k) }
	return has("exchanges") || (has("version") && has("playbook")), nil
}

// LocatePlaybook finds the playbook file called name for the cassette at
// cassette: NAME.yaml or playbooks/NAME.yaml in the cassette's directory
// or the nearest parent that has one, stopping at the first directory
// holding .git (a repository's root) or the file system's root. A file shaped like a
// cassette (the cassette itself, for one named after its playbook) is
// passed over. It returns "" when there is none: the playbook is then the
// built-in of that name.
func LocatePlaybook(cassette, name string) string {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return ""
	}
	dir, err := filepath.Abs(filepath.Dir(cassette))
	if err != nil {
		return ""
	}
	rel := filepath.Dir(cassette)
	for range 64 { // bounded: a path has far fewer parents
		for _, sub := range []string{"", "playbooks"} {
			p := filepath.Join(dir, sub, name+".yaml")
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				if ok, _ := IsCassette(p); !ok {
					return filepath.Join(rel, sub, name+".yaml")
				}
			}
		}
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir, rel = parent, filepath.Join(rel, "..")
	}
	return ""
}
