package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/parse"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/transporttest"
	"github.com/runbook-dev/runbook/transports/xmlapi"
)

const apiPass = "api-Pa55word"

// apiSim is a device served by an APIServer on 127.0.0.1, as Serve serves
// it (APIServer.HTTPServer), with every request's URL, headers, form and
// protocol recorded, and the bytes each answer carried counted.
type apiSim struct {
	dev   *Device
	api   *APIServer
	addr  *net.TCPAddr
	mu    sync.Mutex
	reqs  []*http.Request
	body  []string
	proto []string // r.Proto of each request
	// sent counts the body bytes the handler has written, over all
	// answers; answered is signalled each time an answer is complete
	// (the handler returned).
	sent     atomic.Int64
	answered chan struct{}
}

func startAPI(t *testing.T, o Options, cfg APIConfig) *apiSim {
	t.Helper()
	s := &apiSim{dev: NewDevice(o), answered: make(chan struct{}, 64)}
	if cfg.Password == "" {
		cfg.Password = apiPass
	}
	var err error
	if s.api, err = NewAPIServer(s.dev, cfg); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().(*net.TCPAddr)
	h := s.api.Handler()
	srv := s.api.HTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(context.Background()))
		s.body = append(s.body, string(b))
		s.proto = append(s.proto, r.Proto)
		s.mu.Unlock()
		h.ServeHTTP(countingWriter{w, &s.sent}, r)
		select {
		case s.answered <- struct{}{}:
		default:
		}
	}))
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close(); <-done })
	return s
}

// countingWriter adds the body bytes written to n.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}

// protocols returns the protocols the requests came over, each once.
func (s *apiSim) protocols() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ps []string
	for _, p := range s.proto {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ps
}

func (s *apiSim) target() transports.Target {
	return transports.Target{Name: "sim", Transport: xmlapi.Name, Host: "127.0.0.1", Port: s.addr.Port,
		User: "admin", Password: secret.Ref{Kind: "env", Name: "SIM_PW"},
		TLS: transports.TLS{Fingerprint: s.api.Fingerprint()}}
}

func dialOpts() transports.DialOptions {
	rs := &secret.Resolver{Getenv: func(n string) string {
		return map[string]string{"SIM_PW": apiPass, "BAD": "nope"}[n]
	}}
	return transports.DialOptions{Resolve: rs.Resolve, Warn: io.Discard}
}

func (s *apiSim) open(t *testing.T) *xmlapi.Client {
	t.Helper()
	c, err := xmlapi.Open(context.Background(), s.target(), dialOpts())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkSecrets fails when the password or a key appears in a URL, or a key
// anywhere but the X-PAN-KEY header.
func (s *apiSim) checkSecrets(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.reqs {
		key := r.Header.Get("X-PAN-KEY")
		if strings.Contains(r.URL.String(), apiPass) || r.URL.RawQuery != "" {
			t.Errorf("request %d: query string %q", i, r.URL.RawQuery)
		}
		if key != "" && (strings.Contains(s.body[i], key) || strings.Contains(r.URL.String(), key)) {
			t.Errorf("request %d: API key outside X-PAN-KEY", i)
		}
		if r.Method != http.MethodPost {
			t.Errorf("request %d: method %s", i, r.Method)
		}
	}
}

func TestAPIConformance(t *testing.T) {
	s := startAPI(t, Options{Faults: Faults{SlowOn: "show counter", SlowBy: 2 * time.Second}}, APIConfig{})
	transporttest.Run(t, transporttest.Harness{
		Open:    func(t *testing.T) transports.Transport { return s.open(t) },
		Known:   "show clock",
		Unknown: "show foo",
		Slow:    "show counter global",
		SlowFor: 2 * time.Second,
	})
	s.checkSecrets(t)
}

func dig(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %s: %#v is not a map", p, v)
		}
		v = m[p]
	}
	return v
}

func TestAPIStructuredAndShared(t *testing.T) {
	s := startAPI(t, Options{}, APIConfig{})
	c := s.open(t)
	ctx := context.Background()
	topo := s.dev.Topology()
	if f := c.Facts(); f["hostname"] != "pa-sim" || f["model"] != "PA-VM" || f["serial"] != "007200001234" || f["sw_version"] != "10.2.9" {
		t.Errorf("Facts = %v", f)
	}
	res, err := c.Run(ctx, transports.Command{CLI: "show vpn ipsec-sa tunnel " + topo.Tunnel})
	if err != nil {
		t.Fatal(err)
	}
	e := dig(t, res.Data, "entries", "entry")
	for k, want := range map[string]string{"tid": "207", "gwid": "90", "name": "sap-sap", "gateway": "sap", "peerip": "10.1.1.1", "spi-in": "8AE5524F", "spi-out": "B198C409", "algorithm": "ESP/3des/SHA1"} {
		if got := dig(t, e, k); got != want {
			t.Errorf("ipsec-sa entry %s = %v, want %s", k, got, want)
		}
	}
	res, err = c.Run(ctx, transports.Command{CLI: "show vpn flow tunnel-id 207"})
	if err != nil {
		t.Fatal(err)
	}
	fe := dig(t, res.Data, "IPSec", "entry")
	for _, k := range []string{"pkt-encap", "pkt-decap", "byte-encap", "byte-decap", "acquire", "owner-cpuid", "local-spi"} {
		if v, _ := dig(t, fe, k).(string); v == "" {
			t.Errorf("flow entry lacks %s", k)
		}
	}
	if dig(t, fe, "name") != "sap-sap" || dig(t, fe, "state") != "active" {
		t.Errorf("flow entry = %v", fe)
	}
	// The peer started IKE: its session runs from the peer to this firewall.
	res, err = c.Run(ctx, transports.Command{CLI: "show session all filter source " + topo.PeerIP + " destination " + topo.LocalIP + " application ike"})
	if err != nil {
		t.Fatal(err)
	}
	if idx := dig(t, res.Data, "entry", "idx"); idx != "145371" {
		t.Errorf("session idx = %v", idx)
	}
	res, err = c.Run(ctx, transports.Command{CLI: "show clock"})
	if err != nil || !strings.HasSuffix(res.Text, "2026") && !strings.Contains(res.Text, "UTC") {
		t.Errorf("show clock = %q, %v", res.Text, err)
	}

	// debug switched on over the API is the device's state, seen by every front end
	if _, err := c.Run(ctx, transports.Command{CLI: "debug ike global on debug"}); err != nil {
		t.Fatal(err)
	}
	if got := s.dev.DebugState()[SwIKEGlobal]; got != "debug" {
		t.Errorf("ike.global = %q after the API switched it on", got)
	}
	if _, err := c.Run(ctx, transports.Command{CLI: "debug ike global on normal"}); err != nil {
		t.Fatal(err)
	}
	if clean, on := s.dev.Clean(); !clean {
		t.Errorf("device not clean: %v", on)
	}
	log := s.dev.Log()
	if len(log) == 0 || log[len(log)-1].Via != "api:admin" {
		t.Errorf("last log entry = %+v, want Via api:admin", log[len(log)-1])
	}
	s.checkSecrets(t)
}

func TestAPIErrors(t *testing.T) {
	s := startAPI(t, Options{}, APIConfig{})
	c := s.open(t)
	ctx := context.Background()
	tests := []struct {
		cli, code, msg string
		unknown        bool
	}{
		{"show foo", "17", "show -> foo  is unexpected", true},
		{"show vpn ipsec-sa tunnel", "17", "show vpn ipsec-sa tunnel  is invalid", true},
	}
	for _, tt := range tests {
		_, err := c.Run(ctx, transports.Command{CLI: tt.cli})
		var de *transports.DeviceError
		if !errors.As(err, &de) || de.Code != tt.code || de.Message != tt.msg || errors.Is(err, transports.ErrUnknownCommand) != tt.unknown {
			t.Errorf("Run(%q) = %#v", tt.cli, err)
		}
	}
	// a key from an earlier keygen is invalidated by a new one
	c2 := s.open(t)
	_, err := c.Run(ctx, transports.Command{CLI: "show clock"})
	var de *transports.DeviceError
	if !errors.As(err, &de) || de.Code != "403" || de.Message != "Invalid Credential" {
		t.Errorf("old key after a new keygen = %v, want DeviceError 403 Invalid Credential", err)
	}
	if _, err := c2.Run(ctx, transports.Command{CLI: "show clock"}); err != nil {
		t.Errorf("new key: %v", err)
	}

	tg := s.target()
	tg.Password = secret.Ref{Kind: "env", Name: "BAD"}
	_, err = xmlapi.Open(ctx, tg, dialOpts())
	var ce *transports.ConnError
	if !errors.As(err, &ce) || strings.Contains(err.Error(), "nope") {
		t.Errorf("bad password = %v, want a ConnError without the password", err)
	}
	s.checkSecrets(t)
}

func TestAPITLS(t *testing.T) {
	s := startAPI(t, Options{}, APIConfig{})
	tg := s.target()
	tg.TLS = transports.TLS{}
	_, err := xmlapi.Open(context.Background(), tg, dialOpts())
	var ce *xmlapi.CertError
	if !errors.As(err, &ce) || ce.Fingerprint != s.api.Fingerprint() || !strings.Contains(err.Error(), "tls.fingerprint: "+s.api.Fingerprint()) {
		t.Fatalf("unknown certificate = %v, want a CertError naming %s", err, s.api.Fingerprint())
	}
	ca := filepath.Join(t.TempDir(), "sim.pem")
	if err := os.WriteFile(ca, s.api.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	tg.TLS = transports.TLS{CAFile: ca}
	c, err := xmlapi.Open(context.Background(), tg, dialOpts())
	if err != nil {
		t.Fatalf("CA file: %v", err)
	}
	c.Close()
}

func TestAPIExportTechSupport(t *testing.T) {
	const size = 3<<20 + 17
	s := startAPI(t, Options{}, APIConfig{TechSupportSize: size, JobPolls: 3})
	c := s.open(t)
	c.PollInterval, c.PollMax = time.Millisecond, 2*time.Millisecond
	h := sha256.New()
	var last int64
	info, err := c.Export(context.Background(), transports.ExportRequest{Category: "tech-support",
		Progress: func(done, total int64) { last = done }}, h)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size || last != size || info.Name != "techsupport_007200001234_1201.tgz" {
		t.Errorf("info %+v, last progress %d", info, last)
	}
	s.mu.Lock()
	polls := 0
	for _, b := range s.body {
		if strings.Contains(b, "action=status") {
			polls++
		}
	}
	s.mu.Unlock()
	if polls != 4 {
		t.Errorf("%d status polls, want 4", polls)
	}
	_, err = c.Export(context.Background(), transports.ExportRequest{Category: "tech-support", MaxBytes: 1 << 20}, io.Discard)
	if !errors.Is(err, xmlapi.ErrTooLarge) {
		t.Errorf("over MaxBytes = %v, want ErrTooLarge", err)
	}
	s.checkSecrets(t)
}

func TestAPIExportTechSupportFail(t *testing.T) {
	s := startAPI(t, Options{}, APIConfig{FailTechSupport: true, JobPolls: 1})
	c := s.open(t)
	c.PollInterval, c.PollMax = time.Millisecond, 2*time.Millisecond
	_, err := c.Export(context.Background(), transports.ExportRequest{Category: "tech-support"}, io.Discard)
	if !errors.Is(err, xmlapi.ErrJobFailed) || !strings.Contains(err.Error(), "not enough disk space") {
		t.Errorf("failed job = %v, want ErrJobFailed with the details line", err)
	}
}

func TestAPIExportFiltersPcap(t *testing.T) {
	s := startAPI(t, Options{}, APIConfig{PcapSize: 5000})
	c := s.open(t)
	ctx := context.Background()
	_, err := c.Export(ctx, transports.ExportRequest{Category: "filters-pcap", File: "rx.pcap"}, io.Discard)
	var de *transports.DeviceError
	if !errors.As(err, &de) || de.Code != "7" {
		t.Fatalf("missing file = %v, want DeviceError code 7", err)
	}
	// A file is written only when a packet is captured: filter the inner
	// traffic (new sessions, so marked) before the capture.
	for _, cli := range []string{
		"debug dataplane packet-diag set filter match source 192.168.10.10 destination 192.168.20.10",
		"debug dataplane packet-diag set filter on",
		"debug dataplane packet-diag set capture stage receive file rx.pcap",
	} {
		if _, err := c.Run(ctx, transports.Command{CLI: cli}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Run(ctx, transports.Command{CLI: "debug dataplane packet-diag set capture on"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, transports.Command{CLI: "debug dataplane packet-diag set capture off"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	info, err := c.Export(ctx, transports.ExportRequest{Category: "filters-pcap", File: "rx.pcap"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "rx.pcap" || info.Size != 5000 || !bytes.HasPrefix(buf.Bytes(), pcapHeader) {
		t.Errorf("info %+v, %d bytes, header % x", info, buf.Len(), buf.Bytes()[:4])
	}
}

func TestXMLToCLI(t *testing.T) {
	for _, cli := range []string{
		"show vpn ipsec-sa tunnel sap-sap", "show vpn flow tunnel-id 207", "show clock", "show system info",
		"test routing fib-lookup virtual-router default ip 10.1.1.1",
		"show session all filter source 10.1.1.2 destination 10.1.1.1 application ike",
		"show counter global filter delta yes packet-filter yes", "debug ike global on debug",
		"debug dataplane packet-diag set capture stage receive file rx.pcap", `show vpn ipsec-sa tunnel "a b"`,
	} {
		x, err := xmlapi.CmdXML(cli)
		if err != nil {
			t.Fatal(err)
		}
		got, err := XMLToCLI(x)
		if err != nil || got != cli {
			t.Errorf("XMLToCLI(%s) = %q, %v; want %q", x, got, err, cli)
		}
	}
	for _, bad := range []string{"", "<a>", "<a/><b/>", "<a>x<b/></a>", "text"} {
		if _, err := XMLToCLI(bad); err == nil {
			t.Errorf("XMLToCLI(%q) succeeded", bad)
		}
	}
}

func FuzzXMLToCLI(f *testing.F) {
	f.Add("<show><clock></clock></show>")
	f.Add("<show><vpn><ipsec-sa><tunnel>a b</tunnel></ipsec-sa></vpn></show>")
	f.Fuzz(func(t *testing.T, x string) {
		XMLToCLI(x) // must not panic
	})
}

// TestAPIParseAgreement checks the playbooks' parsers find the same values
// in the API's structured answers as in the CLI text of the same device
// state: the tunnel id, the session id, the flow counters.
func TestAPIParseAgreement(t *testing.T) {
	clock := func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }
	s := startAPI(t, Options{Seed: 7, Clock: clock}, APIConfig{})
	cliDev := NewDevice(Options{Seed: 7, Clock: clock})
	c := s.open(t)
	ctx := context.Background()
	cliDev.Exec(ctx, "show system info") // the API's open ran it too: same counter ticks
	topo := s.dev.Topology()
	tests := []struct {
		parser, cli string
		keys        []string
	}{
		{"ipsec-sa", "show vpn ipsec-sa tunnel " + topo.Tunnel, []string{"tunnel_id", "count"}},
		{"keyvalue", "show vpn flow tunnel-id 207", []string{"decap_packets", "encap_packets", "state"}},
		{"sessions", "show session all filter source " + topo.PeerIP + " destination " + topo.LocalIP + " application ipsec-esp", []string{"count", "first_id"}},
		{"system-resources", "show system resources", []string{"cpu_busy", "cpu_idle", "load_1", "mem_used_pct", "processes"}},
		{"vpn-tunnel", "show vpn tunnel", []string{"count", "known", "tunnels"}},
	}
	for _, tt := range tests {
		t.Run(tt.parser, func(t *testing.T) {
			text, err := cliDev.Exec(ctx, tt.cli)
			if err != nil {
				t.Fatal(err)
			}
			viaCLI, err := parse.Parse(tt.parser, text, nil)
			if err != nil {
				t.Fatalf("parse CLI text: %v", err)
			}
			res, err := c.Run(ctx, transports.Command{CLI: tt.cli})
			if err != nil {
				t.Fatal(err)
			}
			viaAPI, err := parse.Parse(tt.parser, res.Text, res.Data)
			if err != nil {
				t.Fatalf("parse API answer: %v", err)
			}
			for _, k := range tt.keys {
				if viaCLI[k] == nil || !reflect.DeepEqual(viaCLI[k], viaAPI[k]) {
					t.Errorf("%s: CLI %#v, API %#v", k, viaCLI[k], viaAPI[k])
				}
			}
			if tt.parser == "vpn-tunnel" {
				ce, _ := viaCLI["entries"].([]any)
				ae, _ := viaAPI["entries"].([]any)
				if len(ce) != 1 || len(ae) != 1 {
					t.Fatalf("entries:\nCLI %v\nAPI %v", ce, ae)
				}
				for _, k := range []string{"tunnel_id", "name", "gateway", "selector", "mirror", "wildcard", "protocol", "mode", "dh", "enc", "hash", "proposal", "lifetime_sec"} {
					if a, b := ce[0].(map[string]any)[k], ae[0].(map[string]any)[k]; a == nil || !reflect.DeepEqual(a, b) {
						t.Errorf("entries.0.%s: CLI %#v, API %#v", k, a, b)
					}
				}
				if viaCLI["form"] != "text" || viaAPI["form"] != "xml" {
					t.Errorf("forms: CLI %v, API %v", viaCLI["form"], viaAPI["form"])
				}
			}
			if tt.parser == "sessions" {
				ce, _ := viaCLI["sessions"].([]any)
				ae, _ := viaAPI["sessions"].([]any)
				if len(ce) != 1 || !reflect.DeepEqual(ce, ae) {
					t.Errorf("sessions:\nCLI %v\nAPI %v", ce, ae)
				}
			}
		})
	}
}
