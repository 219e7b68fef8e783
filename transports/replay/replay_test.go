package replay_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
	"github.com/runbook-dev/runbook/transports/transporttest"
)

func load(t *testing.T, path string) *replay.Cassette {
	t.Helper()
	c, err := replay.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// step is one command sent in a replay scenario and what must come back.
type step struct {
	cmd     string
	timeout time.Duration
	text    string // wanted output, when err is nil
	err     error  // wanted sentinel (errors.Is), nil for success
	msg     string // wanted error message, if pinned
}

func play(t *testing.T, tr *replay.Transport, steps []step) {
	t.Helper()
	for i, s := range steps {
		res, err := tr.Run(context.Background(), transports.Command{CLI: s.cmd, Timeout: s.timeout})
		switch {
		case s.err == nil && err != nil:
			t.Fatalf("step %d: Run(%q): %v", i+1, s.cmd, err)
		case s.err != nil && !errors.Is(err, s.err):
			t.Fatalf("step %d: Run(%q) = %v, want %v", i+1, s.cmd, err, s.err)
		case s.msg != "" && err.Error() != s.msg:
			t.Fatalf("step %d: Run(%q) error\n got: %s\nwant: %s", i+1, s.cmd, err, s.msg)
		case s.err == nil && s.text != "" && res.Text != s.text:
			t.Fatalf("step %d: Run(%q) = %q, want %q", i+1, s.cmd, res.Text, s.text)
		}
	}
}

const (
	flow10 = "  decap packets:          10\n  encap packets:          12\n"
	flow20 = "  decap packets:          20\n  encap packets:          24\n"
)

func TestStrict(t *testing.T) {
	c := load(t, "testdata/session.yaml")
	tests := []struct {
		name  string
		steps []step
		left  int
	}{
		{"real values in order, counters replay as they were", []step{
			{cmd: "show clock", text: "Thu Nov 27 10:02:33 PST 2026\n"},
			{cmd: "show vpn flow tunnel-id 207", text: flow10},
			{cmd: "show vpn flow tunnel-id 207", text: flow20},
			{cmd: "show session all filter destination 198.51.100.7", text: "ID      Application    State   Type Flag  Src[Sport]/Zone/Proto (translated IP[Port])\n41      ipsec-esp      ACTIVE  FLOW       IP-2[500]/untrust/50  (IP-2[500])\n"},
			{cmd: "show bogus", err: transports.ErrUnknownCommand},
		}, 2},
		{"the cassette's own redacted params match", []step{
			{cmd: "show clock", text: "Thu Nov 27 10:02:33 PST 2026\n"},
			{cmd: "show vpn flow tunnel-id 207", text: flow10},
			{cmd: "show vpn flow tunnel-id 207", text: flow20},
			{cmd: "show session all filter destination IP-1"},
		}, 3},
		{"out of order fails with the position, and does not consume", []step{
			{cmd: "show clock", text: "Thu Nov 27 10:02:33 PST 2026\n"},
			{cmd: "show session all filter destination 198.51.100.7", err: replay.ErrMismatch,
				msg: "cassette testdata/session.yaml: exchange 2 (line 26) expects `show vpn flow tunnel-id 207`, got `show session all filter destination 198.51.100.7`"},
			{cmd: "show vpn flow tunnel-id 207", text: flow10},
		}, 5},
		{"a placeholder number is not a wildcard for the literal", []step{
			{cmd: "show clock", text: "Thu Nov 27 10:02:33 PST 2026\n"},
			{cmd: "show vpn flow tunnel-id 207", text: flow10},
			{cmd: "show vpn flow tunnel-id 207", text: flow20},
			{cmd: "show session all filter destination IP-2", err: replay.ErrMismatch},
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := replay.New(c, replay.Options{})
			defer tr.Close()
			play(t, tr, tt.steps)
			if got := tr.Remaining(); got != tt.left {
				t.Errorf("Remaining() = %d, want %d", got, tt.left)
			}
		})
	}
}

func TestStrictToTheEnd(t *testing.T) {
	c := load(t, "testdata/session.yaml")
	tr := replay.New(c, replay.Options{})
	defer tr.Close()
	play(t, tr, []step{
		{cmd: "show clock", text: "Thu Nov 27 10:02:33 PST 2026\n"},
		{cmd: "show vpn flow tunnel-id 207", text: flow10},
		{cmd: "show vpn flow tunnel-id 207", text: flow20},
		{cmd: "show session all filter destination 198.51.100.7"},
	})
	res, err := tr.Run(context.Background(), transports.Command{CLI: "show bogus"})
	var de *transports.DeviceError
	if !errors.As(err, &de) || !errors.Is(err, transports.ErrUnknownCommand) || de.Message != "Unknown command: bogus" {
		t.Fatalf("show bogus = %v, want a DeviceError wrapping ErrUnknownCommand", err)
	}
	if res.Text != "" {
		t.Errorf("show bogus text = %q", res.Text)
	}
	_, err = tr.Run(context.Background(), transports.Command{CLI: "show jobs id 4"})
	if !errors.As(err, &de) || errors.Is(err, transports.ErrUnknownCommand) || de.Code != "17" || de.Message != "job 4 not found" {
		t.Fatalf("show jobs id 4 = %#v, want a DeviceError with code 17", err)
	}
	// A secret in the command is redacted before matching: key=... and a
	// PAN-OS-shaped API key both become the placeholder.
	res, err = tr.Run(context.Background(), transports.Command{CLI: "show session id 41 key=LUFRPT14MW5xOEo1R09KVlBZNnpn"})
	if err != nil || res.Text != "session 41\n" {
		t.Fatalf("show session id 41 = %q, %v", res.Text, err)
	}
	play(t, tr, []step{{cmd: "show clock", err: replay.ErrExhausted,
		msg: "cassette testdata/session.yaml: all 7 exchanges used, got `show clock`"}})
	var me *replay.MismatchError
	if _, err := tr.Run(context.Background(), transports.Command{CLI: "show clock"}); !errors.As(err, &me) || me.Got != "show clock" {
		t.Fatalf("exhausted error = %#v", err)
	}
}

// pings is a cassette where placeholders stand for three pings of two
// different hosts.
func pings() *replay.Cassette {
	return &replay.Cassette{
		Header: replay.Header{Redaction: replay.RedactionInfo{Patterns: []replay.PatternInfo{
			{Name: "IP", Regexp: `\b(?:\d{1,3}\.){3}\d{1,3}\b`},
		}}},
		Exchanges: []replay.Exchange{
			{Command: "ping host IP-1", Output: "one\n"},
			{Command: "ping host IP-2", Output: "two\n"},
			{Command: "ping host IP-1", Output: "one again\n"},
		},
	}
}

func TestPlaceholdersBindConsistently(t *testing.T) {
	tests := []struct {
		name  string
		mode  replay.Mode
		steps []step
	}{
		{"strict, same hosts as recorded", replay.Strict, []step{
			{cmd: "ping host 10.0.0.1", text: "one\n"},
			{cmd: "ping host 10.0.0.2", text: "two\n"},
			{cmd: "ping host 10.0.0.1", text: "one again\n"},
		}},
		{"strict, IP-1 cannot change value", replay.Strict, []step{
			{cmd: "ping host 10.0.0.1", text: "one\n"},
			{cmd: "ping host 10.0.0.2", text: "two\n"},
			{cmd: "ping host 10.0.0.2", err: replay.ErrMismatch,
				msg: "cassette (in memory): exchange 3 (line 0) expects `ping host IP-1`, got `ping host 10.0.0.2` (a placeholder would stand for two different values)"},
		}},
		{"strict, two placeholders cannot share a value", replay.Strict, []step{
			{cmd: "ping host 10.0.0.1", text: "one\n"},
			{cmd: "ping host 10.0.0.1", err: replay.ErrMismatch},
		}},
		{"by command, the binding picks the answer", replay.ByCommand, []step{
			{cmd: "ping host 10.0.0.1", text: "one\n"},
			{cmd: "ping host 10.0.0.1", text: "one again\n"},
			{cmd: "ping host 10.0.0.2", text: "two\n"},
			{cmd: "ping host 10.0.0.2", err: replay.ErrExhausted},
		}},
		{"by command, a third host has no answer", replay.ByCommand, []step{
			{cmd: "ping host 10.0.0.1", text: "one\n"},
			{cmd: "ping host 10.0.0.2", text: "two\n"},
			{cmd: "ping host 10.0.0.3", err: replay.ErrMismatch},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := replay.New(pings(), replay.Options{Mode: tt.mode})
			defer tr.Close()
			play(t, tr, tt.steps)
		})
	}
}

func TestByCommand(t *testing.T) {
	c := load(t, "testdata/session.yaml")
	tr := replay.New(c, replay.Options{Mode: replay.ByCommand})
	defer tr.Close()
	play(t, tr, []step{
		{cmd: "show vpn flow tunnel-id 207", text: flow10},
		{cmd: "show clock", text: "Thu Nov 27 10:02:33 PST 2026\n"},
		{cmd: "show vpn flow tunnel-id 207", text: flow20},
		{cmd: "show vpn flow tunnel-id 207", err: replay.ErrExhausted,
			msg: "cassette testdata/session.yaml: all 2 answers to `show vpn flow tunnel-id 207` used (the last is exchange 3, line 31)"},
		{cmd: "show vpn flow", err: replay.ErrMismatch,
			msg: "cassette testdata/session.yaml: no exchange for `show vpn flow`"},
	})
	if got := tr.Remaining(); got != 4 {
		t.Errorf("Remaining() = %d, want 4", got)
	}
}

func TestTimeoutCancelClose(t *testing.T) {
	c := load(t, "testdata/session.yaml")
	last := "show session id 41 key=secretvalue" // recorded as taking 2s
	skip := []string{"show clock", "show vpn flow tunnel-id 207", "show vpn flow tunnel-id 207",
		"show session all filter destination IP-1", "show bogus", "show jobs id 4"}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		timeout time.Duration
		close   bool
		want    error
	}{
		{"timeout shorter than recorded", context.Background(), time.Second, false, transports.ErrTimeout},
		{"timeout longer than recorded", context.Background(), 3 * time.Second, false, nil},
		{"cancelled context", cancelled, 0, false, context.Canceled},
		{"closed", context.Background(), 0, true, transports.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := replay.New(c, replay.Options{Mode: replay.ByCommand})
			defer tr.Close()
			for _, s := range skip {
				tr.Run(context.Background(), transports.Command{CLI: s})
			}
			if tt.close {
				tr.Close()
			}
			res, err := tr.Run(tt.ctx, transports.Command{CLI: last, Timeout: tt.timeout})
			if tt.want == nil {
				if err != nil || res.Text != "session 41\n" {
					t.Fatalf("Run = %q, %v", res.Text, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Run = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "secretvalue") {
				t.Fatalf("error shows the secret: %v", err)
			}
		})
	}
}

func TestRedactOption(t *testing.T) {
	rd := &secret.Redactor{}
	rd.Add("hunter22")
	c := &replay.Cassette{Exchanges: []replay.Exchange{
		{Command: "request password " + secret.Placeholder, Output: "ok\n"},
	}}
	tr := replay.New(c, replay.Options{Redact: rd.String})
	play(t, tr, []step{{cmd: "request password hunter22", text: "ok\n"}})
	tr = replay.New(c, replay.Options{Redact: rd.String})
	play(t, tr, []step{{cmd: "request password other", err: replay.ErrMismatch,
		msg: "cassette (in memory): exchange 1 (line 0) expects `request password «redacted»`, got `request password other`"}})
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("pcap"), 1000)
	if err := os.WriteFile(filepath.Join(dir, "ikemgr.pcap"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/session.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := replay.Decode("session.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	c.Path = filepath.Join(dir, "session.yaml")
	c.ExportCategories = append(c.ExportCategories, "debug-pcap")
	c.Exports = append(c.Exports,
		replay.Export{Category: "debug-pcap", File: "ikemgr.pcap", Name: "ikemgr.pcap", Size: int64(len(big)),
			SHA256: sha(big), Path: "ikemgr.pcap"}, // refused as over MaxBytes
		replay.Export{Category: "debug-pcap", File: "ikemgr.pcap", Name: "ikemgr.pcap", Size: int64(len(big)),
			SHA256: sha(big), Path: "ikemgr.pcap"},
		replay.Export{Category: "debug-pcap", File: "ikemgr.pcap", Name: "ikemgr.pcap", Size: 3,
			SHA256: sha([]byte("abc")), Path: "ikemgr.pcap"}, // the file changed since
		replay.Export{Category: "debug-pcap", File: "ikemgr.pcap", Name: "ikemgr.pcap", Size: 3}, // no content kept
	)
	tr := replay.New(c, replay.Options{})
	defer tr.Close()
	if !tr.CanExport("tech-support") || tr.CanExport("filters-pcap") {
		t.Fatal("CanExport does not follow the recorded categories")
	}
	tests := []struct {
		name     string
		req      transports.ExportRequest
		want     []byte
		wantName string
		err      error // sentinel, nil for success; errAny for any error
	}{
		{"inline", transports.ExportRequest{Category: "tech-support"}, []byte("tech support bundle\n"), "techsupport.tgz", nil},
		{"inline used up", transports.ExportRequest{Category: "tech-support"}, nil, "", replay.ErrMismatch},
		{"category not recorded", transports.ExportRequest{Category: "filters-pcap"}, nil, "", transports.ErrNotSupported},
		{"over MaxBytes", transports.ExportRequest{Category: "debug-pcap", File: "ikemgr.pcap", MaxBytes: 10}, nil, "", errAny},
		{"by path", transports.ExportRequest{Category: "debug-pcap", File: "ikemgr.pcap"}, big, "ikemgr.pcap", nil},
		{"file changed since recording", transports.ExportRequest{Category: "debug-pcap", File: "ikemgr.pcap"}, nil, "", errAny},
		{"content not kept", transports.ExportRequest{Category: "debug-pcap", File: "ikemgr.pcap"}, nil, "", transports.ErrNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			info, err := tr.Export(context.Background(), tt.req, &b)
			switch {
			case tt.err == errAny && err == nil:
				t.Fatal("Export succeeded, want an error")
			case tt.err == errAny:
			case tt.err != nil && !errors.Is(err, tt.err):
				t.Fatalf("Export = %v, want %v", err, tt.err)
			case tt.err == nil && err != nil:
				t.Fatalf("Export: %v", err)
			case tt.err == nil && (!bytes.Equal(b.Bytes(), tt.want) || info.Name != tt.wantName || info.Size != int64(len(tt.want))):
				t.Fatalf("Export wrote %d bytes as %+v, want %d as %s", b.Len(), info, len(tt.want), tt.wantName)
			}
		})
	}
	tr.Close()
	if _, err := tr.Export(context.Background(), transports.ExportRequest{Category: "tech-support"}, &bytes.Buffer{}); !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("Export after Close = %v", err)
	}
}

var errAny = errors.New("any error")

func TestFactsVirtualTimeDial(t *testing.T) {
	tr, err := replay.Dial(context.Background(), transports.Target{Name: "fw1", Transport: "replay", Cassette: "testdata/session.yaml"}, transports.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if f := tr.Facts(); f["hostname"] != "pa1" || f["model"] != "PA-VM" {
		t.Errorf("Facts() = %v", f)
	}
	tr.Facts()["hostname"] = "changed"
	if tr.Facts()["hostname"] != "pa1" {
		t.Error("Facts() shares its map with the cassette")
	}
	if vc, ok := tr.(transports.VirtualClock); !ok || !vc.VirtualTime() {
		t.Error("replay is not in virtual time")
	}
	if replay.New(&replay.Cassette{}, replay.Options{Pace: 1}).VirtualTime() {
		t.Error("a paced replay claims virtual time")
	}
	if _, err := replay.Dial(context.Background(), transports.Target{Name: "fw1"}, transports.DialOptions{}); err == nil || err.Error() != "replay: target fw1: no cassette given" {
		t.Errorf("Dial without a cassette = %v", err)
	}
	if _, err := replay.Dial(context.Background(), transports.Target{Name: "fw1", Cassette: "testdata/nope.yaml"}, transports.DialOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Dial of a missing cassette = %v", err)
	}
}

func TestBadPatternFailsEveryRun(t *testing.T) {
	c := &replay.Cassette{Header: replay.Header{Redaction: replay.RedactionInfo{Patterns: []replay.PatternInfo{{Name: "IP", Regexp: "("}}}},
		Exchanges: []replay.Exchange{{Command: "show clock"}}}
	_, err := replay.New(c, replay.Options{}).Run(context.Background(), transports.Command{CLI: "show clock"})
	if err == nil || !strings.Contains(err.Error(), "pattern IP") {
		t.Fatalf("Run with a bad cassette pattern = %v", err)
	}
}

func conformance(t *testing.T, pace float64) {
	c := load(t, "testdata/conformance.yaml")
	transporttest.Run(t, transporttest.Harness{
		Open: func(t *testing.T) transports.Transport {
			return replay.New(c, replay.Options{Mode: replay.ByCommand, Pace: pace})
		},
		Known:   "show system info",
		Unknown: "show bogus",
		Slow:    "request tech-support dump",
		SlowFor: time.Hour,
	})
}

func TestConformanceVirtualTime(t *testing.T) { conformance(t, 0) }

// TestConformancePaced runs the suite in real time, where commands are in
// flight long enough to be cancelled or closed mid-way.
func TestConformancePaced(t *testing.T) { conformance(t, 1) }

func BenchmarkReplayRun(b *testing.B) {
	const n = 999 // a multiple of the 3 commands
	c := &replay.Cassette{Header: replay.Header{Redaction: replay.RedactionInfo{Secrets: true, Patterns: []replay.PatternInfo{
		{Name: "IP", Regexp: `\b(?:\d{1,3}\.){3}\d{1,3}\b`},
	}}}}
	cmds := []string{"show vpn flow tunnel-id 207", "show session all filter destination 198.51.100.7", "show clock"}
	rec := []string{"show vpn flow tunnel-id 207", "show session all filter destination IP-1", "show clock"}
	for i := range n {
		c.Exchanges = append(c.Exchanges, replay.Exchange{Command: rec[i%3], Output: flow10, Duration: time.Second})
	}
	ctx := context.Background()
	tr := replay.New(c, replay.Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%n == 0 && i > 0 {
			b.StopTimer()
			tr = replay.New(c, replay.Options{})
			b.StartTimer()
		}
		if _, err := tr.Run(ctx, transports.Command{CLI: cmds[i%3]}); err != nil {
			b.Fatal(err)
		}
	}
}
