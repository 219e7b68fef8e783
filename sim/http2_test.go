package sim

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/xmlapi"
)

// TestAPIProtocols runs the XML API client against a simulator that speaks
// HTTP/1.1 only (the default, as PAN-OS's) and one that speaks HTTP/2 only
// (PAN-OS with HTTP/2 switched on: HTTP/1.1 off, no fallback). The client
// offers both in ALPN; every request must come over the one the server
// speaks: keygen, op commands, a tech-support job polled to the end and
// its file streamed, an export cancelled half way, and the session still
// good after it.
func TestAPIProtocols(t *testing.T) {
	for _, tt := range []struct {
		name  string
		h2    bool
		proto string
	}{
		{"HTTP/1.1 only", false, "HTTP/1.1"},
		{"HTTP/2 only", true, "HTTP/2.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Well past the HTTP/2 windows and the socket buffers (loopback
			// autotuning may reach 32 MiB).
			const size = 64<<20 + 5
			// The capture cancelled half way is large, so that what socket
			// buffers and windows take in after the cancel is far from its end.
			const pcapSize = 1 << 30
			s := startAPI(t, Options{StaleCaptures: []string{"fw.pcap"}}, APIConfig{HTTP2Only: tt.h2,
				TechSupportSize: size, JobPolls: 2, PcapSize: pcapSize})
			c := s.open(t) // keygen, then show system info
			c.PollInterval, c.PollMax = time.Millisecond, 2*time.Millisecond
			ctx := context.Background()
			if f := c.Facts(); f["hostname"] != "pa-sim" || f["serial"] != "007200001234" {
				t.Errorf("Facts = %v", f)
			}
			for _, cli := range []string{"show clock", "debug ike global on debug", "debug ike global on normal"} {
				if _, err := c.Run(ctx, transports.Command{CLI: cli}); err != nil {
					t.Fatalf("%s: %v", cli, err)
				}
			}
			if clean, on := s.dev.Clean(); !clean {
				t.Errorf("device not clean: %v", on)
			}

			// The file is streamed: while the writer holds its first bytes,
			// the server stalls (windows and socket buffers full) far from
			// the end of the file.
			before := s.sent.Load()
			w := &firstWrite{h: sha256.New(), sent: func() int64 { return s.sent.Load() - before }}
			info, err := c.Export(ctx, transports.ExportRequest{Category: "tech-support"}, w)
			if err != nil {
				t.Fatal(err)
			}
			if info.Size != size || w.n != size {
				t.Errorf("exported %d bytes (writer %d), want %d", info.Size, w.n, size)
			}
			if w.stalledAt >= size {
				t.Errorf("server sent the whole file (%d bytes) while the writer held its first bytes: not streamed", w.stalledAt)
			}
			want := sha256.New()
			stream(hashWriter{want}, httptestRequest(), "x", "x", size, []byte{0x1f, 0x8b, 0x08, 0x00})
			if !reflect.DeepEqual(w.h.Sum(nil), want.Sum(nil)) {
				t.Error("exported file differs from the one served")
			}

			// Cancelled half way: the export stops with the cancel, the
			// server stops sending, and the session (on HTTP/2 the same
			// connection) still answers.
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			drain(s.answered)
			markBefore := s.sent.Load()
			_, err = c.Export(cctx, transports.ExportRequest{Category: "filters-pcap", File: "fw.pcap", Progress: func(done, total int64) {
				if done > 4<<20 {
					cancel()
				}
			}}, io.Discard)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled export = %v, want context.Canceled", err)
			}
			waitAnswers(t, s.answered, 1) // the download's handler returned
			if n := s.sent.Load() - markBefore; n > pcapSize/4 {
				t.Errorf("server sent %d of %d bytes of the cancelled export: it did not stop", n, pcapSize)
			}
			if _, err := c.Run(ctx, transports.Command{CLI: "show clock"}); err != nil {
				t.Errorf("after the cancel: %v", err)
			}
			if got := s.protocols(); len(got) != 1 || got[0] != tt.proto {
				t.Errorf("requests came over %v, want only %s", got, tt.proto)
			}
			s.checkSecrets(t)
		})
	}
}

// TestAPIHTTP2OnlyRefusesHTTP1 checks the HTTP/2-only simulator as the
// PAN-OS docs describe it: a client that speaks HTTP/1.1 only gets no
// answer, with ALPN (the handshake fails) or without (hung up on).
func TestAPIHTTP2OnlyRefusesHTTP1(t *testing.T) {
	for _, tt := range []struct {
		name string
		h2   bool
		alpn []string
		ok   bool
	}{
		{"h2 server, http/1.1 in ALPN", true, []string{"http/1.1"}, false},
		{"h2 server, no ALPN", true, nil, false},
		{"HTTP/1.1 server, no ALPN", false, nil, true},
		{"HTTP/1.1 server, http/1.1 in ALPN", false, []string{"http/1.1"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startAPI(t, Options{}, APIConfig{HTTP2Only: tt.h2})
			tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: tt.alpn}}
			defer tr.CloseIdleConnections()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("https://%s/api/", s.addr),
				strings.NewReader("type=keygen&user=admin&password="+apiPass))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("HTTP/1.1 request = %v, %v; want ok %v", resp, err, tt.ok)
			}
			if err == nil && resp.Proto != "HTTP/1.1" {
				t.Errorf("answered over %s", resp.Proto)
			}
			if !tt.ok && len(s.protocols()) != 0 {
				t.Errorf("a request reached the handler over %v", s.protocols())
			}
		})
	}
}

// TestAPIHTTP2PinnedMismatch: over HTTP/2 too, a certificate that is not
// the pinned one is refused before any request is sent.
func TestAPIHTTP2PinnedMismatch(t *testing.T) {
	s := startAPI(t, Options{}, APIConfig{HTTP2Only: true})
	tg := s.target()
	tg.TLS = transports.TLS{Fingerprint: "sha256:" + strings.Repeat("ab", 32)}
	_, err := xmlapi.Open(context.Background(), tg, dialOpts())
	var ce *xmlapi.CertError
	if !errors.As(err, &ce) || !ce.Pinned || ce.Fingerprint != s.api.Fingerprint() {
		t.Fatalf("Open = %v, want a pinned CertError naming %s", err, s.api.Fingerprint())
	}
	if got := s.protocols(); len(got) != 0 {
		t.Errorf("a request reached the server past the wrong certificate, over %v", got)
	}
	// The right pin opens, over HTTP/2.
	s.open(t)
	if got := s.protocols(); len(got) != 1 || got[0] != "HTTP/2.0" {
		t.Errorf("requests came over %v, want HTTP/2.0", got)
	}
}

// firstWrite hashes what it is given. On its first Write it holds the
// bytes until the server stops sending (the count unchanged over three
// looks 20 ms apart, 10 s at most) and notes what the server had sent by
// then: a client that buffered the whole file would let it send all.
type firstWrite struct {
	h         hash.Hash
	n         int64
	sent      func() int64
	stalledAt int64
}

func (w *firstWrite) Write(b []byte) (int, error) {
	if w.n == 0 {
		last, same := w.sent(), 0
		for i := 0; i < 500 && same < 3; i++ {
			time.Sleep(20 * time.Millisecond)
			if n := w.sent(); n == last {
				same++
			} else {
				last, same = n, 0
			}
		}
		w.stalledAt = last
	}
	w.n += int64(len(b))
	return w.h.Write(b)
}

// hashWriter is a ResponseWriter that only hashes the body (stream's
// expected bytes).
type hashWriter struct{ h io.Writer }

func (w hashWriter) Header() http.Header         { return http.Header{} }
func (w hashWriter) Write(b []byte) (int, error) { return w.h.Write(b) }
func (w hashWriter) WriteHeader(int)             {}

func httptestRequest() *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "https://127.0.0.1/", nil)
	return r
}

func drain(c chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// waitAnswers waits for n answers to be complete, 30 s at most.
func waitAnswers(t *testing.T, c chan struct{}, n int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-c:
		case <-timeout:
			t.Fatalf("%d of %d answers complete after 30s", i, n)
		}
	}
}
