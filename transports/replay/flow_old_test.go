package replay

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// flowScalarOld is flowScalar as it was before flowBytes, kept to compare
// with.
func flowScalarOld(v []byte) (string, bool) {
	v = bytes.TrimRight(v, " ")
	if len(v) == 0 || !printableOld(v) || bytes.IndexByte(v, '\t') >= 0 {
		return "", false
	}
	switch v[0] {
	case '\'':
		if len(v) < 2 || v[len(v)-1] != '\'' {
			return "", false
		}
		in := v[1 : len(v)-1]
		// '' is one quote; a lone quote ends the scalar early.
		if bytes.Count(in, []byte("'"))%2 != 0 || bytes.Contains(bytes.ReplaceAll(in, []byte("''"), nil), []byte("'")) {
			return "", false
		}
		return string(bytes.ReplaceAll(in, []byte("''"), []byte("'"))), true
	case '"':
		if len(v) < 2 || v[len(v)-1] != '"' {
			return "", false
		}
		in := v[1 : len(v)-1]
		if bytes.ContainsAny(in, "\"\\") {
			return "", false
		}
		return string(in), true
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`':
		return "", false
	}
	if bytes.Contains(v, []byte(": ")) || bytes.Contains(v, []byte(" #")) || v[len(v)-1] == ':' {
		return "", false
	}
	switch string(v) {
	case "~", "null", "Null", "NULL":
		return "", false
	}
	return string(v), true
}

var flowSeeds = []string{"", " ", "show clock", "50ms  ", "'it''s'", "'a'b'", "''", "'", `"x"`, `"a\"b"`, `"`, "- x", "a: b", "a #c", "a:",
	"~", "null", "Null", "a\tb", "héllo", "\x7f", "ssh", "1h2m3.5s", "-1s", "'1s'", `"2s"`}

// FuzzFlowBytes: flowBytes gives the text and the answer flowScalar gave.
func FuzzFlowBytes(f *testing.F) {
	for _, s := range flowSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		want, wok := flowScalarOld(v)
		got, ok := flowBytes(v)
		if ok != wok || string(got) != want {
			t.Fatalf("flowBytes(%q) = %q, %v; flowScalarOld %q, %v", v, got, ok, want, wok)
		}
	})
}

// checked reads b as Open checks it, and as a replay reads it, and fails
// when the two take a different decision or count, or a different path.
func checked(t *testing.T, b []byte) {
	t.Helper()
	read := newStreamer("c.yaml", bytes.NewReader(b))
	wc, wn, wok := checkStream(read)
	chk := newStreamer("c.yaml", bytes.NewReader(b))
	chk.check = true
	c, n, ok := checkStream(chk)
	if ok != wok || n != wn || !reflect.DeepEqual(c, wc) {
		t.Fatalf("checking %q: %d exchanges, %v; reading them: %d, %v", b, n, ok, wn, wok)
	}
	if chk.fast != read.fast {
		t.Fatalf("checking %q: %d exchanges on the fast path; reading them: %d", b, chk.fast, read.fast)
	}
}

// TestCheckReadsAsReplay: the check Open makes, which keeps no command or
// output, takes each decision reading every exchange would take, on every
// cassette in the repository and on exchanges of each shape.
func TestCheckReadsAsReplay(t *testing.T) {
	var files []string
	for _, g := range []string{"../../examples/cassettes/*.yaml", "testdata/*.yaml", "../record/testdata/*.yaml", "../../engine/testdata/*.yaml", "../../report/testdata/*.yaml"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no cassettes")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checked(t, b)
	}
	for _, x := range []string{
		"  - command: x\n    duration: |\n      1s\n",
		"  - command: x\n    duration: |-\n      1s\n",
		"  - command: x\n    duration: |-\n      -1s\n",
		"  - command: x\n    duration: |-\n      soon\n",
		"  - command: x\n    duration: '2s'\n",
		"  - command: x\n    duration: soon\n",
		"  - command: x\n    output: |-\n      a\n\n      b\n",
		"  - command: 'it''s'\n    transport: ssh\n",
		"  - output: x\n",
	} {
		checked(t, []byte("version: 1\nexchanges:\n"+x))
	}
}

func FuzzCheckReadsAsReplay(f *testing.F) {
	f.Add([]byte("version: 1\nexchanges:\n  - command: x\n    duration: |-\n      1s\n    output: |\n      a\n"))
	f.Add([]byte("version: 1\nexchanges:\n  - command: x\n    output: |2-\n       a\n  - export: {category: c, name: n}\n  - command: y\n"))
	f.Fuzz(func(t *testing.T, b []byte) { checked(t, b) })
}

// FuzzEncodedDuration: where encodedDuration reads a duration, it is the
// one time.ParseDuration reads.
func FuzzEncodedDuration(f *testing.F) {
	for _, s := range []string{"45ms", "0s", "1.5s", "1.234s", "999999999.999999999s", "1.5ms", "0.000001ms", "1m2s", "750µs", ".5s", "5.s", "s", "ms", "-1s", "+1s",
		"1234567890s", "01s", "1.0000000001s", "12ms ", "1e3s", "3h"} {
		f.Add(s)
	}
	for _, d := range []time.Duration{0, time.Millisecond, 45 * time.Millisecond, 1500 * time.Millisecond, 59999 * time.Millisecond, time.Minute, 90 * time.Second, time.Microsecond * 750} {
		f.Add(formatDuration(d))
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := encodedDuration([]byte(s))
		if !ok {
			return
		}
		want, err := time.ParseDuration(s)
		if err != nil || d != want {
			t.Fatalf("encodedDuration(%q) = %v; ParseDuration %v, %v", s, d, want, err)
		}
	})
}

// TestEncodedDurationReadsEncode: every duration Encode writes below a
// minute, in steps of a millisecond, is read here, as ParseDuration reads it.
func TestEncodedDurationReadsEncode(t *testing.T) {
	for ms := time.Duration(0); ms < 60000; ms++ {
		s := formatDuration(ms * time.Millisecond)
		d, ok := encodedDuration([]byte(s))
		want, err := time.ParseDuration(s)
		if !ok || err != nil || d != want {
			t.Fatalf("encodedDuration(%q) = %v, %v; ParseDuration %v, %v", s, d, ok, want, err)
		}
	}
}
