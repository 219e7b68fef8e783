package record_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/record"
	"github.com/runbook-dev/runbook/transports/replay"
	"github.com/runbook-dev/runbook/transports/transporttest"
)

const (
	password = "s3cr3t-Pa55!"
	apiKey   = "Zk9vQmFyQmF6MTIzNDU2Nzg5"
)

// device stands in for a firewall that knows our password and API key and
// is careless with them: it echoes them in outputs, URLs, data and errors.
type device struct {
	mu   sync.Mutex
	sent []string
}

func (d *device) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	if err := ctx.Err(); err != nil {
		return transports.Result{}, err
	}
	d.mu.Lock()
	d.sent = append(d.sent, cmd.CLI)
	n := len(d.sent)
	d.mu.Unlock()
	switch {
	case cmd.CLI == "show system info":
		return transports.Result{Text: "hostname: fw-berlin-01\nip-address: 10.20.30.40\n"}, nil
	case cmd.CLI == "show counter":
		return transports.Result{Text: fmt.Sprintf("decap packets: %d\n", n*10)}, nil
	case strings.HasPrefix(cmd.CLI, "show session all filter destination "):
		peer := strings.TrimPrefix(cmd.CLI, "show session all filter destination ")
		return transports.Result{
			Text: "41  ipsec-esp  10.20.30.40[500] -> " + peer + "[500]\n",
			Data: map[string]any{"entry": []any{map[string]any{"src": "10.20.30.40", "dst": peer, "key": apiKey}}},
		}, nil
	case cmd.CLI == "debug api last-request":
		return transports.Result{Text: "GET https://10.20.30.40/api/?type=op&key=" + url.QueryEscape(apiKey) + "&cmd=x\n" +
			"X-PAN-KEY: " + apiKey + "\nAuthorization: Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+password)) + "\n" +
			"body: password=" + url.QueryEscape(password) + " b64=" + base64.StdEncoding.EncodeToString([]byte(password)) + "\n"}, nil
	case strings.HasPrefix(cmd.CLI, "test authentication"):
		return transports.Result{}, &transports.DeviceError{Command: cmd.CLI, Message: "Invalid syntax near " + password, Err: transports.ErrUnknownCommand}
	case cmd.CLI == "request passphrase":
		return transports.Result{Text: "Enter passphrase: ok " + cmd.Prompts[0].Answer + "\n"}, nil
	}
	return transports.Result{}, &transports.DeviceError{Command: cmd.CLI, Message: "Unknown command", Err: transports.ErrUnknownCommand}
}

func (d *device) Facts() transports.Facts {
	return transports.Facts{"hostname": "fw-berlin-01", "transport": "xmlapi", "ip": "10.20.30.40"}
}

func (d *device) Close() error { return nil }

func (d *device) CanExport(c string) bool { return c == "tech-support" || c == "filters-pcap" }

func (d *device) Export(ctx context.Context, req transports.ExportRequest, w io.Writer) (transports.ExportInfo, error) {
	var b []byte
	switch req.Category {
	case "filters-pcap":
		b = []byte("\xd4\xc3\xb2\xa1 pcap bytes")
	case "tech-support":
		b = []byte("config: api-key " + apiKey + "\n") // holds a secret: never inline
	default:
		return transports.ExportInfo{}, transports.ErrNotSupported
	}
	n, err := w.Write(b)
	return transports.ExportInfo{Name: req.Category + ".bin", Size: int64(n)}, err
}

var patterns = []replay.Pattern{
	{Name: "IP", Regexp: regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)},
	{Name: "HOST", Regexp: regexp.MustCompile(`\bfw-[a-z0-9-]+`)},
}

// session is what the engine would send: real values, a secret in one
// command and one prompt answer.
var session = []transports.Command{
	{CLI: "show system info"},
	{CLI: "show counter"},
	{CLI: "show session all filter destination 198.51.100.7"},
	{CLI: "show counter"}, // counters that change replay as they were
	{CLI: "show session all filter destination 203.0.113.9"},
	{CLI: "show session all filter destination 198.51.100.7"},
	{CLI: "debug api last-request"},
	{CLI: "test authentication username admin password " + password},
	{CLI: "request passphrase", Prompts: []transports.Prompt{{Pattern: regexp.MustCompile(`passphrase:`), Answer: "hunter2-passphrase", Secret: true}}},
}

func newRedaction(t *testing.T) *replay.Redaction {
	t.Helper()
	rd := &secret.Redactor{}
	rd.Add(password)
	rd.Add(apiKey)
	red, err := replay.NewRedaction(rd, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	return red
}

func TestRecordRedactsAndReplays(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fw1.yaml")
	w, err := replay.Create(path, replay.Header{Playbook: "phase2-down", Target: replay.Target{Name: "fw1"},
		Params: map[string]string{"peer_ip": "198.51.100.7", "tunnel": "sap-sap"}})
	if err != nil {
		t.Fatal(err)
	}
	dev := &device{}
	tr := record.New(dev, w, record.Options{Redaction: newRedaction(t),
		ExportPath: func(req transports.ExportRequest, info transports.ExportInfo) string {
			return "artifacts/" + info.Name
		}})
	ctx := context.Background()
	var live []transports.Result
	var liveErrs []error
	for _, cmd := range session {
		res, err := tr.Run(ctx, cmd)
		live = append(live, res)
		liveErrs = append(liveErrs, err)
	}
	exp := tr.(transports.Exporter)
	for _, c := range []string{"filters-pcap", "tech-support"} {
		if _, err := exp.Export(ctx, transports.ExportRequest{Category: c}, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	// Recording never changes what is sent nor what comes back.
	var want []string
	for _, c := range session {
		want = append(want, c.CLI)
	}
	if !slices.Equal(dev.sent, want) {
		t.Fatalf("the device got %q, want %q", dev.sent, want)
	}
	if !strings.Contains(live[6].Text, apiKey) || !strings.Contains(live[0].Text, "10.20.30.40") {
		t.Fatalf("the caller got a redacted result: %q", live[6].Text)
	}

	raw, err := os.ReadFile(path)
	if os.Getenv("RECORD_DUMP") != "" {
		t.Logf("%s", raw)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{password, apiKey, "hunter2-passphrase", "admin:" + password} {
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s),
			base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s))} {
			if bytes.Contains(raw, []byte(form)) {
				t.Errorf("the cassette holds a secret (a form of %d bytes)", len(s))
			}
		}
	}
	for _, s := range []string{"10.20.30.40", "198.51.100.7", "203.0.113.9", "fw-berlin-01"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the cassette holds %q, which a pattern should have replaced", s)
		}
	}
	for _, s := range []string{
		"show session all filter destination IP-2\n", // 10.20.30.40 was IP-1, in the facts
		"show session all filter destination IP-3\n",
		"hostname: HOST-1",
		"peer_ip: IP-2",
		"key: «redacted»",
		"kind: unknown-command",
		"- name: IP\n",
		"path: artifacts/tech-support.bin",
		"base64: 1MOyoSBwY2FwIGJ5dGVz",
	} {
		if !bytes.Contains(raw, []byte(s)) {
			t.Errorf("the cassette lacks %q:\n%s", s, raw)
		}
	}

	// The cassette replays: a new run (with the same secrets resolved, and
	// real values) gets the recorded, redacted answers in order.
	c, err := replay.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	rd := &secret.Redactor{}
	rd.Add(password)
	red, err := replay.NewRedaction(rd)
	if err != nil {
		t.Fatal(err)
	}
	// The outputs a replay gives are the live ones redacted as the
	// recording did: placeholders numbered in the order values were first
	// seen (facts by key, params, then the session).
	expect := newRedaction(t)
	expect.AddSecret("hunter2-passphrase")
	for _, v := range []string{"fw-berlin-01", "10.20.30.40", "198.51.100.7", "203.0.113.9"} {
		expect.String(v)
	}
	for _, mode := range []replay.Mode{replay.Strict, replay.ByCommand} {
		rp := replay.New(c, replay.Options{Mode: mode, Redact: red.Secrets})
		for i, cmd := range session {
			res, err := rp.Run(ctx, cmd)
			if (err == nil) != (liveErrs[i] == nil) || (err != nil && !errors.Is(err, transports.ErrUnknownCommand)) {
				t.Fatalf("mode %d: replay of %q: %v, recorded %v", mode, cmd.CLI, err, liveErrs[i])
			}
			if res.Text != expect.String(live[i].Text) {
				t.Errorf("mode %d: replay of %q = %q, recorded %q", mode, cmd.CLI, res.Text, live[i].Text)
			}
		}
		if rp.Remaining() != 0 {
			t.Errorf("mode %d: %d exchanges left", mode, rp.Remaining())
		}
		var b bytes.Buffer
		if _, err := rp.Export(ctx, transports.ExportRequest{Category: "filters-pcap"}, &b); err != nil || b.String() != "\xd4\xc3\xb2\xa1 pcap bytes" {
			t.Errorf("replayed export = %q, %v", b.String(), err)
		}
	}
	if c.Target.Facts["hostname"] != "HOST-1" || c.Target.Transport != "xmlapi" || !slices.Equal(c.ExportCategories, []string{"tech-support", "filters-pcap"}) {
		t.Errorf("header = %+v", c.Header)
	}
}

// onlyRun, device, onlyClock and clockDevice are inner transports with each
// set of optional abilities.
type clockDevice struct{ device }

func (*clockDevice) VirtualTime() bool { return true }

type onlyRun struct{ d *device }

func (o onlyRun) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	return o.d.Run(ctx, cmd)
}
func (o onlyRun) Facts() transports.Facts { return o.d.Facts() }
func (o onlyRun) Close() error            { return nil }

type onlyClock struct{ onlyRun }

func (onlyClock) VirtualTime() bool { return false }

func TestTypeAssertionsTellTheTruth(t *testing.T) {
	tests := []struct {
		name          string
		inner         transports.Transport
		export, clock bool
	}{
		{"neither", onlyRun{&device{}}, false, false},
		{"exporter", &device{}, true, false},
		{"clock", onlyClock{onlyRun{&device{}}}, false, true},
		{"both", &clockDevice{}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := record.New(tt.inner, replay.NewWriter(io.Discard, replay.Header{}), record.Options{})
			_, isExp := tr.(transports.Exporter)
			vc, isClock := tr.(transports.VirtualClock)
			if isExp != tt.export || isClock != tt.clock {
				t.Fatalf("Exporter %t, VirtualClock %t; want %t, %t", isExp, isClock, tt.export, tt.clock)
			}
			if isClock && vc.VirtualTime() != tt.inner.(transports.VirtualClock).VirtualTime() {
				t.Fatal("VirtualTime does not delegate")
			}
		})
	}
}

func TestRecordingErrorsDoNotChangeRun(t *testing.T) {
	w := replay.NewWriter(failWriter{}, replay.Header{})
	tr := record.New(&device{}, w, record.Options{})
	res, err := tr.Run(context.Background(), transports.Command{CLI: "show system info"})
	if err != nil || !strings.HasPrefix(res.Text, "hostname:") {
		t.Fatalf("Run = %q, %v", res.Text, err)
	}
	if err := tr.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close = %v, want the recording error", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCancelledCommandIsNotRecorded(t *testing.T) {
	var b bytes.Buffer
	w := replay.NewWriter(&b, replay.Header{})
	tr := record.New(&device{}, w, record.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tr.Run(ctx, transports.Command{CLI: "show counter"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	tr.Close()
	w.Close()
	c, err := replay.Decode("b", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Exchanges) != 0 {
		t.Fatalf("a cancelled command was recorded: %+v", c.Exchanges)
	}
}

// TestConformance runs the suite through the recorder: wrapping must keep
// every contract of the transport it wraps.
func TestConformance(t *testing.T) {
	c, err := replay.Load("testdata/conformance.yaml")
	if err != nil {
		t.Fatal(err)
	}
	transporttest.Run(t, transporttest.Harness{
		Open: func(t *testing.T) transports.Transport {
			inner := replay.New(c, replay.Options{Mode: replay.ByCommand, Pace: 1})
			return record.New(inner, replay.NewWriter(io.Discard, replay.Header{}), record.Options{})
		},
		Known:   "show system info",
		Unknown: "show bogus",
		Slow:    "request tech-support dump",
		SlowFor: time.Hour,
	})
}
