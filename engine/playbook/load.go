package playbook

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-dev/runbook/internal/editdist"
	"github.com/runbook-dev/runbook/internal/yamlerr"
)

// Parsers lists the names a run step's `parse:` may use. Package parse
// implements each of them.
var Parsers = []string{
	"keyvalue", "table", "ipsec-sa", "ike-sa", "sessions", "counters",
	"resource-monitor", "fib-lookup", "pool-statistics", "clock", "system-resources",
	"security-policy-match", "packet-diag-setting", "vpn-tunnel", "vpn-gateway",
}

// The kind keys: exactly one of them makes a step what it is.
var kindKeys = []string{"run", "wait", "prompt", "note", "export", "if", "include"}

// Keys every step may have, and the keys each kind adds.
var (
	commonStepKeys = []string{"id", "name", "when", "on_error"}
	kindStepKeys   = map[string][]string{
		"run":     {"run", "let", "xml", "timeout", "prompts", "repeat", "until", "retry", "capture", "parse", "undo", "for_each", "evidence"},
		"wait":    {"wait", "let", "message"},
		"prompt":  {"prompt", "let", "timeout", "default"},
		"note":    {"note", "let"},
		"export":  {"export", "let", "file", "scp", "timeout", "evidence"},
		"if":      {"if", "then", "else"},
		"include": {"include"},
	}
)

var (
	nameRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// stepID reports whether id is a step id, ^[a-z0-9_]+$, checked by hand:
// it is asked of every step, twice for a long playbook (lazy.go).
func stepID(id string) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return id != ""
}

// maxSteps bounds the steps of a playbook, includes and aliases expanded.
const maxSteps = 10000

// maxIncludeDepth bounds nested includes (cycles are reported before that).
const maxIncludeDepth = 16

// Load reads, checks and compiles the playbook file at path. Includes are
// read relative to the including file. Every mistake is returned at once as
// an ErrorList; other errors (the file cannot be read) are returned as they
// are.
func Load(path string) (*Playbook, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(name) }
	base, baseErr := filepath.Abs(filepath.Dir(path))
	// An include outside the playbook's folder is refused before it is
	// read (join returns ""): a playbook cannot make validate print a line
	// of any file. Symbolic links inside the folder are not followed here.
	join := func(from, rel string) string {
		t := rel
		if !filepath.IsAbs(rel) {
			t = filepath.Join(filepath.Dir(from), filepath.FromSlash(rel))
		}
		abs, err := filepath.Abs(t)
		if err != nil || baseErr != nil {
			return ""
		}
		if r, err := filepath.Rel(base, abs); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return ""
		}
		return t
	}
	return load(path, read, join, true)
}

// LoadFS is Load for a playbook in fsys (the embedded built-ins). Includes
// are resolved relative to the including file within fsys.
func LoadFS(fsys fs.FS, name string) (*Playbook, error) {
	read := func(n string) ([]byte, error) { return fs.ReadFile(fsys, n) }
	base := path.Dir(name)
	join := func(from, rel string) string { // "" outside name's folder, as in Load
		t := path.Join(path.Dir(from), rel)
		if path.IsAbs(rel) || !fs.ValidPath(t) || (base != "." && t != base && !strings.HasPrefix(t, base+"/")) {
			return ""
		}
		return t
	}
	return load(name, read, join, false)
}

// Parse checks and compiles a playbook held in memory, named file in
// positions. It cannot include other files.
func Parse(file string, src []byte) (*Playbook, error) {
	read := func(n string) ([]byte, error) {
		if n == file {
			return src, nil
		}
		return nil, fmt.Errorf("open %s: includes are not available here", n)
	}
	join := func(from, rel string) string { return path.Join(path.Dir(from), rel) }
	return load(file, read, join, false)
}

// load loads the playbook file. With lazy, file is a path of the
// operating system that a long playbook's steps are read from again
// (lazy.go).
func load(file string, read func(string) ([]byte, error), join func(from, rel string) string, lazy bool) (*Playbook, error) {
	var src []byte
	if lazy {
		pb, text, ok := loadFile(file, read, join)
		if ok {
			return pb, nil
		}
		src = text
	}
	if src == nil {
		var err error
		if src, err = read(file); err != nil {
			return nil, fmt.Errorf("playbook: %w", err)
		}
	}
	if pb, ok := loadStream(file, src, read, join); ok {
		return pb, nil
	}
	return loadWhole(file, src, read, join)
}

func newLoader(read func(string) ([]byte, error), join func(from, rel string) string) *loader {
	return &loader{
		read:     read,
		join:     join,
		srcs:     map[string][]byte{},
		sources:  map[string][]string{},
		anchored: map[string]bool{},
		stepIDs:  map[string]idPos{},
		captures: map[string]captureDef{},
		facts:    newFactsBuilder(),
	}
}

func newPlaybook(sum [sha256.Size]byte) *Playbook {
	return &Playbook{SHA256: hex.EncodeToString(sum[:])}
}

// loadWhole loads the playbook file, whose text is src, from one YAML tree
// of all of it.
func loadWhole(file string, src []byte, read func(string) ([]byte, error), join func(from, rel string) string) (*Playbook, error) {
	l := newLoader(read, join)
	pb := newPlaybook(sha256.Sum256(src))
	root := l.parse(file, src)
	if root != nil {
		pb.Pos = l.pos(file, root)
		l.playbook(file, root, pb)
		l.compileAll(pb)
		pb.facts = l.done(pb)
	}
	l.sortErrors()
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	return pb, nil
}

// loadStream loads the playbook file, whose text is src, decoding its
// top-level steps a batch at a time (stream.go). It reports false when the
// text is not plain enough for that or the playbook has any error: the
// caller then loads it whole, which words the errors.
func loadStream(file string, src []byte, read func(string) ([]byte, error), join func(from, rel string) string) (*Playbook, bool) {
	skel, st, ok := splitSteps(src)
	if !ok {
		return nil, false
	}
	return loadSplit(file, skel, st, sha256.Sum256(src), nil, read, join)
}

// loadFile loads the playbook file of the operating system, when it has
// more than lazyMin top-level steps, holding no more of its text than the
// skeleton and a batch of steps at a time, and keeps the steps in the file
// (lazy.go). It reports false for any other file, or one that changed
// while it was read, or any error: the caller loads it from its text,
// which loadFile returns when it read it whole (a file of lazyMin steps
// or fewer: it is not read twice), else nil.
func loadFile(file string, read func(string) ([]byte, error), join func(from, rel string) string) (*Playbook, []byte, bool) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < 2*int64(lazyMin) /* an item is 2 bytes or more */ {
		return nil, nil, false
	}
	sp := newSplitter()
	r := bufio.NewReaderSize(f, 64<<10)
	var long []byte // a line longer than r's buffer
	// text is the text read so far while it may be a short playbook's.
	text, short := []byte{}, true
	for !sp.bad || short {
		l, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long, l...)
			continue
		}
		if len(long) > 0 {
			long = append(long, l...)
			l = long
		}
		if len(l) > 0 {
			sp.add(l)
			if short {
				text = append(text, l...)
				if sp.st.items > lazyMin {
					text, short = nil, false
				}
			}
		}
		long = long[:0]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, false
		}
	}
	skel, st, sum, ok := sp.done()
	if short {
		return nil, text, false
	}
	if !ok {
		return nil, nil, false
	}
	st.file, st.lazy = f, true
	pb, ok := loadSplit(file, skel, st, sum, fi, read, join)
	if !ok {
		return nil, nil, false
	}
	if after, err := f.Stat(); err != nil || after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) {
		return nil, nil, false
	}
	return pb, nil, true
}

// loadSplit loads the playbook file split into skel and st, whose text's
// sum is sum: its steps held, or, with st.lazy, kept in the file, which
// was fi when it was read.
func loadSplit(file string, skel []byte, st *stepStream, sum [sha256.Size]byte, fi os.FileInfo, read func(string) ([]byte, error), join func(from, rel string) string) (*Playbook, bool) {
	doc, probs := yamlerr.Decode(skel)
	if len(probs) > 0 || doc == nil || len(doc.Content) != 1 || !st.streamRoot(doc.Content[0]) {
		return nil, false
	}
	l := newLoader(read, join)
	l.files = append(l.files, file)
	// Snippets and positions read the file as it is. Without its text
	// (loadFile), the skeleton: the steps are kept in the file, decoded
	// again with their own lines (lazy.go), and an error loads it whole.
	l.srcs[file] = st.src
	if st.src == nil {
		l.srcs[file] = skel
	}
	l.stream = st
	pb := newPlaybook(sum)
	root := doc.Content[0]
	pb.Pos = l.pos(file, root)
	l.playbook(file, root, pb)
	if st.failed || len(l.errs) > 0 {
		return nil, false
	}
	l.compileAll(pb)
	if len(l.errs) > 0 {
		return nil, false
	}
	if !st.lazy {
		pb.facts = l.done(pb)
		return pb, true
	}
	if !l.keepLazy(file, st, fi, pb) || len(l.errs) > 0 {
		return nil, false
	}
	return pb, true
}

// done returns the facts of pb (facts.go), loaded and compiled.
func (l *loader) done(pb *Playbook) *stepFacts {
	cleanup := map[string]bool{}
	Walk(pb.Cleanup, func(s *Step) { cleanup[s.ID] = true })
	ids := func(yield func(string) bool) {
		for id := range l.stepIDs {
			if !cleanup[id] && !yield(id) {
				return
			}
		}
	}
	return l.facts.done(pb, l.captures, ids)
}

// sortErrors orders the errors by file, in the order the files were read
// (the playbook first, then its fragments), then by position.
func (l *loader) sortErrors() {
	l.errs.Sort()
	rank := func(f string) int {
		if i := slices.Index(l.files, f); i >= 0 {
			return i
		}
		return len(l.files)
	}
	slices.SortStableFunc(l.errs, func(a, b *Error) int { return rank(a.File) - rank(b.File) })
}

// loader holds the state of one Load: errors so far, sources for snippets,
// and the expressions waiting for the environment to be known.
type loader struct {
	read func(string) ([]byte, error)
	join func(from, rel string) string
	errs ErrorList
	// srcs holds each file read; sources its lines, once asked for.
	srcs    map[string][]byte
	sources map[string][]string
	// anchored are the files with an anchor or an alias: steps does not
	// drop their decoded nodes, which an alias may decode again.
	anchored map[string]bool
	files    []string // in the order read
	// stream is the top-level steps: list being decoded an item at a time,
	// nil when the file is decoded whole.
	stream   *stepStream
	nsteps   int
	includes []string // the include chain being expanded
	pending  []*pendingExpr
	stepIDs  map[string]idPos
	captures map[string]captureDef
	secrets  map[string]bool // names of secret params
	// stepLets are the lets of the step being decoded, for usesSecret.
	stepLets []*Let
	// envNames lists the params, vars and steps names, for suggestions.
	envNames map[string][]string
	// env is what the pending expressions compile against, made by mkEnv
	// once the playbook is read.
	env   *compileEnv
	mkEnv func() *compileEnv
	// facts gathers what a run needs of the top-level steps as they are
	// decoded (facts.go); nil when they are decoded again.
	facts *factsBuilder
	// lineBase is the number of lines before the text held in srcs, for
	// a batch of steps read again on its own (lazy.go).
	lineBase map[string]int
}

// idPos is where a step id is, small: a playbook of many steps holds
// one per step while it loads. file is an index in loader.files.
type idPos struct{ file, line, col int32 }

func (l *loader) idAt(file string, n *yaml.Node) idPos {
	return idPos{int32(slices.Index(l.files, file)), int32(n.Line), int32(n.Column)}
}

func (l *loader) idPos(p idPos) Pos {
	return Pos{File: l.files[p.file], Line: int(p.line), Col: int(p.col)}
}

type captureDef struct {
	key string // "regex:..." or "expr:..."
	pos Pos
}

// parse reads src into its document's root node, reporting syntax errors
// (and a second document) at their place.
func (l *loader) parse(file string, src []byte) *yaml.Node {
	l.files = append(l.files, file)
	l.srcs[file] = src
	doc, probs := yamlerr.Decode(src)
	for _, p := range probs {
		l.add(Pos{File: file, Line: p.Line, Col: p.Col}, "%s", p.Msg)
	}
	if len(probs) > 0 {
		return nil
	}
	if doc == nil || len(doc.Content) == 0 {
		l.add(Pos{File: file, Line: 1, Col: 1}, "empty file")
		return nil
	}
	if hasAnchor(doc) {
		l.anchored[file] = true
	}
	return doc.Content[0]
}

// hasAnchor reports whether the tree under n has an anchor or an alias:
// a node of it may then be decoded twice.
func hasAnchor(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAnchor(c) {
			return true
		}
	}
	return false
}

// lines are the lines of file, split when first asked for (an error, a
// position in a block scalar): a playbook that loads fine is not held
// twice.
func (l *loader) lines(file string) []string {
	if lines, ok := l.sources[file]; ok {
		return lines
	}
	src, ok := l.srcs[file]
	if !ok {
		return nil
	}
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	l.sources[file] = lines
	return lines
}

// line is line n (from 1) of file, false when there is none.
func (l *loader) line(file string, n int) (string, bool) {
	n -= l.lineBase[file]
	if lines := l.lines(file); n >= 1 && n <= len(lines) {
		return lines[n-1], true
	}
	return "", false
}

// add records an error at p.
func (l *loader) add(p Pos, format string, args ...any) {
	e := &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
	if line, ok := l.line(p.File, p.Line); ok {
		e.Source = yamlerr.Printable(line)
	}
	l.errs = append(l.errs, e)
}

func (l *loader) errf(file string, n *yaml.Node, format string, args ...any) {
	l.add(l.pos(file, n), format, args...)
}

func (l *loader) pos(file string, n *yaml.Node) Pos {
	return Pos{File: file, Line: n.Line, Col: n.Column}
}

// kv is one key: value pair of a mapping.
type kv struct {
	key string
	k   *yaml.Node
	v   *yaml.Node
}

// deref follows an alias.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// mapping returns the pairs of a mapping node, reporting duplicate keys and
// keys not in allowed (when allowed is not nil). what names the mapping in
// messages.
func (l *loader) mapping(file string, n *yaml.Node, what string, allowed []string) ([]kv, bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		l.errf(file, n, "%s must be a mapping, not %s", what, describe(n))
		return nil, false
	}
	// The keys so far: a step's few in a list, a long mapping's in a map
	// (steps are decoded again as a run reaches them: no map each).
	var seen map[string]*yaml.Node
	var few []*yaml.Node
	if len(n.Content) > 2*16 {
		seen = map[string]*yaml.Node{}
	}
	prevKey := func(key string) (*yaml.Node, bool) {
		if seen != nil {
			p, ok := seen[key]
			return p, ok
		}
		for _, p := range few {
			if p.Value == key {
				return p, true
			}
		}
		return nil, false
	}
	out := make([]kv, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.errf(file, k, "%s: keys must be strings", what)
			continue
		}
		if prev, ok := prevKey(k.Value); ok {
			l.errf(file, k, "duplicate key %q in %s (first at line %d)", k.Value, what, prev.Line)
			continue
		}
		if seen != nil {
			seen[k.Value] = k
		} else {
			few = append(few, k)
		}
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			msg := fmt.Sprintf("unknown key %q in %s", k.Value, what)
			if s := suggest(k.Value, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			l.errf(file, k, "%s", msg)
			continue
		}
		out = append(out, kv{k.Value, k, v})
	}
	return out, true
}

// describe names the YAML type of n for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		}
		return "a scalar"
	}
	return "nothing"
}

// str reads a string scalar.
func (l *loader) str(file string, n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		l.errf(file, n, "%s must be a string, not %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

// scalar reads any non-null scalar as text (expressions such as `true`).
func (l *loader) scalar(file string, n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		l.errf(file, n, "%s must be a string, not %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

func (l *loader) boolean(file string, n *yaml.Node, what string) (bool, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		l.errf(file, n, "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		// YAML 1.1 spellings (yes/on) are not !!bool in yaml v3; be safe.
		l.errf(file, n, "%s must be true or false", what)
		return false, false
	}
	return b, true
}

func (l *loader) integer(file string, n *yaml.Node, what string) (int, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		l.errf(file, n, "%s must be an integer, not %s", what, describe(n))
		return 0, false
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil {
		l.errf(file, n, "%s: %q is not an integer", what, n.Value)
		return 0, false
	}
	return i, true
}

func (l *loader) seq(file string, n *yaml.Node, what string) ([]*yaml.Node, bool) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		l.errf(file, n, "%s must be a list, not %s", what, describe(n))
		return nil, false
	}
	return n.Content, true
}

// suggest returns the candidate closest to s, or "" when none is close.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	if len(s) <= 3 {
		bestD = 2
	}
	for _, c := range candidates {
		if d := editdist.Levenshtein(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
