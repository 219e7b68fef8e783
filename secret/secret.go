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
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
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

// Redactor replaces known secret values, and their URL-encoded and base64
// forms, in text. It is safe for concurrent use.
type Redactor struct {
	mu   sync.RWMutex
	olds []string
	r    *strings.Replacer
}

// Add registers a secret value. Values shorter than 4 bytes are refused as
// too likely to redact innocent text; they are still never logged by us.
func (rd *Redactor) Add(v string) {
	if len(v) < 4 {
		return
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	for _, f := range append([]string{v, url.QueryEscape(v), url.PathEscape(v),
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v))}, jsonForms(v)...) {
		if !contains(rd.olds, f) {
			rd.olds = append(rd.olds, f)
		}
	}
	// Longest first, so a value never leaves a tail of a longer form behind.
	sort.Slice(rd.olds, func(i, j int) bool { return len(rd.olds[i]) > len(rd.olds[j]) })
	pairs := make([]string, 0, 2*len(rd.olds))
	for _, o := range rd.olds {
		pairs = append(pairs, o, Placeholder)
	}
	rd.r = strings.NewReplacer(pairs...)
}

// jsonForms returns v as it appears inside a JSON string, with and without
// HTML escaping: the journal and manifest.json are redacted once encoded,
// where ", \, <, >, & and control characters are escaped.
func jsonForms(v string) []string {
	var out []string
	for _, html := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(v) != nil {
			continue
		}
		q := strings.TrimSuffix(b.String(), "\n")
		out = append(out, q[1:len(q)-1])
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// String returns s with every secret replaced.
func (rd *Redactor) String(s string) string {
	if rd == nil {
		return s
	}
	rd.mu.RLock()
	r := rd.r
	rd.mu.RUnlock()
	if r == nil {
		return s
	}
	return r.Replace(s)
}

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
