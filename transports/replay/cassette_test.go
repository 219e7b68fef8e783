package replay_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sample is a cassette with every field set, and outputs shaped the way
// device output is: leading and trailing spaces, blank lines, tabs.
func sample() *replay.Cassette {
	return &replay.Cassette{
		Header: replay.Header{
			Playbook: "phase2-down",
			Params:   map[string]string{"tunnel": "sap-sap", "peer_ip": "IP-1", "yes": "no"},
			Target: replay.Target{Name: "fw1", Transport: "ssh",
				Facts: map[string]string{"hostname": "pa1", "sw_version": "10.1.6", "serial": "007"}},
			ExportCategories: []string{"tech-support", "debug-pcap"},
			Redaction: replay.RedactionInfo{Secrets: true, Patterns: []replay.PatternInfo{
				{Name: "IP", Regexp: `\b(?:\d{1,3}\.){3}\d{1,3}\b`}, {Name: "HOST", Regexp: `fw-[a-z0-9]+`}}},
		},
		Exchanges: []replay.Exchange{
			{Command: "show clock", Output: "Thu Nov 27 10:02:33 PST 2026\n", Duration: 42 * time.Millisecond},
			{Command: "show vpn flow tunnel-id 207", Output: "\ntunnel  sap-sap\n        id:                     207   \n\tencap:  yes\n\n", Duration: 1500 * time.Millisecond},
			{Command: "show session all filter destination IP-1", XML: "<show><session><all/></session></show>",
				Output: "  41  ipsec-esp\n  42  ike", Duration: time.Second,
				Data: map[string]any{"entry": []any{map[string]any{"id": "41", "app": "ipsec-esp"}, map[string]any{"id": "42", "note": "line one\nline two"}}}},
			{Command: "show bogus", Duration: 5 * time.Millisecond,
				Error: &replay.Error{Kind: replay.KindUnknownCommand, Message: "Unknown command: bogus"}},
			{Command: "show jobs id 4", Output: "partial\n", Duration: 0,
				Error: &replay.Error{Kind: replay.KindDevice, Message: "job 4 not found", Code: "17"}},
			{Command: `test "yes": - [x] # not a comment`, Output: "- a\nkey: value\n# hash\n   \n  |\n", Duration: time.Minute},
			{Command: "odd bytes", Output: "bell \a and \r\n and \xff\n"},
			{Command: "only newlines", Output: "\n\n"},
			{Command: "tab first", Output: "\tstarts with a tab\n  then spaces\n"},
		},
		Exports: []replay.Export{
			{Category: "tech-support", Name: "ts.tgz", Size: 5, SHA256: strings.Repeat("ab", 32), Content: []byte("hello"), After: 2},
			{Category: "debug-pcap", File: "ikemgr.pcap", Name: "ikemgr.pcap", Size: 1 << 20, SHA256: strings.Repeat("cd", 32), Path: "../runs/x/artifacts/ikemgr.pcap", After: 8},
			{Category: "debug-pcap", File: "ikemgr.pcap", Error: &replay.Error{Kind: replay.KindClosed, Message: "connection lost"}, After: 8},
		},
	}
}

func clearLines(c *replay.Cassette) {
	for i := range c.Exchanges {
		c.Exchanges[i].Line = 0
	}
	for i := range c.Exports {
		c.Exports[i].Line = 0
	}
}

func TestRoundTripAndGolden(t *testing.T) {
	var b bytes.Buffer
	if err := replay.Encode(&b, sample()); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/golden.yaml"
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("Encode differs from %s (go test -update to rewrite it):\n%s", golden, b.String())
	}
	got, err := replay.Decode("golden.yaml", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	clearLines(got)
	if w := sample(); !reflect.DeepEqual(got, w) {
		for i := range w.Exchanges {
			if i < len(got.Exchanges) && !reflect.DeepEqual(got.Exchanges[i], w.Exchanges[i]) {
				t.Errorf("exchange %d:\n got %#v\nwant %#v", i+1, got.Exchanges[i], w.Exchanges[i])
			}
		}
		t.Fatalf("round trip differs:\n got %#v\nwant %#v", got, w)
	}
}

func TestOutputsAreLiteralBlocks(t *testing.T) {
	want, err := os.ReadFile("testdata/golden.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{
		"    output: |\n      Thu Nov 27 10:02:33 PST 2026\n",
		"    output: |+\n\n      tunnel  sap-sap\n              id:                     207   \n",
		"    output: |2-\n        41  ipsec-esp\n        42  ike\n",
	} {
		if !bytes.Contains(want, []byte(frag)) {
			t.Errorf("golden.yaml lacks the literal block\n%s", frag)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, src, msg string
		version        bool
	}{
		{"typo in a key", "version: 1\nexchanges:\n  - command: show clock\n    outptu: x\n",
			"cassette c.yaml:4:5: unknown key \"outptu\" in exchange (want one of command, xml, transport, duration, output, data, error)", false},
		{"newer version", "version: 2\nexchanges: []\n",
			"cassette c.yaml:1:10: version 2 is newer than this runbook reads (1): upgrade runbook to replay it", true},
		{"no version", "exchanges: []\n",
			"cassette c.yaml:1:1: no version: this is not a cassette, or a cassette from before versions (want `version: 1`)", true},
		{"version zero", "version: 0\n", "cassette c.yaml:1:10: version 0 is not a cassette version (versions start at 1)", true},
		{"bad error kind", "version: 1\nexchanges:\n  - command: x\n    error: {kind: oops, message: m}\n",
			"cassette c.yaml:4:19: error kind \"oops\" is not one of device, unknown-command, invalid-syntax, timeout, closed, unexpected-prompt, copy-failed, host-key-not-accepted, not-over-api", false},
		{"negative duration", "version: 1\nexchanges:\n  - command: x\n    duration: -5s\n",
			"cassette c.yaml:4:15: duration \"-5s\" must be a non-negative duration such as 120ms or 2s", false},
		{"no command", "version: 1\nexchanges:\n  - output: x\n", "cassette c.yaml:3:5: exchange has no command", false},
		{"bad pattern", "version: 1\nredaction:\n  patterns:\n    - {name: IP, regexp: '('}\n",
			"cassette c.yaml:4:7: pattern IP: error parsing regexp: missing closing ): `(`", false},
		{"export size", "version: 1\nexchanges:\n  - export: {category: c, name: n, size: 3, sha256: " + strings.Repeat("00", 32) + ", base64: aGk=}\n",
			"cassette c.yaml:3:42: export size 3 but base64 holds 2 bytes", false},
		{"not a mapping", "- a\n", "cassette c.yaml:1:1: cassette must be a mapping", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := replay.Decode("c.yaml", []byte(tt.src))
			if err == nil || err.Error() != tt.msg {
				t.Fatalf("Decode error\n got: %v\nwant: %s", err, tt.msg)
			}
			if errors.Is(err, replay.ErrVersion) != tt.version {
				t.Errorf("errors.Is(err, ErrVersion) = %t, want %t", !tt.version, tt.version)
			}
		})
	}
}

// TestWriterKilled shows that a recording that never reaches Close leaves
// a cassette with every exchange written so far.
func TestWriterKilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	w, err := replay.Create(path, replay.Header{Target: replay.Target{Name: "fw1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetHeader(func(h *replay.Header) { h.Target.Facts = map[string]string{"hostname": "pa1"} }); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"show clock", "show vpn flow"} {
		if err := w.Exchange(replay.Exchange{Command: cmd, Output: "x\n"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Export(replay.Export{Category: "tech-support", Name: "ts", Size: 1, SHA256: strings.Repeat("00", 32), Content: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	// No Close: read what a killed process leaves behind.
	c, err := replay.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Exchanges) != 2 || c.Exchanges[1].Command != "show vpn flow" || c.Target.Facts["hostname"] != "pa1" ||
		len(c.Exports) != 1 || c.Exports[0].After != 2 {
		t.Fatalf("killed recording reads back as %+v", c)
	}
	if err := w.SetHeader(func(*replay.Header) {}); !errors.Is(err, replay.ErrHeaderWritten) {
		t.Errorf("SetHeader after an exchange = %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := w.Exchange(replay.Exchange{Command: "late"}); err == nil {
		t.Error("Exchange after Close succeeded")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cassette mode = %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestEmptyCassetteAndSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := replay.Save(path, &replay.Cassette{Header: replay.Header{Target: replay.Target{Name: "fw1"}}}); err != nil {
		t.Fatal(err)
	}
	c, err := replay.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.Name != "fw1" || len(c.Exchanges) != 0 || c.Path != path {
		t.Fatalf("Load = %+v", c)
	}
	if _, err := replay.New(c, replay.Options{}).Run(t.Context(), transports.Command{CLI: "x"}); !errors.Is(err, replay.ErrExhausted) {
		t.Fatalf("Run on an empty cassette = %v", err)
	}
}

func TestErrorFromAndBack(t *testing.T) {
	tests := []struct {
		err  error
		kind replay.ErrorKind
		is   error
	}{
		{&transports.DeviceError{Command: "x", Message: "Invalid syntax.", Err: transports.ErrUnknownCommand}, replay.KindUnknownCommand, transports.ErrUnknownCommand},
		{&transports.DeviceError{Command: "x", Message: "busy", Code: "13"}, replay.KindDevice, nil},
		{&transports.DeviceError{Command: "scp export x", Message: "lost connection", Err: transports.ErrCopyFailed}, replay.KindCopyFailed, transports.ErrCopyFailed},
		{&transports.DeviceError{Command: "scp export x", Message: "Host key verification failed.", Err: transports.ErrHostKeyNotAccepted}, replay.KindHostKeyNotAccepted, transports.ErrHostKeyNotAccepted},
		{&transports.DeviceError{Command: "debug ike global on debug", Message: "debug not available to xmlapi client", Code: "17", Err: transports.ErrNotOverAPI}, replay.KindNotOverAPI, transports.ErrNotOverAPI},
		{transports.ErrTimeout, replay.KindTimeout, transports.ErrTimeout},
		{transports.ErrUnexpectedPrompt, replay.KindUnexpectedPrompt, transports.ErrUnexpectedPrompt},
		{transports.ErrClosed, replay.KindClosed, transports.ErrClosed},
		{errors.New("EOF"), replay.KindClosed, transports.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			e := replay.ErrorFrom(tt.err, nil)
			if e.Kind != tt.kind {
				t.Fatalf("kind = %s, want %s", e.Kind, tt.kind)
			}
			back := e.Err("x")
			var de *transports.DeviceError
			if tt.is != nil && !errors.Is(back, tt.is) {
				t.Fatalf("Err() = %v, want %v", back, tt.is)
			}
			device := tt.kind == replay.KindDevice || tt.kind == replay.KindUnknownCommand || tt.kind == replay.KindCopyFailed || tt.kind == replay.KindHostKeyNotAccepted || tt.kind == replay.KindNotOverAPI
			if device != errors.As(back, &de) {
				t.Fatalf("Err() = %T, DeviceError expected only for device kinds", back)
			}
		})
	}
	if replay.ErrorFrom(nil, nil) != nil {
		t.Error("ErrorFrom(nil) is not nil")
	}
}

// TestDualCassette: one cassette holds the exchanges of both parts of a
// target reached over SSH and the XML API, each tagged with its transport,
// and replay says which part answered each command and each export.
func TestDualCassette(t *testing.T) {
	c := &replay.Cassette{
		Header: replay.Header{Target: replay.Target{Name: "fw1", Transport: "ssh+xmlapi"}, ExportCategories: []string{"filters-pcap", "tech-support"}},
		Exchanges: []replay.Exchange{
			{Command: "debug ike global on debug", Transport: "ssh", Output: ""},
			{Command: "show clock", Transport: "ssh", Output: "Thu Nov 27 10:02:33 PST 2026\n"},
			{Command: "show bogus", Error: &replay.Error{Kind: replay.KindNotOverAPI, Message: "debug not available to xmlapi client", Code: "17"}},
		},
		Exports: []replay.Export{{Category: "filters-pcap", File: "rx.pcap", Transport: "xmlapi", Name: "rx.pcap", Size: 2, Content: []byte("ab"),
			SHA256: "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603", After: 2}},
	}
	path := filepath.Join(t.TempDir(), "dual.yaml")
	if err := replay.Save(path, c); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "    transport: ssh\n") || !strings.Contains(string(b), "      transport: xmlapi\n") || !strings.Contains(string(b), "kind: not-over-api") {
		t.Fatalf("cassette lacks the transport tags or the error kind:\n%s", b)
	}
	l, err := replay.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tr := replay.New(l, replay.Options{})
	for i, want := range []string{"ssh", "ssh", ""} {
		res, err := tr.Run(t.Context(), transports.Command{CLI: l.Exchanges[i].Command})
		if res.Transport != want {
			t.Errorf("%s: Transport %q, want %q", l.Exchanges[i].Command, res.Transport, want)
		}
		if i == 2 && !errors.Is(err, transports.ErrNotOverAPI) {
			t.Errorf("%s: %v, want ErrNotOverAPI", l.Exchanges[i].Command, err)
		}
	}
	info, err := tr.Export(t.Context(), transports.ExportRequest{Category: "filters-pcap", File: "rx.pcap"}, &bytes.Buffer{})
	if err != nil || info.Transport != "xmlapi" {
		t.Errorf("export: %+v %v", info, err)
	}
	if !tr.Interactive() {
		t.Error("a replayed ssh+xmlapi target answers prompts (its SSH part did)")
	}
}
