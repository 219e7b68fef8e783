package sessionlog

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/secret"
)

func newLog(secrets ...string) (*Writer, *bytes.Buffer, *secret.Redactor) {
	rd := &secret.Redactor{}
	for _, s := range secrets {
		rd.Add(s)
	}
	var out bytes.Buffer
	return New(&out, rd.String), &out, rd
}

// TestSplitSecret: a secret cut by two reads of the channel, at every
// position, never reaches the file.
func TestSplitSecret(t *testing.T) {
	const s = "hunter2-Xy9"
	text := "admin@fw> show token\r\ntoken: " + s + " (current)\r\nadmin@fw> "
	at := strings.Index(text, s)
	for cut := at; cut <= at+len(s); cut++ {
		l, out, _ := newLog(s)
		l.Write([]byte(text[:cut]))
		l.Flush() // a flush between the two reads may not cut the secret
		l.Write([]byte(text[cut:]))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		want := strings.Replace(text, s, secret.Placeholder, 1)
		if out.String() != want {
			t.Fatalf("cut at %d: wrote %q, want %q", cut, out.String(), want)
		}
	}
}

// TestLinesWrittenAsTheyEnd: whole lines are written at once; a prompt (no
// line end) waits for Flush, which keeps a last word that may be a
// secret's start.
func TestLinesWrittenAsTheyEnd(t *testing.T) {
	l, out, _ := newLog("s3cr3t-pw")
	l.Write([]byte("line one\nline tw"))
	if got := out.String(); got != "line one\n" {
		t.Fatalf("after one write: %q", got)
	}
	l.Write([]byte("o\nadmin@fw> "))
	l.Flush()
	if got := out.String(); got != "line one\nline two\nadmin@fw> " {
		t.Fatalf("after flush: %q", got)
	}
	l.Write([]byte("password: s3cr"))
	l.Flush()
	if got := out.String(); strings.Contains(got, "s3cr") {
		t.Fatalf("flush wrote the start of a secret: %q", got)
	}
	l.Write([]byte("3t-pw\n"))
	l.Close()
	if got := out.String(); !strings.HasSuffix(got, "password: "+secret.Placeholder+"\n") {
		t.Fatalf("end: %q", got)
	}
}

// TestLongLineBounded: a line that does not end is written at white space
// once past the soft bound, and whole past the hard bound, so memory
// stays bounded; a secret in it is still redacted.
func TestLongLineBounded(t *testing.T) {
	const s = "verysecret-123"
	l, out, _ := newLog(s)
	word := strings.Repeat("x", 1000) + " "
	for i := 0; i < 2*softMax/len(word); i++ {
		l.Write([]byte(word))
	}
	l.Write([]byte(s[:5]))
	l.Write([]byte(s[5:] + " "))
	if len(l.buf) > softMax+len(word) {
		t.Errorf("%d bytes held back", len(l.buf))
	}
	l.Write(bytes.Repeat([]byte("y"), hardMax+1))
	if len(l.buf) != 0 {
		t.Errorf("past the hard bound %d bytes still held", len(l.buf))
	}
	l.Close()
	if strings.Contains(out.String(), s) || !strings.Contains(out.String(), secret.Placeholder) {
		t.Error("secret not redacted in a long line")
	}
}

// TestRegisteredLater: a secret registered after it was written but before
// its line ended (a generated API key) is redacted.
func TestRegisteredLater(t *testing.T) {
	l, out, rd := newLog()
	l.Write([]byte("<key>LUFRPTabcdef0123"))
	rd.Add("LUFRPTabcdef0123")
	l.Write([]byte("</key>\n"))
	l.Close()
	if strings.Contains(out.String(), "LUFRPT") {
		t.Errorf("wrote %q", out.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorReported(t *testing.T) {
	l := New(failWriter{}, nil)
	if _, err := l.Write([]byte("a\n")); err == nil || err.Error() != "disk full" {
		t.Errorf("Write: %v", err)
	}
	if err := l.Close(); err == nil {
		t.Error("Close: no error")
	}
}
