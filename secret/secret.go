// Package secret parses secret references (env:NAME, file:PATH, prompt),
// resolves them at run time, and redacts every resolved value from text
// before it is written anywhere.
//
// A secret is never written literally in a playbook or an inventory; only its
// reference is. This package imports nothing of the project.
package secret

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Forms lists the allowed reference forms, for error messages.
const Forms = "env:NAME, file:PATH or prompt"

// ErrLiteral is returned by Parse for a value that is not a reference.
var ErrLiteral = errors.New("a secret must be a reference (" + Forms + "), never the secret itself")

// Ref is a reference to a secret. The zero Ref is "no secret".
type Ref struct {
	Kind string // env, file, prompt
	// Name is the variable name or file path; for prompt, an optional
	// label saying what is asked (two prompts with different labels are
	// two questions).
	Name string
}

// Parse reads a reference. It never echoes s back in its error: s may be the
// secret itself, written by mistake.
func Parse(s string) (Ref, error) {
	switch {
	case s == "":
		return Ref{}, nil
	case s == "prompt":
		return Ref{Kind: "prompt"}, nil
	case strings.HasPrefix(s, "env:") && len(s) > 4:
		return Ref{Kind: "env", Name: s[4:]}, nil
	case strings.HasPrefix(s, "file:") && len(s) > 5:
		return Ref{Kind: "file", Name: s[5:]}, nil
	}
	return Ref{}, ErrLiteral
}

// IsZero reports whether r names no secret.
func (r Ref) IsZero() bool { return r.Kind == "" }

// String gives the reference (never the secret).
func (r Ref) String() string {
	if r.Kind == "prompt" || r.Kind == "" {
		return r.Kind
	}
	return r.Kind + ":" + r.Name
}

// Prompter asks the operator for a secret without echo.
type Prompter func(ctx context.Context, label string) (string, error)

// Resolver resolves references and remembers every value it returned in its
// Redactor.
type Resolver struct {
	Redactor *Redactor
	Prompt   Prompter // nil: prompt references fail
	Getenv   func(string) string

	mu    sync.Mutex
	cache map[Ref]string
}

// ErrNoTerminal is returned for a prompt reference when nobody can answer.
var ErrNoTerminal = errors.New("secret: prompt needs a terminal")

// Resolve returns the value r refers to. The same reference is resolved (and
// prompted for) once.
func (rs *Resolver) Resolve(ctx context.Context, r Ref) (string, error) {
	if r.IsZero() {
		return "", nil
	}
	rs.mu.Lock()
	if v, ok := rs.cache[r]; ok {
		rs.mu.Unlock()
		return v, nil
	}
	rs.mu.Unlock()
	var v string
	switch r.Kind {
	case "env":
		getenv := rs.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		v = getenv(r.Name)
		if v == "" {
			return "", fmt.Errorf("secret %s: environment variable %s is not set", r, r.Name)
		}
	case "file":
		b, err := os.ReadFile(expandHome(r.Name))
		if err != nil {
			return "", fmt.Errorf("secret %s: %w", r, err)
		}
		v = strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret %s: file is empty", r)
		}
	case "prompt":
		if rs.Prompt == nil {
			return "", ErrNoTerminal
		}
		label := r.Name
		if label == "" {
			label = "secret"
		}
		var err error
		if v, err = rs.Prompt(ctx, label); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("secret: unknown reference kind %q", r.Kind)
	}
	rs.mu.Lock()
	if rs.cache == nil {
		rs.cache = map[Ref]string{}
	}
	rs.cache[r] = v
	rs.mu.Unlock()
	if rs.Redactor != nil {
		rs.Redactor.Add(v)
	}
	return v, nil
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return h + p[1:]
		}
	}
	return p
}

// Placeholder replaces every redacted value.
const Placeholder = "«redacted»"

// Redactor replaces known secret values in text that came from a device
// or a transport (outputs, errors, captured values). It is safe for
// concurrent use.
//
// It redacts values, never encoded text: callers apply it to each string
// before that string is encoded (JSON, Markdown, HTML, YAML), so a secret
// that happens to be a key, an event name or a command of the playbook
// never rewrites the structure around it. Commands are not passed through
// it as a whole: only the values substituted into a command are
// (docs/run-folder.md, "Secrets").
//
// Each registered value is looked for as written, and in the forms a
// device may echo it in: JSON-escaped, XML-escaped, URL-escaped and
// base64. A value holding white space is also looked for word by word (a
// CLI echoes only the first unknown word: "Unknown command: correct").
// A needle shorter than MinAnywhere bytes is replaced only where it is a
// whole token: an edge of the needle that is a letter or a digit must not
// touch another letter or digit. So a one-letter secret "a" hides "a" in
// "Unknown command: a" but leaves "data" alone; longer needles are
// replaced wherever they occur.
type Redactor struct {
	mu    sync.RWMutex
	long  []string // needles replaced anywhere
	short []string // needles replaced as whole tokens, longest first
	r     *strings.Replacer
}

// MinAnywhere is the length from which a needle is replaced wherever it
// occurs; shorter ones are replaced as whole tokens only.
const MinAnywhere = 4

// Add registers a secret value, whatever its length. The empty string is
// ignored.
func (rd *Redactor) Add(v string) {
	if v == "" {
		return
	}
	needles := Encodings(v)
	if f := strings.Fields(v); len(f) > 1 || (len(f) == 1 && f[0] != v) {
		for _, w := range f {
			needles = append(needles, Encodings(w)...)
		}
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	for _, n := range needles {
		if len(n) >= MinAnywhere {
			if !slices.Contains(rd.long, n) {
				rd.long = append(rd.long, n)
			}
		} else if !slices.Contains(rd.short, n) {
			rd.short = append(rd.short, n)
		}
	}
	// Longest first, so a value never leaves a tail of a longer form behind.
	sort.SliceStable(rd.long, func(i, j int) bool { return len(rd.long[i]) > len(rd.long[j]) })
	sort.SliceStable(rd.short, func(i, j int) bool { return len(rd.short[i]) > len(rd.short[j]) })
	pairs := make([]string, 0, 2*len(rd.long))
	for _, o := range rd.long {
		pairs = append(pairs, o, Placeholder)
	}
	rd.r = strings.NewReplacer(pairs...)
}

// Encodings returns v and the forms it takes once escaped for JSON (with and
// without HTML escaping), XML, a URL query or path, and base64.
func Encodings(v string) []string {
	out := []string{v}
	add := func(f string) {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	for _, html := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(v) == nil {
			q := strings.TrimSuffix(b.String(), "\n")
			add(q[1 : len(q)-1])
		}
	}
	var x strings.Builder
	_ = xml.EscapeText(&x, []byte(v))
	add(x.String())
	add(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(v))
	add(url.QueryEscape(v))
	add(url.PathEscape(v))
	add(base64.StdEncoding.EncodeToString([]byte(v)))
	add(base64.RawStdEncoding.EncodeToString([]byte(v)))
	return out
}

// String returns s with every secret replaced.
func (rd *Redactor) String(s string) string {
	if rd == nil {
		return s
	}
	rd.mu.RLock()
	r, short := rd.r, rd.short
	rd.mu.RUnlock()
	if r != nil {
		s = r.Replace(s)
	}
	for _, n := range short {
		s = replaceTokens(s, n)
	}
	return s
}

// replaceTokens replaces the whole-token occurrences of n in s.
func replaceTokens(s, n string) string {
	var b strings.Builder
	last, from := 0, 0
	for {
		i := strings.Index(s[from:], n)
		if i < 0 {
			break
		}
		i += from
		end := i + len(n)
		if wholeToken(s, i, end) {
			b.WriteString(s[last:i])
			b.WriteString(Placeholder)
			last = end
			from = end
		} else {
			from = i + 1
		}
		if from >= len(s) {
			break
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// wholeToken reports whether s[i:end] does not continue a word on either
// side: an edge rune that is a letter or digit is not next to another.
func wholeToken(s string, i, end int) bool {
	first, _ := utf8.DecodeRuneInString(s[i:end])
	lastR, _ := utf8.DecodeLastRuneInString(s[i:end])
	if word(first) && i > 0 {
		if prev, _ := utf8.DecodeLastRuneInString(s[:i]); word(prev) {
			return false
		}
	}
	if word(lastR) && end < len(s) {
		if next, _ := utf8.DecodeRuneInString(s[end:]); word(next) {
			return false
		}
	}
	return true
}

func word(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Writer returns a writer that redacts what it passes to w. Lines are
// redacted whole, so a secret split across two Write calls within one line
// is still caught; call Close to flush a last partial line.
func (rd *Redactor) Writer(w io.Writer) io.WriteCloser {
	return &redactWriter{rd: rd, w: w}
}

type redactWriter struct {
	rd  *Redactor
	w   io.Writer
	buf []byte
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	rw.buf = append(rw.buf, p...)
	i := strings.LastIndexByte(string(rw.buf), '\n')
	if i < 0 {
		return len(p), nil
	}
	if _, err := io.WriteString(rw.w, rw.rd.String(string(rw.buf[:i+1]))); err != nil {
		return 0, err
	}
	rw.buf = append(rw.buf[:0], rw.buf[i+1:]...)
	return len(p), nil
}

func (rw *redactWriter) Close() error {
	if len(rw.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(rw.w, rw.rd.String(string(rw.buf)))
	rw.buf = rw.buf[:0]
	return err
}
