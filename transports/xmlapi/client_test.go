package xmlapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
)

// checkNoSecret fails if a secret appears in any URL or in any request
// header other than X-PAN-KEY, or the key in a form.
func checkNoSecret(t *testing.T, f *fakeFW) {
	t.Helper()
	for _, r := range f.requests() {
		for _, s := range []string{testKey, testPass, "s3cret"} {
			if strings.Contains(r.URL, s) {
				t.Errorf("secret in request URL %s", r.URL)
			}
			for h, vs := range r.Header {
				if h != "X-Pan-Key" && strings.Contains(strings.Join(vs, " "), s) {
					t.Errorf("secret in header %s", h)
				}
			}
		}
		if strings.Contains(r.Form.Encode(), testKey) || r.Form.Has("key") {
			t.Errorf("API key in a request body: type=%s", r.Form.Get("type"))
		}
		if r.Method != http.MethodPost || r.CT != "application/x-www-form-urlencoded" {
			t.Errorf("request %s with Content-Type %q, want a form POST", r.Method, r.CT)
		}
	}
}

func TestOpenWithAPIKey(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	c := openFake(t, f, f.target())
	want := transports.Facts{"hostname": "fw-test", "model": "PA-VM", "serial": "0072", "sw_version": "10.2.9", "transport": "xmlapi"}
	if got := c.Facts(); len(got) != len(want) || got["hostname"] != "fw-test" || got["sw_version"] != "10.2.9" || got["transport"] != "xmlapi" {
		t.Errorf("Facts = %v, want %v", got, want)
	}
	rq := f.requests()
	if len(rq) != 1 || rq[0].Form.Get("type") != "op" || rq[0].Header.Get("X-PAN-KEY") != testKey {
		t.Errorf("requests = %+v, want one op with X-PAN-KEY", rq)
	}
	checkNoSecret(t, f)
}

func TestOpenKeygen(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	tg := f.target()
	tg.APIKey = secret.Ref{}
	tg.User = testUser
	tg.Password = secret.Ref{Kind: "env", Name: "FW1_PW"}
	c := openFake(t, f, tg)
	if _, err := c.Run(context.Background(), transports.Command{CLI: "show system info"}); err != nil {
		t.Fatal(err)
	}
	rq := f.requests()
	if len(rq) != 3 {
		t.Fatalf("got %d requests, want keygen + 2 op", len(rq))
	}
	if rq[0].Form.Get("type") != "keygen" || rq[0].Form.Get("password") != testPass || rq[0].Header.Get("X-PAN-KEY") != "" {
		t.Errorf("first request is not a keygen POST with the password in its body")
	}
	for _, r := range rq[1:] {
		if r.Header.Get("X-PAN-KEY") != testKey {
			t.Errorf("op request without the generated key in X-PAN-KEY")
		}
	}
	checkNoSecret(t, f)
}

func TestOpenFromEnvironment(t *testing.T) {
	f := newFakeFW(t)
	t.Run("PANOS_API_KEY", func(t *testing.T) {
		noEnv(t)
		t.Setenv("PANOS_API_KEY", testKey)
		tg := f.target()
		tg.APIKey = secret.Ref{}
		openFake(t, f, tg)
	})
	t.Run("PANOS_USERNAME and PANOS_PASSWORD", func(t *testing.T) {
		noEnv(t)
		t.Setenv("PANOS_USERNAME", testUser)
		t.Setenv("PANOS_PASSWORD", testPass)
		tg := f.target()
		tg.APIKey = secret.Ref{}
		openFake(t, f, tg)
	})
	t.Run("nothing", func(t *testing.T) {
		noEnv(t)
		tg := f.target()
		tg.APIKey = secret.Ref{}
		_, err := Open(context.Background(), tg, opts(nil))
		var ce *transports.ConnError
		if !errors.As(err, &ce) || !errors.Is(err, ErrNoCredentials) {
			t.Errorf("Open = %v, want a ConnError wrapping ErrNoCredentials", err)
		}
	})
	checkNoSecret(t, f)
}

func TestOpenRefused(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	t.Run("bad key", func(t *testing.T) {
		tg := f.target()
		tg.APIKey = secret.Ref{Kind: "env", Name: "BAD_KEY"}
		_, err := Open(context.Background(), tg, opts(nil))
		var ce *transports.ConnError
		if !errors.As(err, &ce) {
			t.Fatalf("Open = %v, want a ConnError", err)
		}
		if want := "connect fw1: api key rejected: Invalid Credential (code 403)"; err.Error() != want {
			t.Errorf("error\n got %s\nwant %s", err, want)
		}
	})
	t.Run("bad password", func(t *testing.T) {
		tg := f.target()
		tg.APIKey = secret.Ref{}
		tg.User = testUser
		tg.Password = secret.Ref{Kind: "env", Name: "BAD_KEY"}
		_, err := Open(context.Background(), tg, opts(nil))
		var ce *transports.ConnError
		if !errors.As(err, &ce) {
			t.Fatalf("Open = %v, want a ConnError", err)
		}
		if want := "connect fw1: keygen for user admin refused: Invalid credentials. (code 403)"; err.Error() != want {
			t.Errorf("error\n got %s\nwant %s", err, want)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Error("password in the error")
		}
	})
}

func TestRun(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	f.op["<show><clock></clock></show>"] = "<response status=\"success\"><result><![CDATA[Thu Aug 27 10:00:00 UTC 2026\n]]></result></response>"
	f.op["<show><vpn><ipsec-sa><tunnel>sap-sap</tunnel></ipsec-sa></vpn></show>"] = `<response status="success"><result><entries><entry><tid>207</tid></entry></entries></result></response>`
	f.op["<show><x>1</x></show>"] = "!500"
	f.op["<show><y></y></show>"] = "<html>login page</html>"
	f.op["<show><slow></slow></show>"] = "wait"
	f.op["<show><slow2></slow2></show>"] = "waitsig"
	f.op["<show><bad></bad></show>"] = `<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>`
	c := openFake(t, f, f.target())
	ctx := context.Background()

	res, err := c.Run(ctx, transports.Command{CLI: "show clock"})
	if err != nil || res.Text != "Thu Aug 27 10:00:00 UTC 2026" {
		t.Errorf("show clock = %q, %v", res.Text, err)
	}
	res, err = c.Run(ctx, transports.Command{CLI: "show vpn ipsec-sa tunnel sap-sap"})
	if err != nil {
		t.Fatal(err)
	}
	if tid := res.Data.(map[string]any)["entries"].(map[string]any)["entry"].(map[string]any)["tid"]; tid != "207" {
		t.Errorf("tid = %v", tid)
	}
	// Command.XML wins over the CLI text
	if _, err := c.Run(ctx, transports.Command{CLI: "show time", XML: "<show><clock></clock></show>"}); err != nil {
		t.Errorf("explicit XML: %v", err)
	}

	_, err = c.Run(ctx, transports.Command{CLI: "show nope"})
	var de *transports.DeviceError
	if !errors.As(err, &de) || !errors.Is(err, transports.ErrUnknownCommand) || de.Code != "17" {
		t.Errorf("unknown command = %v, want DeviceError code 17 wrapping ErrUnknownCommand", err)
	}
	if want := `device refused "show nope": show -> nope  is unexpected (code 17)`; err.Error() != want {
		t.Errorf("error\n got %s\nwant %s", err, want)
	}

	_, err = c.Run(ctx, transports.Command{CLI: "show bad"})
	if !errors.As(err, &de) || de.Code != "403" {
		t.Errorf("403 after open = %v, want a DeviceError code 403", err)
	}

	_, err = c.Run(ctx, transports.Command{CLI: "show x 1"})
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 500 || errors.As(err, &de) {
		t.Errorf("HTTP 500 = %v, want an HTTPError, not a DeviceError", err)
	}
	_, err = c.Run(ctx, transports.Command{CLI: "show y"})
	if !errors.Is(err, ErrMalformed) || errors.As(err, &de) {
		t.Errorf("HTML answer = %v, want ErrMalformed", err)
	}
	_, err = c.Run(ctx, transports.Command{CLI: "show |"})
	if !errors.Is(err, ErrCmdSyntax) {
		t.Errorf("bad CLI = %v, want ErrCmdSyntax", err)
	}

	_, err = c.Run(ctx, transports.Command{CLI: "show slow", Timeout: 50 * time.Millisecond})
	if !errors.Is(err, transports.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout = %v, want ErrTimeout", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		<-f.waiting // the request is in flight
		cancel()
	}()
	_, err = c.Run(cctx, transports.Command{CLI: "show slow2"})
	if !errors.Is(err, context.Canceled) || errors.Is(err, transports.ErrTimeout) {
		t.Errorf("cancel = %v, want context.Canceled", err)
	}

	c.Close()
	c.Close()
	if _, err := c.Run(ctx, transports.Command{CLI: "show clock"}); !errors.Is(err, transports.ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
	checkNoSecret(t, f)
}

func TestTLSPolicy(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	fp := Fingerprint(f.srv.Certificate().Raw)

	t.Run("unknown certificate", func(t *testing.T) {
		tg := f.target()
		tg.TLS = transports.TLS{}
		_, err := Open(context.Background(), tg, opts(nil))
		var ce *CertError
		var conn *transports.ConnError
		if !errors.As(err, &ce) || !errors.As(err, &conn) {
			t.Fatalf("Open = %v, want a ConnError wrapping a CertError", err)
		}
		if ce.Fingerprint != fp {
			t.Errorf("fingerprint %s, want %s", ce.Fingerprint, fp)
		}
		if line := "tls.fingerprint: " + fp; !strings.Contains(err.Error(), line) {
			t.Errorf("error %q lacks the line %q", err, line)
		}
		if len(f.requests()) != 0 {
			t.Error("a request reached the server past an untrusted certificate")
		}
	})
	t.Run("pinned, colons and upper case", func(t *testing.T) {
		tg := f.target()
		hex := strings.ToUpper(strings.TrimPrefix(fp, "sha256:"))
		var parts []string
		for i := 0; i < len(hex); i += 2 {
			parts = append(parts, hex[i:i+2])
		}
		tg.TLS = transports.TLS{Fingerprint: "sha256:" + strings.Join(parts, ":")}
		openFake(t, f, tg)
	})
	t.Run("pinned mismatch", func(t *testing.T) {
		tg := f.target()
		tg.TLS = transports.TLS{Fingerprint: "sha256:" + strings.Repeat("ab", 32)}
		_, err := Open(context.Background(), tg, opts(nil))
		var ce *CertError
		if !errors.As(err, &ce) || !ce.Pinned {
			t.Fatalf("Open = %v, want a pinned CertError", err)
		}
	})
	t.Run("bad fingerprint", func(t *testing.T) {
		tg := f.target()
		tg.TLS = transports.TLS{Fingerprint: "sha1:abcd"}
		if _, err := Open(context.Background(), tg, opts(nil)); !errors.Is(err, ErrBadFingerprint) {
			t.Errorf("Open = %v, want ErrBadFingerprint", err)
		}
	})
	t.Run("CA file", func(t *testing.T) {
		tg := f.target()
		tg.TLS = transports.TLS{CAFile: f.caFile(t)}
		openFake(t, f, tg)
	})
	t.Run("insecure warns on every open", func(t *testing.T) {
		tg := f.target()
		tg.TLS = transports.TLS{InsecureSkipVerify: true}
		var warn bytes.Buffer
		for i := 0; i < 2; i++ {
			c, err := Open(context.Background(), tg, opts(&warn))
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		if n := strings.Count(warn.String(), "TLS certificate verification is OFF (tls.insecure_skip_verify)"); n != 2 {
			t.Errorf("warned %d times, want 2: %q", n, warn.String())
		}
	})
}

func TestEnvironmentSecretsReachTheRedactor(t *testing.T) {
	noEnv(t)
	t.Setenv("PANOS_API_KEY", testKey)
	f := newFakeFW(t)
	tg := f.target()
	tg.APIKey = secret.Ref{}
	red := &secret.Redactor{}
	rs := &secret.Resolver{Redactor: red}
	c, err := Open(context.Background(), tg, transports.DialOptions{Resolve: rs.Resolve})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := red.String("key=" + testKey); strings.Contains(got, testKey) {
		t.Errorf("PANOS_API_KEY not known to the redactor: %q", got)
	}
}

// TestALPN: the client offers h2 and http/1.1 in its TLS hello, speaks
// HTTP/2 to a server that picks h2, and HTTP/1.1 to one that picks
// http/1.1 or picks nothing; the certificate pin holds either way.
func TestALPN(t *testing.T) {
	noEnv(t)
	for _, tt := range []struct {
		name  string
		h2    bool     // EnableHTTP2: the server offers h2 only
		next  []string // the server's NextProtos, when not httptest's
		proto string
	}{
		{"server picks http/1.1", false, nil, "HTTP/1.1"},
		{"server picks h2", true, nil, "HTTP/2.0"},
		{"server picks nothing", false, []string{}, "HTTP/1.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var offered [][]string
			f := newFakeFWWith(t, func(s *httptest.Server) {
				s.EnableHTTP2 = tt.h2
				s.TLS = &tls.Config{NextProtos: tt.next, GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
					mu.Lock()
					offered = append(offered, h.SupportedProtos)
					mu.Unlock()
					return nil, nil
				}}
			})
			tg := f.target()
			tg.TLS = transports.TLS{Fingerprint: "sha256:" + strings.Repeat("ab", 32)}
			_, err := Open(context.Background(), tg, opts(nil))
			var ce *CertError
			if !errors.As(err, &ce) || !ce.Pinned {
				t.Fatalf("Open with the wrong pin = %v, want a pinned CertError", err)
			}
			if n := len(f.requests()); n != 0 {
				t.Fatalf("%d requests reached the server past the wrong certificate", n)
			}
			c := openFake(t, f, f.target())
			if _, err := c.Run(context.Background(), transports.Command{CLI: "show system info"}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, o := range offered {
				if !slices.Equal(o, []string{"h2", "http/1.1"}) {
					t.Errorf("client offered %q in ALPN, want [h2 http/1.1]", o)
				}
			}
			reqs := f.requests()
			if len(offered) == 0 || len(reqs) != 2 {
				t.Fatalf("%d hellos, %d requests", len(offered), len(reqs))
			}
			for _, r := range reqs {
				if r.Proto != tt.proto {
					t.Errorf("request type=%s over %s, want %s", r.Form.Get("type"), r.Proto, tt.proto)
				}
			}
		})
	}
}

// TestHTTP2Settings reads what the client opens an HTTP/2 connection with
// (RFC 9113 §3.4: the preface, then SETTINGS, here followed by the
// connection's WINDOW_UPDATE): the frame size and the receive windows of
// http2Config. The server hangs up after reading them, so Open fails.
func TestHTTP2Settings(t *testing.T) {
	noEnv(t)
	hs := httptest.NewUnstartedServer(http.NotFoundHandler())
	hs.StartTLS()
	cert, fp := hs.TLS.Certificates[0], Fingerprint(hs.Certificate().Raw)
	hs.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type frame struct {
		typ     byte
		stream  uint32
		payload []byte
	}
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	got := make(chan []frame, 1)
	go func() {
		var frames []frame
		defer func() { got <- frames }()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		p := make([]byte, len(preface))
		if _, err := io.ReadFull(c, p); err != nil || string(p) != preface {
			return
		}
		for range 2 {
			h := make([]byte, 9)
			if _, err := io.ReadFull(c, h); err != nil {
				return
			}
			f := frame{typ: h[3], stream: binary.BigEndian.Uint32(h[5:]) &^ (1 << 31), payload: make([]byte, int(h[0])<<16|int(h[1])<<8|int(h[2]))}
			if _, err := io.ReadFull(c, f.payload); err != nil {
				return
			}
			frames = append(frames, f)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	tg := transports.Target{Name: "fw1", Transport: Name, Host: "127.0.0.1", Port: port,
		APIKey: secret.Ref{Kind: "env", Name: "FW1_KEY"}, TLS: transports.TLS{Fingerprint: fp}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Open(ctx, tg, opts(io.Discard)); err == nil {
		t.Fatal("Open succeeded against a server that hangs up")
	}
	frames := <-got
	if len(frames) != 2 || frames[0].typ != 0x4 || frames[1].typ != 0x8 || frames[1].stream != 0 {
		t.Fatalf("the client opened with %+v, want SETTINGS then a WINDOW_UPDATE of the connection", frames)
	}
	settings := map[uint16]uint32{}
	for p := frames[0].payload; len(p) >= 6; p = p[6:] {
		settings[binary.BigEndian.Uint16(p)] = binary.BigEndian.Uint32(p[2:])
	}
	const maxFrameSize, initialWindowSize = 0x5, 0x4
	if v := settings[maxFrameSize]; v != 256<<10 {
		t.Errorf("SETTINGS_MAX_FRAME_SIZE %d, want %d", v, 256<<10)
	}
	if v := settings[initialWindowSize]; v != 2<<20 {
		t.Errorf("SETTINGS_INITIAL_WINDOW_SIZE %d, want %d (a stream's window)", v, 2<<20)
	}
	// net/http grants the connection's 4 MiB on top of the 65,535 every
	// connection starts with (RFC 9113 §6.9.2).
	if inc := binary.BigEndian.Uint32(frames[1].payload) &^ (1 << 31); inc != 4<<20 {
		t.Errorf("connection window raised by %d, want %d", inc, 4<<20)
	}
}
