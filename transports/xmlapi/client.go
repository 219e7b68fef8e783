package xmlapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
)

var (
	_ transports.Transport = (*Client)(nil)
	_ transports.Exporter  = (*Client)(nil)
)

// Name is the transport name an inventory uses for this transport.
const Name = "xmlapi"

// DefaultTimeout bounds a command that gives no Timeout of its own.
const DefaultTimeout = 2 * time.Minute

// maxResponse bounds the body of a non-export response read into memory.
const maxResponse = 64 << 20

// HTTPError is an HTTP answer that carries no PAN-OS response envelope.
type HTTPError struct {
	Target     string
	StatusCode int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("xmlapi %s: HTTP %d %s", e.Target, e.StatusCode, http.StatusText(e.StatusCode))
}

// ErrNoCredentials: neither the target nor the environment gives an API
// key, or a user and password to generate one.
var ErrNoCredentials = errors.New("no api_key, and no user and password for keygen (inventory or PANOS_API_KEY, PANOS_USERNAME, PANOS_PASSWORD)")

// Client is an open XML API session to one firewall. It is safe for
// concurrent use.
type Client struct {
	target string
	url    string // https://host:port/api/
	http   *http.Client
	key    string
	facts  transports.Facts
	closed atomic.Bool
	// serial is the firewall's serial when it is reached through Panorama:
	// every request but keygen carries it as target=.
	serial string
	// log is the session log tap (DialOptions.SessionLog), or nil.
	log io.Writer
	// life is cancelled by Close, cutting short requests in flight.
	life context.Context
	end  context.CancelFunc

	// PollInterval is the first wait between tech-support job polls; it
	// grows by half each poll up to PollMax.
	PollInterval, PollMax time.Duration
}

// Getenv reads the PANOS_* environment variables; tests may replace it.
var Getenv = os.Getenv

// Dial opens a Client for t: it resolves or generates the API key and reads
// the facts with `show system info`. Failures to connect, a refused TLS
// certificate and a rejected key or password are *transports.ConnError.
// Dial has the transports.Dialer signature.
func Dial(ctx context.Context, t transports.Target, o transports.DialOptions) (transports.Transport, error) {
	c, err := Open(ctx, t, o)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Open is Dial returning the concrete *Client.
//
// A target with a Panorama (inventory via:) is reached through it: Open
// connects to the Panorama's address with its TLS policy, generates or
// takes the Panorama's key, and sends every request with target=Serial,
// so the facts are the firewall's.
func Open(ctx context.Context, t transports.Target, o transports.DialOptions) (*Client, error) {
	name := t.Name
	serial := ""
	if t.Panorama != nil {
		if t.Serial == "" {
			return nil, fmt.Errorf("xmlapi: target %s: reached via %s but has no serial", t.Name, t.Panorama.Name)
		}
		serial = t.Serial
		t = *t.Panorama
		if name == "" {
			name = "via " + t.Name
		}
	}
	if name == "" {
		name = t.Host
	}
	host := t.Host
	if host == "" {
		host = Getenv("PANOS_HOSTNAME")
	}
	if host == "" {
		return nil, fmt.Errorf("xmlapi: target %s: no host", t.Name)
	}
	port := t.Port
	if port == 0 {
		port = 443
	}
	if name == "" {
		name = host
	}
	tc, err := tlsConfig(t, host)
	if err != nil {
		return nil, fmt.Errorf("xmlapi: %w", err)
	}
	if t.TLS.InsecureSkipVerify && o.Warn != nil {
		fmt.Fprintf(o.Warn, "WARNING: target %s: TLS certificate verification is OFF (tls.insecure_skip_verify); anyone on the path can read the API key and the answers. Pin the certificate with tls.fingerprint instead.\n", t.Name)
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 30 * time.Second,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
		Protocols:           protocols(),
		HTTP2:               http2Config(),
	}
	life, end := context.WithCancel(context.Background())
	c := &Client{
		life:         life,
		end:          end,
		target:       name,
		serial:       serial,
		url:          (&url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/api/"}).String(),
		http:         &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		PollInterval: time.Second,
		PollMax:      10 * time.Second,
		log:          o.SessionLog,
	}
	fail := func(err error) (*Client, error) {
		c.Close()
		var ce *transports.ConnError
		if errors.As(err, &ce) || ctx.Err() != nil {
			return nil, err
		}
		return nil, &transports.ConnError{Target: name, Err: err}
	}
	if c.key, err = c.credentials(ctx, t, o); err != nil {
		return fail(err)
	}
	if o.Secret != nil {
		o.Secret(c.key) // a generated key is a secret too
	}
	res, err := c.Run(ctx, transports.Command{CLI: "show system info"})
	if err != nil {
		var de *transports.DeviceError
		if errors.As(err, &de) && de.Code == "403" {
			return fail(fmt.Errorf("api key rejected: %s (code 403)", de.Message))
		}
		return fail(fmt.Errorf("show system info: %w", err))
	}
	c.facts = transports.Facts{"transport": Name}
	if serial != "" {
		c.facts["via"] = t.Name
	}
	if m, ok := res.Data.(map[string]any); ok {
		if sys, ok := m["system"].(map[string]any); ok {
			for fact, el := range map[string]string{"hostname": "hostname", "model": "model", "serial": "serial", "sw_version": "sw-version"} {
				if v, ok := sys[el].(string); ok {
					c.facts[fact] = v
				}
			}
		}
	}
	return c, nil
}

// protocols are the HTTP versions the client speaks: HTTP/2 and HTTP/1.1.
// Its TLS hello offers h2 then http/1.1 in ALPN, and the server picks: a
// management plane with HTTP/2 switched on speaks HTTP/2 only (PAN-OS
// "What's new", August 2025, "HTTP/2 network support"), the default one
// HTTP/1.1, and a server that names no protocol gets HTTP/1.1. net/http
// sets the ALPN list in the target's own tls.Config, so the certificate
// checks (VerifyConnection) run on every connection, HTTP/2 or not. A
// Transport with a tls.Config of its own does no HTTP/2 unless told,
// hence Protocols.
func protocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	return p
}

// http2Config bounds what an HTTP/2 connection buffers ahead of its
// readers: 2 MiB of a response not yet read (an export waiting on the
// disk), 4 MiB for all the responses of a connection, where Go's defaults
// are 4 MiB and 1 GiB. Measured with BenchmarkExportVsCurl/h2 (1 GiB,
// loopback, the simulator then in the benchmark's process): 4 MiB a
// stream took the process's peak RSS to about 30 MiB against a 32 MiB
// budget, 2 MiB to about 27 MiB at the same speed; 4 MiB also cost about
// 8 % more CPU per byte (the client alone, 6 pulls each, load ~35). The
// window also bounds the speed over a long path (2 MiB per round trip:
// about 40 MiB/s at 50 ms).
//
// DATA frames may be up to 256 KiB (SETTINGS_MAX_FRAME_SIZE). A Transport
// left at zero asks for 16 KiB, the protocol's minimum (Go's 1 MiB
// default is the server's), so a server that writes more at a time sends
// it cut into 16 KiB frames: one more frame header to write and read, one
// more TLS record and write for it, per 16 KiB. The simulator writes 32
// KiB at a time; with 256 KiB allowed its frames are 32 KiB, half as many,
// and a 1 GiB export took about 8 % less CPU time, client and server
// together (BenchmarkExportVsCurl's harness, 8 pulls each, alternating).
// 256 KiB, not more: the client holds a whole frame before it hands any
// of it on.
//
// An idle connection is pinged after 30 s and dropped when no answer comes
// in 15 s, so that a dead one does not hold every request multiplexed on
// it until its timeout.
func http2Config() *http.HTTP2Config {
	return &http.HTTP2Config{
		MaxReadFrameSize:              256 << 10,
		MaxReceiveBufferPerStream:     2 << 20,
		MaxReceiveBufferPerConnection: 4 << 20,
		SendPingTimeout:               30 * time.Second,
		PingTimeout:                   15 * time.Second,
	}
}

// credentials finds the API key: the target's api_key, else keygen with the
// target's user and password, else PANOS_API_KEY, else keygen with
// PANOS_USERNAME / PANOS_PASSWORD (the target's user wins over
// PANOS_USERNAME).
func (c *Client) credentials(ctx context.Context, t transports.Target, o transports.DialOptions) (string, error) {
	resolve := func(r secret.Ref) (string, error) {
		if o.Resolve == nil {
			return "", fmt.Errorf("secret %s: no resolver", r)
		}
		return o.Resolve(ctx, r)
	}
	if !t.APIKey.IsZero() {
		return resolve(t.APIKey)
	}
	if t.User != "" && !t.Password.IsZero() {
		pw, err := resolve(t.Password)
		if err != nil {
			return "", err
		}
		return c.keygen(ctx, t.User, pw)
	}
	// PANOS_* values go through the resolver when there is one, so that its
	// redactor learns them too.
	env := func(name string) string {
		v := Getenv(name)
		if v == "" || o.Resolve == nil {
			return v
		}
		if r, err := o.Resolve(ctx, secret.Ref{Kind: "env", Name: name}); err == nil && r != "" {
			return r
		}
		return v
	}
	if k := env("PANOS_API_KEY"); k != "" {
		return k, nil
	}
	user := t.User
	if user == "" {
		user = Getenv("PANOS_USERNAME")
	}
	if pw := env("PANOS_PASSWORD"); user != "" && pw != "" {
		return c.keygen(ctx, user, pw)
	}
	return "", ErrNoCredentials
}

// keygen asks the firewall for the user's API key. The password travels in
// the POST body only. Generating a key invalidates the user's previous one.
func (c *Client) keygen(ctx context.Context, user, password string) (string, error) {
	body, err := c.post(ctx, url.Values{"type": {"keygen"}, "user": {user}, "password": {password}}, false)
	if err != nil {
		return "", fmt.Errorf("keygen: %w", err)
	}
	r, err := parseResponse(body)
	if err != nil {
		return "", fmt.Errorf("keygen: %w", err)
	}
	if r.failed() {
		de := r.deviceError("keygen")
		return "", fmt.Errorf("keygen for user %s refused: %s (code %s)", user, de.Message, de.Code)
	}
	k := r.root.path("result", "key")
	if k == nil || strings.TrimSpace(k.text.String()) == "" {
		return "", fmt.Errorf("keygen: %w: no result/key", ErrMalformed)
	}
	return strings.TrimSpace(k.text.String()), nil
}

// Facts returns what `show system info` said at open: hostname, model,
// serial, sw_version, and transport "xmlapi".
func (c *Client) Facts() transports.Facts { return c.facts }

// Close cuts short any request in flight (it fails with ErrClosed) and
// releases the connections. It is safe to call more than once.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.end()
	c.http.CloseIdleConnections()
	return nil
}

// bind derives a context for one call that Close also cancels, with
// ErrClosed as its cause.
func (c *Client) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(c.life, func() { cancel(transports.ErrClosed) })
	return ctx, func() { stop(); cancel(nil) }
}

// Run sends one op command by POST (type=op). Command.XML is sent as is
// when given, else CmdXML(Command.CLI). A failed response is a
// *transports.DeviceError; HTTP, TLS and XML faults are other errors
// (*HTTPError, *CertError, ErrMalformed, *transports.ConnError for the
// network). Command.Timeout (or DefaultTimeout) bounds the call: its expiry
// wraps transports.ErrTimeout; cancelling ctx wraps ctx.Err(). An op
// command may change device state (debug on): retry only when the error is
// a *transports.ConnError or ErrClosed.
func (c *Client) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	if c.closed.Load() {
		return transports.Result{}, transports.ErrClosed
	}
	x := cmd.XML
	if x == "" {
		var err error
		if x, err = CmdXML(cmd.CLI); err != nil {
			return transports.Result{}, fmt.Errorf("xmlapi: %w", err)
		}
	}
	label := cmd.CLI
	if label == "" {
		label = x
	}
	d := cmd.Timeout
	if d <= 0 {
		d = DefaultTimeout
	}
	ctx, unbind := c.bind(ctx)
	defer unbind()
	ctx, cancel := context.WithTimeoutCause(ctx, d, transports.ErrTimeout)
	defer cancel()
	body, err := c.post(ctx, url.Values{"type": {"op"}, "cmd": {x}}, true)
	if err != nil {
		if notDialed(err) {
			// No connection could be made: the request never left.
			return transports.Result{}, fmt.Errorf("xmlapi %s: %q: %w (%w)", c.target, label, err, transports.ErrNotSent)
		}
		return transports.Result{}, fmt.Errorf("xmlapi %s: %q: %w", c.target, label, err)
	}
	res, err := ParseResponse(body, label)
	if err != nil {
		var de *transports.DeviceError
		if errors.As(err, &de) {
			return transports.Result{}, err
		}
		return transports.Result{}, fmt.Errorf("xmlapi %s: %q: %w", c.target, label, err)
	}
	return res, nil
}

// post sends form to the API and returns the body of a 200 answer, or of
// any answer that carries a response envelope.
func (c *Client) post(ctx context.Context, form url.Values, withKey bool) ([]byte, error) {
	resp, err := c.do(ctx, form, withKey)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, c.netErr(ctx, err)
	}
	if ctx.Err() != nil {
		// The deadline passed while the answer came in: a server that gave
		// up too may have sent an empty or partial body. Report the timeout,
		// not a malformed answer.
		return nil, c.netErr(ctx, ctx.Err())
	}
	if len(body) > maxResponse {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxResponse)
	}
	c.logResponse(form, resp, body)
	if resp.StatusCode != http.StatusOK {
		if _, perr := parseResponse(body); perr == nil {
			return body, nil // PAN-OS may send its error envelope with a 4xx
		}
		return nil, &HTTPError{Target: c.target, StatusCode: resp.StatusCode}
	}
	return body, nil
}

// do sends one POST. The key goes in the X-PAN-KEY header, never in the URL
// or the body. Through Panorama, a request with the key also carries
// target=<the firewall's serial> (PAN-OS XML API: "Target a firewall
// through Panorama"; pan-python adds it to op, config, commit and export
// requests alike).
func (c *Client) do(ctx context.Context, form url.Values, withKey bool) (*http.Response, error) {
	if withKey && c.serial != "" {
		// Through Panorama: the firewall is named by its serial on every
		// request; keygen (withKey false) is Panorama's own.
		form.Set("target", c.serial)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "runbook-xmlapi")
	if withKey {
		req.Header.Set("X-PAN-KEY", c.key)
	}
	c.logRequest(form, withKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.netErr(ctx, err)
	}
	return resp, nil
}

// netErr classifies a transport-level failure: the command timeout, the
// caller's cancel, a refused certificate, or a connection fault.
func (c *Client) netErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, transports.ErrTimeout):
			return fmt.Errorf("%w (%w)", transports.ErrTimeout, ctx.Err())
		case errors.Is(cause, transports.ErrClosed):
			return transports.ErrClosed
		}
		return ctx.Err()
	}
	var ce *CertError
	if errors.As(err, &ce) {
		return &transports.ConnError{Target: c.target, Err: ce}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL holds no secret, but says nothing the target name does not
	}
	return &transports.ConnError{Target: c.target, Err: err}
}

// notDialed reports whether err is a failure to open the connection (the
// device refused it or could not be reached): nothing was sent.
func notDialed(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}
