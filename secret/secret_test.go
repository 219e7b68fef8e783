package secret_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/secret"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want secret.Ref
		err  error
	}{
		{"", secret.Ref{}, nil},
		{"prompt", secret.Ref{Kind: "prompt"}, nil},
		{"env:FW1_PASSWORD", secret.Ref{Kind: "env", Name: "FW1_PASSWORD"}, nil},
		{"file:~/.fw1", secret.Ref{Kind: "file", Name: "~/.fw1"}, nil},
		{"hunter22", secret.Ref{}, secret.ErrLiteral},
		{"env:", secret.Ref{}, secret.ErrLiteral},
		{"file:", secret.Ref{}, secret.ErrLiteral},
	}
	for _, tc := range tests {
		got, err := secret.Parse(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && tc.in == "hunter22" && strings.Contains(err.Error(), tc.in) {
			t.Errorf("Parse(%q): the error echoes the input: %v", tc.in, err)
		}
	}
	if s := (secret.Ref{Kind: "env", Name: "X"}).String(); s != "env:X" {
		t.Errorf("String %q", s)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pw")
	if err := os.WriteFile(f, []byte("from-file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rd := &secret.Redactor{}
	prompts := 0
	rs := &secret.Resolver{
		Redactor: rd,
		Getenv:   func(k string) string { return map[string]string{"PW": "from-env-secret"}[k] },
		Prompt: func(context.Context, string) (string, error) {
			prompts++
			return "typed-secret", nil
		},
	}
	ctx := context.Background()
	for _, tc := range []struct {
		ref  secret.Ref
		want string
	}{
		{secret.Ref{Kind: "env", Name: "PW"}, "from-env-secret"},
		{secret.Ref{Kind: "file", Name: f}, "from-file-secret"},
		{secret.Ref{Kind: "prompt"}, "typed-secret"},
		{secret.Ref{Kind: "prompt"}, "typed-secret"}, // asked once
	} {
		got, err := rs.Resolve(ctx, tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%s) = %q, %v", tc.ref, got, err)
		}
	}
	if prompts != 1 {
		t.Errorf("prompted %d times, want 1", prompts)
	}
	if _, err := rs.Resolve(ctx, secret.Ref{Kind: "env", Name: "UNSET"}); err == nil || !strings.Contains(err.Error(), "UNSET is not set") {
		t.Errorf("unset env: %v", err)
	}
	if _, err := (&secret.Resolver{}).Resolve(ctx, secret.Ref{Kind: "prompt"}); !errors.Is(err, secret.ErrNoTerminal) {
		t.Errorf("prompt without terminal: %v", err)
	}
	// Every resolved value is now redacted, in its plain, URL-encoded and
	// base64 forms.
	text := "a from-env-secret b " + url.QueryEscape("typed-secret") + " c " + base64.StdEncoding.EncodeToString([]byte("from-file-secret"))
	out := rd.String(text)
	for _, s := range []string{"from-env-secret", "typed-secret", "from-file-secret", base64.StdEncoding.EncodeToString([]byte("from-file-secret"))} {
		if strings.Contains(out, s) {
			t.Errorf("redacted text still holds %q: %s", s, out)
		}
	}
	if strings.Count(out, secret.Placeholder) != 3 {
		t.Errorf("redacted: %s", out)
	}
}

func TestRedactWriterAcrossWrites(t *testing.T) {
	rd := &secret.Redactor{}
	rd.Add("s3cr3t-value")
	var buf bytes.Buffer
	w := rd.Writer(&buf)
	for _, part := range []string{"password is s3c", "r3t-val", "ue\nnext line s3cr3t-value", " tail"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); strings.Contains(got, "s3cr3t") || strings.Count(got, secret.Placeholder) != 2 {
		t.Errorf("got %q", got)
	}
}

// TestRedactRule pins how each kind of secret is hidden in device text:
// short ones as whole tokens only, words of a secret with a space one by
// one, escaped forms as the device may echo them.
func TestRedactRule(t *testing.T) {
	P := secret.Placeholder
	cases := []struct{ secret, in, want string }{
		{"a", "Unknown command: a", "Unknown command: " + P},
		{"a", "data a-b 0xa", "data " + P + "-b 0xa"},
		{"ab", "tab stop", "tab stop"},
		{"ab", "key=ab&x", "key=" + P + "&x"},
		{"x y", "Unknown command: x", "Unknown command: " + P},
		{"x y", "show x y", "show " + P},
		{"correct horse", "Unknown command: correct", "Unknown command: " + P},
		{`"q'`, `say "q' and x"q'y`, "say " + P + " and x" + P + "y"},
		{`"q'`, "&quot;q&apos;", P},
		{`<&%\`, `a <&%\ b`, "a " + P + " b"},
		{`<&%\`, "&lt;&amp;%\\ %3C%26%25%5C", P + " " + P},
		{`<&%\`, `"\u003c\u0026%\\"`, `"` + P + `"`},
		{"pässwörd", "pässwörd cMOkc3N3w7ZyZA== p%C3%A4ssw%C3%B6rd", P + " " + P + " " + P},
		{"undo", "undone", P + "ne"},
		{"debug", "", ""},
	}
	for _, c := range cases {
		rd := &secret.Redactor{}
		rd.Add(c.secret)
		if got := rd.String(c.in); got != c.want {
			t.Errorf("secret %q: String(%q) = %q, want %q", c.secret, c.in, got, c.want)
		}
	}
	var nilRd *secret.Redactor
	if got := nilRd.String("x"); got != "x" {
		t.Errorf("nil redactor: %q", got)
	}
}

// TestRedactJSONEscapedForms: a device may echo a secret inside JSON it
// encoded itself, where ", \, <, > and & are escaped; a secret holding one
// of them must still be caught in its escaped form. (Our own files are
// redacted as values before encoding, never like this.)
func TestRedactJSONEscapedForms(t *testing.T) {
	for _, pw := range []string{`p&ss<w>rd`, `qu"ote\d`, "tab\there"} {
		rd := &secret.Redactor{}
		rd.Add(pw)
		line := map[string]string{"command": "request login password " + pw}
		var html, plain bytes.Buffer
		if err := json.NewEncoder(&html).Encode(line); err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(&plain)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(line); err != nil {
			t.Fatal(err)
		}
		for _, b := range []bytes.Buffer{html, plain} {
			var back map[string]string
			if err := json.Unmarshal([]byte(rd.String(b.String())), &back); err != nil {
				t.Fatalf("redacted JSON does not decode: %v", err)
			}
			if strings.Contains(back["command"], pw) || !strings.Contains(back["command"], secret.Placeholder) {
				t.Errorf("secret %d bytes long not redacted from its JSON form: %d-byte result", len(pw), len(back["command"]))
			}
		}
	}
}
