package xmlapi

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
)

const (
	testKey  = "LUFRPT1testkey0123456789abcdefABCDEF=="
	testUser = "admin"
	testPass = "s3cret-Pa55"
)

const sysInfo = `<response status="success"><result><system><hostname>fw-test</hostname><model>PA-VM</model><serial>0072</serial><sw-version>10.2.9</sw-version></system></result></response>`

// seen is one request the fake firewall received.
type seen struct {
	URL    string
	Header http.Header
	Form   url.Values
	Method string
	CT     string
	Proto  string // HTTP/1.1, HTTP/2.0
}

// fakeFW is a minimal PAN-OS XML API on httptest's TLS server: keygen,
// X-PAN-KEY check, and an op handler per command XML. It records every
// request so tests can check where the secrets went.
type fakeFW struct {
	t   testing.TB
	srv *httptest.Server
	op  map[string]string                         // cmd XML -> response body
	exp func(w http.ResponseWriter, f url.Values) // type=export
	// waiting receives once per "waitsig" request, when it has arrived.
	waiting chan struct{}
	mu      sync.Mutex
	req     []seen
}

func newFakeFW(t testing.TB) *fakeFW {
	t.Helper()
	return newFakeFWWith(t, nil)
}

// newFakeFWWith is newFakeFW with setup applied to the server before it
// starts (its TLS configuration, EnableHTTP2). httptest's TLS server
// offers http/1.1 only in ALPN, or h2 only with EnableHTTP2.
func newFakeFWWith(t testing.TB, setup func(*httptest.Server)) *fakeFW {
	t.Helper()
	f := &fakeFW{t: t, waiting: make(chan struct{}, 1), op: map[string]string{"<show><system><info></info></system></show>": sysInfo}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	if setup != nil {
		setup(f.srv)
	}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeFW) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", 400)
		return
	}
	f.mu.Lock()
	f.req = append(f.req, seen{URL: r.URL.String(), Header: r.Header.Clone(), Form: r.PostForm, Method: r.Method, CT: r.Header.Get("Content-Type"), Proto: r.Proto})
	f.mu.Unlock()
	if r.URL.Path != "/api/" {
		http.NotFound(w, r)
		return
	}
	typ := r.PostForm.Get("type")
	if typ == "keygen" {
		if r.PostForm.Get("user") == testUser && r.PostForm.Get("password") == testPass {
			io.WriteString(w, "<response status = 'success'><result><key>"+testKey+"</key></result></response>")
			return
		}
		w.WriteHeader(403)
		io.WriteString(w, "<response status = 'error' code = '403'><result><msg>Invalid credentials.</msg></result></response>")
		return
	}
	if r.Header.Get("X-PAN-KEY") != testKey {
		w.WriteHeader(403)
		io.WriteString(w, "<response status = 'error' code = '403'><result><msg>Invalid Credential</msg></result></response>")
		return
	}
	switch typ {
	case "op":
		body, ok := f.op[r.PostForm.Get("cmd")]
		if !ok {
			io.WriteString(w, `<response status="error" code="17"><msg><line><![CDATA[ show -> nope  is unexpected]]></line></msg></response>`)
			return
		}
		if strings.HasPrefix(body, "!") { // a raw HTTP status
			code, _ := strconv.Atoi(body[1:])
			w.WriteHeader(code)
			io.WriteString(w, "<html>oops</html>")
			return
		}
		if body == "wait" || body == "waitsig" { // blocks until the client gives up
			if body == "waitsig" {
				f.waiting <- struct{}{}
			}
			<-r.Context().Done()
			return
		}
		io.WriteString(w, body)
	case "export":
		if f.exp != nil {
			f.exp(w, r.PostForm)
			return
		}
		fallthrough
	default:
		io.WriteString(w, `<response status="error" code="400"><msg>bad type</msg></response>`)
	}
}

// requests returns what the server saw so far.
func (f *fakeFW) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.req...)
}

// target returns a Target for the fake, pinned to its certificate.
func (f *fakeFW) target() transports.Target {
	u, _ := url.Parse(f.srv.URL)
	port, _ := strconv.Atoi(u.Port())
	return transports.Target{
		Name: "fw1", Transport: Name, Host: u.Hostname(), Port: port,
		APIKey: secret.Ref{Kind: "env", Name: "FW1_KEY"},
		TLS:    transports.TLS{Fingerprint: Fingerprint(f.srv.Certificate().Raw)},
	}
}

// caFile writes the fake's certificate as a PEM CA file.
func (f *fakeFW) caFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// opts resolves env:FW1_KEY to the test key and env:FW1_PW to the password.
func opts(warn io.Writer) transports.DialOptions {
	rs := &secret.Resolver{Getenv: func(n string) string {
		return map[string]string{"FW1_KEY": testKey, "FW1_PW": testPass, "BAD_KEY": "wrong"}[n]
	}}
	return transports.DialOptions{Resolve: rs.Resolve, Warn: warn}
}

// openFake opens a Client to f, failing the test on error.
func openFake(t *testing.T, f *fakeFW, tg transports.Target) *Client {
	t.Helper()
	c, err := Open(context.Background(), tg, opts(io.Discard))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// noEnv clears the PANOS_* variables for one test.
func noEnv(t *testing.T) {
	for _, k := range []string{"PANOS_HOSTNAME", "PANOS_API_KEY", "PANOS_USERNAME", "PANOS_PASSWORD"} {
		t.Setenv(k, "")
	}
}
