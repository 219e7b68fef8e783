package replay

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// streamed decodes b as a stream and says how many items the fast path
// read; ok is false when the stream gave up.
func streamed(t *testing.T, b []byte) (c *Cassette, fast int, ok bool) {
	t.Helper()
	s := newStreamer("c.yaml", bytes.NewReader(b))
	c, ok = s.run()
	return c, s.fast, ok
}

// sameAsWhole checks that the stream reads b exactly as the whole-file
// decoder does (or gives up), and that Decode returns what decodeWhole
// does, error included.
func sameAsWhole(t *testing.T, what string, b []byte) (fast int, ok bool) {
	t.Helper()
	want, werr := decodeWhole("c.yaml", b)
	got, fast, ok := streamed(t, b)
	if ok {
		if werr != nil {
			t.Fatalf("%s: stream read it, whole decode refuses it: %v", what, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: stream differs from whole decode:\nstream %#v\nwhole  %#v", what, got, want)
		}
	}
	dc, derr := Decode("c.yaml", b)
	if (derr == nil) != (werr == nil) || derr != nil && derr.Error() != werr.Error() {
		t.Fatalf("%s: Decode error %v, whole decode %v", what, derr, werr)
	}
	if derr == nil && !reflect.DeepEqual(dc, want) {
		t.Fatalf("%s: Decode differs from whole decode", what)
	}
	return fast, ok
}

// TestStreamShippedCassettes reads every cassette in the repository both
// ways.
func TestStreamShippedCassettes(t *testing.T) {
	var files []string
	for _, g := range []string{"../../examples/cassettes/*.yaml", "testdata/*.yaml", "../record/testdata/*.yaml", "../../engine/testdata/*.yaml", "../../report/testdata/*.yaml"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	read, fastTotal := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("\nexchanges:")) || strings.HasSuffix(f, ".expect.yaml") {
			continue
		}
		fast, ok := sameAsWhole(t, f, b)
		if ok {
			read++
		}
		fastTotal += fast
	}
	if read < 40 || fastTotal < 200 {
		t.Errorf("the stream read %d cassettes (%d exchanges on the fast path); want most of them", read, fastTotal)
	}
}

// TestStreamShapes reads hand-written variants of the format both ways.
func TestStreamShapes(t *testing.T) {
	const head = "version: 1\ntarget:\n  name: fw1\n"
	tests := []struct {
		name, src string
		stream    bool // the stream reads it (else it gives up)
		fast      int  // items on the fast path
	}{
		{"plain", head + "exchanges:\n  - command: show clock\n    duration: 42ms\n    output: |\n      Thu Nov 27\n", true, 1},
		{"no final newline", head + "exchanges:\n  - command: show clock\n    output: |\n      Thu Nov 27", true, 0},
		{"crlf", strings.ReplaceAll(head+"exchanges:\n  - command: show clock\n    output: |\n      a\n\n      b\n  - command: x\n", "\n", "\r\n"), true, 2},
		{"lone cr", head + "exchanges:\n  - command: show clock\n    output: |\n      a\rb\n", false, 0},
		{"indent 0", head + "exchanges:\n- command: show clock\n  output: |-\n    a\n- command: b\n", true, 2},
		{"keep", head + "exchanges:\n  - command: a\n    output: |+\n      a\n\n\n  - command: b\n", true, 2},
		{"leading space", head + "exchanges:\n  - command: a\n    output: |2\n        x\n      y\n", true, 1},
		{"leading blank lines", head + "exchanges:\n  - command: a\n    output: |\n\n      x\n", true, 1},
		{"blank line with too many spaces", head + "exchanges:\n  - command: a\n    output: |\n         \n      x\n", false, 0},
		{"spaces-only line", head + "exchanges:\n  - command: a\n    output: |\n      x\n         \n      y\n", true, 1},
		{"other indent", head + "exchanges:\n  - command: a\n    output: |\n         x\n", true, 0},
		{"comments", head + "exchanges:\n  # first\n  - command: a # a comment\n# between\n  - command: b\n", true, 1},
		{"quoted", head + "exchanges:\n  - command: 'it''s'\n  - command: \"x y\"\n  - command: \"a\\tb\"\n", true, 2},
		{"two quoted", head + "exchanges:\n  - command: 'a' 'b'\n", false, 0},
		{"unicode", head + "exchanges:\n  - command: show «redacted»\n    output: |\n      → ok\n", true, 1},
		{"c1 control", head + "exchanges:\n  - command: a\n    output: |\n      a\u0085b\n", false, 0},
		{"error and data", head + "exchanges:\n  - command: a\n    error:\n      kind: timeout\n      message: m\n  - command: b\n    data:\n      k: v\n", true, 0},
		{"export", head + "export:\n  categories: [x]\nexchanges:\n  - command: a\n  - export:\n      category: x\n      name: n\n      size: 1\n      sha256: " + strings.Repeat("ab", 32) + "\n      base64: YQ==\n", true, 1},
		{"flow list", head + "exchanges: [{command: a}]\n", false, 0},
		{"key after", head + "exchanges:\n  - command: a\nplaybook: p\n", false, 0},
		{"anchor across", head + "exchanges:\n  - command: &c a\n  - command: *c\n", false, 0},
		{"multi-line plain", head + "exchanges:\n  - command: a\n      b\n", true, 0},
		{"null command", head + "exchanges:\n  - command: null\n", false, 0},
		{"bool command", head + "exchanges:\n  - command: true\n", true, 1},
		{"tabs", head + "exchanges:\n  - command: a\tb\n    output: |\n      x\ty\n", true, 0},
		{"tab first", head + "exchanges:\n  - command: a\n    output: |\n      \tx\n", false, 0},
		{"tab first, explicit", head + "exchanges:\n  - command: a\n    output: |2\n      \tx\n", true, 1},
		{"unknown key", head + "exchanges:\n  - command: a\n    outptu: x\n", false, 0},
		{"version 2", "version: 2\nexchanges:\n  - command: a\n", false, 0},
		{"no exchanges", head, false, 0},
		{"empty exchanges", head + "exchanges:\n", true, 0},
		{"second document", head + "exchanges:\n  - command: a\n---\nversion: 1\n", false, 0},
		{"dash alone", head + "exchanges:\n  -\n    command: a\n", true, 0},
		{"bad duration", head + "exchanges:\n  - command: a\n    duration: -1s\n", false, 0},
		{"duplicate key", head + "exchanges:\n  - command: a\n    command: b\n", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast, ok := sameAsWhole(t, tt.name, []byte(tt.src))
			if ok != tt.stream || fast != tt.fast {
				t.Errorf("stream read it %v with %d on the fast path, want %v with %d", ok, fast, tt.stream, tt.fast)
			}
		})
	}
}

// TestStreamEncoded encodes random outputs and commands and reads them
// back both ways.
func TestStreamEncoded(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	parts := []string{"a", "b", " ", "  ", "\n", "\n\n", "\t", "#", ": ", "-", "|", "'", "\"", "\\", "«", "→", "\r", "\x01", "\u2028", "{", "[", "~", "null", "0x1", "!", "&a", "*a", "%", "@", "`", ">"}
	str := func() string {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		return b.String()
	}
	fastTotal := 0
	for i := range 300 {
		c := &Cassette{Header: Header{Target: Target{Name: "fw1"}}}
		for range 1 + r.IntN(4) {
			c.Exchanges = append(c.Exchanges, Exchange{Command: str(), XML: str(), Output: str(), Duration: time.Duration(r.IntN(3)) * time.Millisecond})
		}
		var b bytes.Buffer
		if err := Encode(&b, c); err != nil {
			t.Fatal(err)
		}
		fast, _ := sameAsWhole(t, b.String(), b.Bytes())
		fastTotal += fast
		if i == 0 && testing.Verbose() {
			t.Log(b.String())
		}
	}
	if fastTotal < 50 {
		t.Errorf("only %d exchanges on the fast path", fastTotal)
	}
}
