package replay_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports/replay"
)

func TestRedaction(t *testing.T) {
	rd := &secret.Redactor{}
	rd.Add("pa55word!")
	red, err := replay.NewRedaction(rd,
		replay.Pattern{Name: "IP", Regexp: regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)},
		replay.Pattern{Name: "HOST", Regexp: regexp.MustCompile(`hostname: (\S+)`)},
	)
	if err != nil {
		t.Fatal(err)
	}
	// Run in order: placeholders are numbered as values are first seen.
	tests := []struct{ in, want string }{
		{"ping 10.0.0.1 and 10.0.0.2", "ping IP-1 and IP-2"},
		{"again 10.0.0.2, then 10.0.0.1", "again IP-2, then IP-1"},
		{"hostname: fw-berlin", "hostname: HOST-1"},
		{"password pa55word! and pa55word%21", "password «redacted» and «redacted»"},
		{"GET /api/?type=op&key=abc%2Fdef&cmd=x", "GET /api/?type=op&key=«redacted»&cmd=x"},
		{"key=abc&type=op", "key=«redacted»&type=op"},
		{"X-PAN-KEY: abcdef123", "X-PAN-KEY: «redacted»"},
		{`{"x-pan-key": "abcdef123"}`, `{"x-pan-key": "«redacted»"}`},
		{"Authorization: Basic YWRtaW46eA==", "Authorization: Basic «redacted»"},
		{"<key>LUFRPT14MW5xOEo1R09KVlBZNnpnemh0VHRBOWl6TGM9bXcwM3JHUGVhRlNiY0dCR0srNERUQT09</key>", "<key>«redacted»</key>"},
		{"monkey=banana", "monkey=banana"},
		{"nothing to see", "nothing to see"},
	}
	for _, tt := range tests {
		if got := red.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := red.Secrets("ping 10.0.0.9 pa55word!"); got != "ping 10.0.0.9 «redacted»" {
		t.Errorf("Secrets touched a pattern or missed a secret: %q", got)
	}
	info := red.Info()
	if !info.Secrets || len(info.Patterns) != 2 || info.Patterns[1].Regexp != `hostname: (\S+)` {
		t.Errorf("Info() = %+v", info)
	}
	v := red.Value(map[string]any{"a": []any{"10.0.0.1", 7}, "b": "pa55word!"})
	if got := v.(map[string]any); got["a"].([]any)[0] != "IP-1" || got["a"].([]any)[1] != 7 || got["b"] != secret.Placeholder {
		t.Errorf("Value = %v", v)
	}
}

func TestNewRedactionRefuses(t *testing.T) {
	tests := []struct {
		name string
		p    []replay.Pattern
		msg  string
	}{
		{"bad name", []replay.Pattern{{Name: "1P", Regexp: regexp.MustCompile("x")}}, `redaction: pattern name "1P" must be letters, digits and _ and start with a letter`},
		{"twice", []replay.Pattern{{Name: "IP", Regexp: regexp.MustCompile("x")}, {Name: "IP", Regexp: regexp.MustCompile("y")}}, `redaction: pattern name "IP" used twice`},
		{"empty match", []replay.Pattern{{Name: "IP", Regexp: regexp.MustCompile("x*")}}, `redaction: pattern IP matches the empty string`},
		{"no regexp", []replay.Pattern{{Name: "IP"}}, `redaction: pattern IP has no regexp`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := replay.NewRedaction(nil, tt.p...)
			if err == nil || err.Error() != tt.msg {
				t.Fatalf("NewRedaction = %v, want %s", err, tt.msg)
			}
		})
	}
}

// FuzzDecode: Decode never panics, and what it reads survives Encode and
// Decode unchanged.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"testdata/session.yaml", "testdata/conformance.yaml", "testdata/golden.yaml"} {
		c, err := replay.Load(name)
		if err != nil {
			f.Fatal(err)
		}
		var b strings.Builder
		if err := replay.Encode(&b, c); err != nil {
			f.Fatal(err)
		}
		f.Add(b.String())
	}
	f.Add("version: 1\nexchanges:\n  - command: x\n    output: |2-\n       a\n")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := replay.Decode("f", []byte(src))
		if err != nil {
			return
		}
		var b strings.Builder
		if err := replay.Encode(&b, c); err != nil {
			t.Fatal(err)
		}
		c2, err := replay.Decode("f", []byte(b.String()))
		if err != nil {
			t.Fatalf("re-reading an encoded cassette: %v\n%s", err, b.String())
		}
		for i := range c.Exchanges {
			if c.Exchanges[i].Output != c2.Exchanges[i].Output || c.Exchanges[i].Command != c2.Exchanges[i].Command {
				t.Fatalf("exchange %d changed: %q -> %q", i, c.Exchanges[i].Output, c2.Exchanges[i].Output)
			}
		}
	})
}
