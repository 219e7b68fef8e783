package ssh

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/sessionlog"
)

// syncBuffer is a bytes.Buffer safe for the shell's reader and writer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSessionLogSimulator: the session log holds the whole exchange with
// the simulator (set-up commands, echoes, prompts, the scp password
// question) and neither the secret prompt answer nor the login password.
func TestSessionLogSimulator(t *testing.T) {
	const scpPW = "scp-Log-Secret-7"
	dev := sim.NewDevice(sim.Options{ScpPassword: scpPW})
	f := start(t, dev, sim.SSHConfig{})
	rd := &secret.Redactor{}
	var out syncBuffer
	log := sessionlog.New(&out, rd.String)
	o := f.opts
	o.SessionLog = log
	o.Secret = rd.Add
	tr, err := Dial(context.Background(), f.target, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, cli := range []string{"show clock", "debug ike pcap on", "debug ike pcap off"} {
		if _, err := tr.Run(ctx, transports.Command{CLI: cli}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Run(ctx, transports.Command{
		CLI:     "scp export debug-pcap from ikemgr.pcap to bob@192.0.2.9:/tmp",
		Prompts: []transports.Prompt{{Pattern: regexp.MustCompile(`password: $`), Answer: scpPW, Secret: true}},
	}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	log.Close()
	got := out.String()
	for _, want := range []string{"set cli pager off", "show system info", "show clock\n", "show clock\r\n", "bob@192.0.2.9's password:", secret.Placeholder + "\n", "admin@"} {
		if !strings.Contains(got, want) {
			t.Errorf("session log lacks %q", want)
		}
	}
	for _, s := range append(secret.Encodings(scpPW), secret.Encodings(testPassword)...) {
		if strings.Contains(got, s) {
			t.Errorf("session log holds a secret (%s...)", s[:4])
		}
	}
}

// splitTap closes seen once a read ends with first: the fake device then
// sends the rest, so the secret is cut across two reads of the channel.
type splitTap struct {
	w     io.Writer
	first string
	seen  chan struct{}
	once  sync.Once
	mu    sync.Mutex
	reads []string
}

func (s *splitTap) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.reads = append(s.reads, string(p))
	s.mu.Unlock()
	if strings.HasSuffix(string(p), s.first) {
		s.once.Do(func() { close(s.seen) })
	}
	return s.w.Write(p)
}

func (s *splitTap) Flush() error { sessionlog.Flush(s.w); return nil }

// TestSessionLogSplitSecret: a registered secret the device prints in two
// pieces, the second sent only once the first was read, is redacted.
func TestSessionLogSplitSecret(t *testing.T) {
	const tok = "tok-Split-Secret-42"
	first, rest := tok[:7], tok[7:]
	rd := &secret.Redactor{}
	rd.Add(tok)
	var out syncBuffer
	log := sessionlog.New(&out, rd.String)
	tap := &splitTap{w: log, first: "token: " + first, seen: make(chan struct{})}
	const prompt = "admin@PA-1> "
	tg, o := startScripted(t, scriptedShell{login: "Welcome admin.\r\n" + prompt, answer: func(l string, w io.Writer) {
		if l == "show token" {
			io.WriteString(w, "token: "+first)
			select {
			case <-tap.seen:
			case <-time.After(20 * time.Second):
				return // the test fails below: the split was not seen
			}
			io.WriteString(w, rest+"\r\n")
		}
		io.WriteString(w, "\r\n"+prompt)
	}})
	o.SessionLog = tap
	tr, err := Config{CommandTimeout: 30 * time.Second}.Dial(context.Background(), tg, o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background(), transports.Command{CLI: "show token"})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	log.Close()
	if !strings.Contains(res.Text, tok) {
		t.Fatalf("the device did not print the token: %q", res.Text)
	}
	select {
	case <-tap.seen:
	default:
		t.Fatal("the first piece was never read on its own")
	}
	got := out.String()
	if strings.Contains(got, tok) || strings.Contains(got, first+rest[:3]) {
		t.Errorf("session log holds the split secret: %q", got)
	}
	if !strings.Contains(got, "token: "+secret.Placeholder) {
		t.Errorf("session log lacks the redacted line: %q", got)
	}
}
