package sim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIConfig configures the simulated XML API.
type APIConfig struct {
	// User and Password are the account keygen accepts; User defaults to
	// "admin". An empty Password disables keygen.
	User     string
	Password string
	// APIKey, when set, is valid from the start (as if keygen had run).
	APIKey string
	// TechSupportSize is the size of the generated tech-support file;
	// default 1 MiB.
	TechSupportSize int64
	// JobPolls is how many status polls a tech-support job answers ACT
	// before FIN; default 2.
	JobPolls int
	// FailTechSupport makes tech-support jobs end in FIN/FAIL.
	FailTechSupport bool
	// PcapSize is the size of an exported filters-pcap file; default 64 KiB.
	PcapSize int64
	// Hosts are extra DNS names or IP addresses for the self-signed
	// certificate, besides the device hostname, localhost, 127.0.0.1, ::1.
	Hosts []string
	// HTTP2Only serves the API over HTTP/2 alone, as a PAN-OS management
	// plane does once HTTP/2 is switched on there: HTTP/1.1 is then off,
	// with no fallback (PAN-OS "What's new", August 2025, "HTTP/2 network
	// support"). ALPN offers h2 only, so a client asking for http/1.1 alone
	// fails the TLS handshake, and one sending no ALPN is hung up on once
	// the handshake is done. The default (false) is HTTP/1.1 only, PAN-OS's
	// default: ALPN offers http/1.1 only.
	HTTP2Only bool
}

// APIServer serves the PAN-OS XML API over HTTPS for a Device, sharing its
// state with every other front end (the SSH server). It answers keygen,
// type=op (the XML command converted back to CLI and run on the device)
// and type=export (tech-support jobs, filters-pcap files).
type APIServer struct {
	dev  *Device
	cfg  APIConfig
	cert tls.Certificate
	fp   string
	keys *keyring

	mu     sync.Mutex
	jobs   map[int]*apiJob
	nextID int
}

type apiJob struct {
	polls int
	user  string
}

// NewAPIServer prepares an XML API for dev with a freshly generated
// self-signed certificate (ECDSA P-256).
func NewAPIServer(dev *Device, cfg APIConfig) (*APIServer, error) {
	if cfg.User == "" {
		cfg.User = "admin"
	}
	if cfg.TechSupportSize <= 0 {
		cfg.TechSupportSize = 1 << 20
	}
	if cfg.PcapSize <= 0 {
		cfg.PcapSize = 64 << 10
	}
	if cfg.JobPolls <= 0 {
		cfg.JobPolls = 2
	}
	cert, err := selfSigned(dev.opts.Hostname, cfg.Hosts)
	if err != nil {
		return nil, fmt.Errorf("sim: api certificate: %w", err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	s := &APIServer{dev: dev, cfg: cfg, cert: cert, fp: "sha256:" + hex.EncodeToString(sum[:]),
		keys: newKeyring(cfg.User, cfg.Password, cfg.APIKey), jobs: map[int]*apiJob{}, nextID: 1200}
	return s, nil
}

func selfSigned(hostname string, hosts []string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return tls.Certificate{}, err
	}
	tpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"runbook simulator"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{hostname, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tpl.IPAddresses = append(tpl.IPAddresses, ip)
		} else if h != "" {
			tpl.DNSNames = append(tpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Fingerprint is the SHA-256 fingerprint of the server certificate, in the
// form an inventory's tls.fingerprint takes.
func (s *APIServer) Fingerprint() string { return s.fp }

// CertPEM is the server certificate in PEM, usable as a tls.ca_file.
func (s *APIServer) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Certificate[0]})
}

// TLSConfig is the server side TLS configuration with the certificate. Its
// NextProtos names the one protocol served (h2 with HTTP2Only, else
// http/1.1); serve it with HTTPServer, whose Protocols say the same (a
// plain http.Server would add h2 to an HTTP/1.1 simulator).
func (s *APIServer) TLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12,
		NextProtos: []string{s.protocols().alpn()}}
}

// HTTPServer is the http.Server that Serve runs: the TLS configuration, the
// protocols served (HTTP/1.1 only, or HTTP/2 only with HTTP2Only) and the
// timeouts, with h as its handler (nil: Handler). Tests that wrap the
// handler serve it with ServeTLS(ln, "", "").
func (s *APIServer) HTTPServer(h http.Handler) *http.Server {
	if h == nil {
		h = s.Handler()
	}
	return newHTTPSServer(h, s.TLSConfig(), s.protocols())
}

// served is the one HTTP protocol a simulated server speaks: HTTP/2, or
// else HTTP/1.1.
type served struct{ http2 bool }

var (
	http1Only = served{}
	http2Only = served{http2: true}
)

// alpn is the ALPN name offered for it.
func (ps served) alpn() string {
	if ps.http2 {
		return "h2"
	}
	return "http/1.1"
}

func (s *APIServer) protocols() served {
	if s.cfg.HTTP2Only {
		return http2Only
	}
	return http1Only
}

// newHTTPSServer is the server of a simulated HTTPS API: h over tc,
// speaking the protocols of ps only.
func newHTTPSServer(h http.Handler, tc *tls.Config, ps served) *http.Server {
	p := new(http.Protocols)
	p.SetHTTP1(!ps.http2)
	p.SetHTTP2(ps.http2)
	return &http.Server{Handler: h, TLSConfig: tc, Protocols: p, ReadHeaderTimeout: 30 * time.Second}
}

// Device returns the device the server serves.
func (s *APIServer) Device() *Device { return s.dev }

// Serve answers HTTPS on ln until ctx is done, then shuts down (waiting up
// to five seconds for requests in flight). It returns nil after ctx is
// done, or the serve error.
func (s *APIServer) Serve(ctx context.Context, ln net.Listener) error {
	return serveHTTPS(ctx, ln, s.HTTPServer(nil), "api")
}

// serveHTTPS answers HTTPS on ln with srv until ctx is done, then shuts
// down (waiting up to five seconds for requests in flight); nil after ctx
// is done, else the serve error.
func serveHTTPS(ctx context.Context, ln net.Listener, srv *http.Server, what string) error {
	srv.BaseContext = func(net.Listener) context.Context { return ctx }
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return fmt.Errorf("sim: %s: %w", what, err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		<-errc
		return nil
	}
}

// Handler is the API's HTTP handler (path /api/), without TLS.
func (s *APIServer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/api", s.serveAPI)
	return mux
}

// envelope writes a response envelope; inner is already XML.
func envelope(w http.ResponseWriter, httpStatus int, status, code, inner string) {
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.WriteHeader(httpStatus)
	attrs := `status="` + status + `"`
	if code != "" {
		attrs += ` code="` + code + `"`
	}
	io.WriteString(w, "<response "+attrs+">"+inner+"</response>\n")
}

func apiError(w http.ResponseWriter, httpStatus int, code string, lines ...string) {
	var b strings.Builder
	b.WriteString("<msg>")
	for _, l := range lines {
		b.WriteString("<line>" + cdata(l) + "</line>")
	}
	b.WriteString("</msg>")
	envelope(w, httpStatus, "error", code, b.String())
}

// cdata wraps s in CDATA sections, splitting any "]]>" inside.
func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

func (s *APIServer) serveAPI(w http.ResponseWriter, r *http.Request) {
	user, ok := s.keys.admit(w, r)
	if !ok {
		return
	}
	typ := r.Form.Get("type")
	switch typ {
	case "op":
		s.op(w, r, user)
	case "export":
		s.export(w, r, user)
	case "":
		apiError(w, http.StatusBadRequest, "400", "Missing type parameter")
	default:
		apiError(w, http.StatusBadRequest, "400", "Invalid type "+typ)
	}
}

// op runs a type=op command: the cmd XML converted to CLI, run on the
// device, the answer in a response envelope (structured XML for the
// commands listed in structured, CDATA text for the rest).
func (s *APIServer) op(w http.ResponseWriter, r *http.Request, user string) {
	cmd := r.Form.Get("cmd")
	if cmd == "" {
		apiError(w, http.StatusBadRequest, "400", "Missing cmd parameter")
		return
	}
	cli, err := XMLToCLI(cmd)
	if err != nil {
		apiError(w, http.StatusOK, "18", "Malformed command: "+err.Error())
		return
	}
	out, err := s.dev.exec(r.Context(), "api:"+user, cli, nil)
	if errors.Is(err, ErrDropConnection) {
		panic(http.ErrAbortHandler) // closes the connection without an answer
	}
	if r.Context().Err() != nil {
		return // the client has gone
	}
	if s.dev.hangUp() {
		// Faults.HangUpAfter: this answer ends its keep-alive connection.
		w.Header().Set("Connection", "close")
	}
	if err != nil {
		code, lines := opErrorCode(cli, err)
		apiError(w, http.StatusOK, code, lines...)
		return
	}
	if inner, ok := s.dev.structuredState(cli, out); ok {
		envelope(w, http.StatusOK, "success", "", "<result>"+inner+"</result>")
		return
	}
	if inner, ok := structured(cli, out); ok {
		envelope(w, http.StatusOK, "success", "", "<result>"+inner+"</result>")
		return
	}
	envelope(w, http.StatusOK, "success", "", "<result>"+cdata(out)+"</result>")
}

// opErrorCode maps a refused command to an API code and message lines:
// unknown and invalid commands are 17 ("<path> -> <word>  is unexpected",
// the API's own phrasing), validation errors 12, anything else 14.
func opErrorCode(cli string, err error) (string, []string) {
	var ce *CommandError
	if !errors.As(err, &ce) {
		return "14", []string{err.Error()}
	}
	switch ce.Kind {
	case "unknown":
		word := strings.TrimPrefix(ce.Msg, "Unknown command: ")
		words := strings.Fields(cli)
		for i, wd := range words {
			if wd == word && i > 0 {
				return "17", []string{" " + strings.Join(words[:i], " ") + " -> " + word + "  is unexpected"}
			}
		}
		return "17", []string{ce.Msg}
	case "invalid":
		return "17", []string{" " + cli + "  is invalid"}
	case "xmlapi":
		// The line as pan-python shows it: " debug not available to xmlapi client".
		return "17", []string{" " + ce.Msg}
	case "validation":
		return "12", strings.Split(strings.TrimSpace(strings.TrimPrefix(ce.Msg, "Validation Error:")), "\n")
	}
	return "14", []string{ce.Msg}
}

// export answers type=export: tech-support jobs and filters-pcap files.
func (s *APIServer) export(w http.ResponseWriter, r *http.Request, user string) {
	switch cat := r.Form.Get("category"); cat {
	case "tech-support":
		s.techSupport(w, r, user)
	case "filters-pcap":
		from := r.Form.Get("from")
		if from == "" {
			var b strings.Builder
			b.WriteString("<dir-listing>")
			for _, f := range s.dev.captureFiles() {
				b.WriteString("<file>/" + xmlText(f) + "</file>")
			}
			b.WriteString("</dir-listing>")
			envelope(w, http.StatusOK, "success", "", b.String())
			return
		}
		if !s.dev.hasCaptureFile(from) {
			apiError(w, http.StatusOK, "7", "File "+from+" not found")
			return
		}
		stream(w, r, from, "application/octet-stream", s.cfg.PcapSize, pcapHeader)
	default:
		apiError(w, http.StatusBadRequest, "400", "Invalid category "+cat)
	}
}

func (s *APIServer) techSupport(w http.ResponseWriter, r *http.Request, user string) {
	action := r.Form.Get("action")
	if action == "" {
		s.mu.Lock()
		s.nextID++
		id := s.nextID
		s.jobs[id] = &apiJob{user: user}
		s.mu.Unlock()
		envelope(w, http.StatusOK, "success", "19", fmt.Sprintf("<result><msg><line>Exec job enqueued with jobid %d</line></msg><job>%d</job></result>", id, id))
		return
	}
	id, err := strconv.Atoi(r.Form.Get("job-id"))
	s.mu.Lock()
	job := s.jobs[id]
	if job != nil && action == "status" {
		job.polls++
	}
	var polls int
	if job != nil {
		polls = job.polls
	}
	s.mu.Unlock()
	if err != nil || job == nil {
		apiError(w, http.StatusOK, "7", fmt.Sprintf("job %s not found", r.Form.Get("job-id")))
		return
	}
	done := polls > s.cfg.JobPolls
	switch action {
	case "status":
		if !done {
			progress := 100 * polls / (s.cfg.JobPolls + 1)
			envelope(w, http.StatusOK, "success", "", fmt.Sprintf("<result><job><tenq>2026/11/27 10:00:00</tenq><tdeq>10:00:00</tdeq><id>%d</id><user>%s</user><type>Exec</type><status>ACT</status><queued>NO</queued><stoppable>no</stoppable><result>PEND</result><tfin>Still Active</tfin><description></description><positionInQ>0</positionInQ><progress>%d</progress><details></details><warnings></warnings></job></result>", id, xmlText(job.user), progress))
			return
		}
		result, details := "OK", "<line>Tech support file generated</line>"
		if s.cfg.FailTechSupport {
			result, details = "FAIL", "<line>Failed to generate tech support file: not enough disk space</line>"
		}
		envelope(w, http.StatusOK, "success", "", fmt.Sprintf("<result><job><tenq>2026/11/27 10:00:00</tenq><tdeq>10:00:00</tdeq><id>%d</id><user>%s</user><type>Exec</type><status>FIN</status><queued>NO</queued><stoppable>no</stoppable><result>%s</result><tfin>10:02:13</tfin><description></description><positionInQ>0</positionInQ><progress>100</progress><details>%s</details><warnings></warnings></job></result>", id, xmlText(job.user), result, details))
	case "get":
		if !done || s.cfg.FailTechSupport {
			apiError(w, http.StatusOK, "14", fmt.Sprintf("job %d has no file to get", id))
			return
		}
		name := "techsupport_" + s.dev.opts.Serial + "_" + strconv.Itoa(id) + ".tgz"
		stream(w, r, name, "application/octet-stream", s.cfg.TechSupportSize, []byte{0x1f, 0x8b, 0x08, 0x00})
	case "finish":
		s.mu.Lock()
		delete(s.jobs, id)
		s.mu.Unlock()
		envelope(w, http.StatusOK, "success", "", "<result><msg>job deleted</msg></result>")
	default:
		apiError(w, http.StatusBadRequest, "400", "Invalid action "+action)
	}
}

// pcapHeader is a little-endian pcap global header, Ethernet link type.
var pcapHeader = []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}

// stream writes a generated file of size bytes (head, then a repeating
// pattern) without holding it in memory.
func stream(w http.ResponseWriter, r *http.Request, name, ctype string, size int64, head []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", "attachment; filename="+name)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	buf := make([]byte, 32<<10)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	var sent int64
	first := head
	for sent < size {
		if r.Context().Err() != nil {
			return
		}
		chunk := buf
		if first != nil {
			chunk = append(append([]byte(nil), first...), buf[len(first):]...)
			first = nil
		}
		if rem := size - sent; int64(len(chunk)) > rem {
			chunk = chunk[:rem]
		}
		n, err := w.Write(chunk)
		sent += int64(n)
		if err != nil {
			return
		}
	}
}

func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// captureFiles lists the data-plane capture files on the device, sorted.
func (d *Device) captureFiles() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for f := range d.files {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// hasCaptureFile reports whether a data-plane capture file exists.
func (d *Device) hasCaptureFile(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.files[name] != nil
}
