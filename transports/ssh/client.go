package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/sessionlog"
)

type secretRef = secret.Ref

// Config holds the timing of SSH sessions. The zero value of a field means
// its default.
type Config struct {
	ConnectTimeout time.Duration // dial, handshake, auth and first prompt; default 20s
	CommandTimeout time.Duration // a command without its own Timeout; default 60s
	Keepalive      time.Duration // keepalive interval; default 15s; negative disables
	// Reconnects is how many times a dropped session is reopened before a
	// Run gives up (default 3), waiting Backoff (default 250ms), doubled
	// each time up to 4s.
	Reconnects int
	Backoff    time.Duration
}

func (c Config) withDefaults() Config {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 20 * time.Second
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 60 * time.Second
	}
	if c.Keepalive == 0 {
		c.Keepalive = 15 * time.Second
	}
	if c.Reconnects <= 0 {
		c.Reconnects = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = 250 * time.Millisecond
	}
	return c
}

// Dial opens an SSH CLI session to t with the default Config. It is a
// transports.Dialer.
func Dial(ctx context.Context, t transports.Target, o transports.DialOptions) (transports.Transport, error) {
	return Config{}.Dial(ctx, t, o)
}

var _ transports.Dialer = Dial

// Dial opens an SSH CLI session to t: it connects, checks the host key,
// logs in, waits for the prompt, prepares the CLI (scripting mode, pager
// off, wide terminal) and reads the device's facts. Failures to connect or
// log in are *transports.ConnError.
func (c Config) Dial(ctx context.Context, t transports.Target, o transports.DialOptions) (transports.Transport, error) {
	cl, err := c.open(ctx, t, o)
	if err != nil {
		return nil, err
	}
	return cl, nil
}

func (c Config) open(ctx context.Context, t transports.Target, o transports.DialOptions) (*Client, error) {
	c = c.withDefaults()
	name := t.Name
	if name == "" {
		name = t.Host
	}
	port := t.Port
	if port == 0 {
		port = 22
	}
	khPath, err := knownHostsPath(t)
	if err != nil {
		return nil, &transports.ConnError{Target: name, Err: err}
	}
	a, err := buildAuth(ctx, t, o)
	if err != nil {
		return nil, &transports.ConnError{Target: name, Err: err}
	}
	cl := &Client{
		cfg:    c,
		name:   name,
		addr:   net.JoinHostPort(t.Host, strconv.Itoa(port)),
		auth:   a,
		log:    o.SessionLog,
		secret: o.Secret,
		ccfg: &xssh.ClientConfig{
			User:            a.user,
			Auth:            a.methods,
			HostKeyCallback: hostKeyCallback(khPath, o.AcceptNewHostKey),
			Timeout:         c.ConnectTimeout,
		},
	}
	for _, j := range t.Jumps {
		h, err := newHop(ctx, j, o, c.ConnectTimeout)
		if h != nil {
			a.closers = append(a.closers, h.auth.closers...)
		}
		if err != nil {
			cl.closeAuth()
			return nil, &transports.ConnError{Target: name, Err: err}
		}
		cl.jumps = append(cl.jumps, h)
	}
	if err := cl.connect(ctx); err != nil {
		cl.closeAuth()
		return nil, err
	}
	return cl, nil
}

// Client is one SSH CLI session to a PAN-OS device. Run calls are
// serialised. When the connection drops, the Run that saw it fails with
// transports.ErrClosed and the next Run reconnects (with bounded backoff).
type Client struct {
	cfg  Config
	name string
	addr string
	auth *auth
	ccfg *xssh.ClientConfig
	// log is the session log tap (DialOptions.SessionLog), or nil.
	log io.Writer
	// secret registers a secret met during a command (a secret prompt
	// answer, an scp password) with the caller's redactor
	// (DialOptions.Secret), so that an echo of it is redacted too; or nil.
	secret func(string)
	// jumps are the ProxyJump hosts, first to last (see jump.go).
	jumps []*hop

	runMu  sync.Mutex // one Run (or reconnect) at a time
	mu     sync.Mutex // guards closed, facts and s; never held while waiting
	closed bool
	facts  transports.Facts
	s      *shell // nil: lost, reconnect on next Run
}

var _ transports.Transport = (*Client)(nil)

// shell is one connection with its interactive shell.
//
// One reader goroutine reads the output and hands each read, under mu, to
// the waiter (the exchange in flight, or the login), which it runs on its
// own goroutine: a read wakes one goroutine, as in a bare client, not the
// reader and then the exchange. Output with no waiter (between commands)
// is dropped, as a late answer to an earlier command.
type shell struct {
	conn  *xssh.Client
	sess  *xssh.Session
	stdin io.Writer
	log   io.Writer     // session log tap, or nil
	ended chan struct{} // closed by the reader when the output ends
	done  chan struct{} // closed by close()
	once  sync.Once
	base  string // "user@host" or "user@host(active)", learned at login
	// userHost is base without its suffix: the prompt is userHost, any
	// HA/vsys suffix, > or # (see promptAt).
	userHost string

	mu sync.Mutex // guards w, eof, buf, text and what w touches
	// w is the waiter (the exchange in flight, or the login): the reader
	// calls it with each read (valid during the call only), mu held. When
	// it returns true the wait is over: the reader forgets it and sends on
	// over.
	w    func(b []byte) bool
	over chan struct{} // one value per wait that ended; capacity 1
	eof  bool          // the output ended
	buf  []byte        // received, not yet cleaned (an escape cut short)
	// text is the cleaned output buffer the next exchange reuses (the
	// results are copies of it).
	text  []byte
	timer *time.Timer // the exchanges' timeout, stopped between them
	// wtimer cuts a write that outlives its deadline (see write); it is
	// armed only while a write is under way, and writes are serialised by
	// mu.
	wtimer  *time.Timer
	closeFn func() // close, as one func value: write registers it with no allocation
}

// register hands v to DialOptions.Secret, when the caller gave one.
func (c *Client) register(v string) {
	if c.secret != nil {
		c.secret(v)
	}
}

// ErrStoppedReading is wrapped by Run when a write on the session (a
// command, the answer to one of its questions) could not finish before the
// command's timeout or its context ended: the device stopped reading (its
// channel window full: a hung management plane, a TCP peer that stopped
// acknowledging). The connection is closed to end the write; the error
// also wraps transports.ErrClosed, and transports.ErrTimeout or ctx.Err(),
// whichever ended it. The next Run reconnects. The command may have
// reached the device in part or whole: it is not reported as not sent.
var ErrStoppedReading = transports.ErrStoppedReading

// cutWrite is the error of a write that write cut: why is
// transports.ErrTimeout (its deadline passed) or the context's error.
type cutWrite struct{ why error }

func (e *cutWrite) Error() string { return "write cut: " + e.why.Error() }

// write writes text on the shell channel, and shown, what may be written
// down of it (a secret answer as secret.Placeholder), to the session log.
// It is bounded by ctx and deadline: x/crypto/ssh has no context, and a
// write to a device that stopped reading waits for window space (or for
// the TCP send buffer) forever. When ctx ends or deadline passes before
// the write returns, the connection is closed, which ends the write, and
// write returns a *cutWrite. s.mu is held (the writes are serialised).
func (s *shell) write(ctx context.Context, deadline time.Time, text, shown string) error {
	var stop func() bool
	if ctx.Done() != nil { // a command without a context (Background) has only its deadline
		stop = context.AfterFunc(ctx, s.closeFn)
	}
	s.wtimer.Reset(time.Until(deadline))
	if s.log != nil {
		io.WriteString(s.log, shown)
	}
	_, err := io.WriteString(s.stdin, text)
	timedOut := !s.wtimer.Stop()
	cancelled := stop != nil && !stop()
	switch {
	case cancelled:
		// The connection is closed, or being closed: even a write that
		// finished is lost with it.
		s.close()
		return &cutWrite{why: ctx.Err()}
	case timedOut:
		s.close()
		return &cutWrite{why: transports.ErrTimeout}
	}
	return err
}

// stoppedReading is the error of a write to cli that write cut, what
// saying which write ("the command", "the answer to its question").
func (c *Client) stoppedReading(cli, what string, timeout time.Duration, cut *cutWrite) error {
	if errors.Is(cut.why, transports.ErrTimeout) {
		return fmt.Errorf("ssh %s: %q: %w: %s was not written within %s, session dropped: %w (%w)", c.name, cli, ErrStoppedReading, what, timeout, transports.ErrTimeout, transports.ErrClosed)
	}
	return fmt.Errorf("ssh %s: %q: %w: writing %s was cut short, session dropped: %w (%w)", c.name, cli, ErrStoppedReading, what, cut.why, transports.ErrClosed)
}

func (s *shell) close() {
	s.once.Do(func() {
		close(s.done)
		s.conn.Close()
	})
}

// anyPrompt matches a PAN-OS prompt at the end of the text, on a line of
// its own: user@host, an optional HA/vsys suffix, > or #.
var anyPrompt = regexp.MustCompile(`(?:^|\n)([^\s@>#]+@[\w.\-]+(?:\([\w.\-]+\))?)[>#] ?$`)

// unexpectedPrompt matches questions no Prompt answered.
var unexpectedPrompt = regexp.MustCompile(`(?i)(\(y or n\)\s*\??\s*$|--more--\s*$|\(yes/no\)\s*\??:?\s*$|password:\s*$|lines \d+-\d+\s*$)`)

// refusalPrefixes start the CLI's refusals.
var refusalPrefixes = []string{"Unknown command:", "Invalid syntax.", "Invalid Syntax.", "Validation Error:", "Server error"}

// refusal returns the first line of out that, after leading blanks, starts
// with one of refusalPrefixes (the line from that prefix on), and whether
// there is one. It scans each line once: a regexp over the whole output
// cost more than the rest of an exchange.
func refusal(out string) (string, bool) {
	found := false
	for _, p := range refusalPrefixes {
		found = found || strings.Contains(out, p)
	}
	if !found {
		return "", false // the usual answer: no line to look at
	}
	for len(out) > 0 {
		line, rest, _ := strings.Cut(out, "\n")
		out = rest
		line = strings.TrimLeft(line, " \t\f\r")
		if len(line) < 12 { // the shortest prefix, "Server error"
			continue
		}
		for _, p := range refusalPrefixes {
			if strings.HasPrefix(line, p) {
				return line, true
			}
		}
	}
	return "", false
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]`)

func (c *Client) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	fail := func(err error) error { return &transports.ConnError{Target: c.name, Err: err} }
	nc, stop, err := dialChain(ctx, c.jumps, c.addr)
	if err != nil {
		return fail(err)
	}
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl) // a channel through a jump host has no deadlines: the ctx closes it
	}
	cc, chans, reqs, err := xssh.NewClientConn(nc, c.addr, c.ccfg)
	if err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return fail(fmt.Errorf("ssh handshake: %w", context.Cause(ctx)))
		}
		return fail(err)
	}
	nc.SetDeadline(time.Time{})
	conn := xssh.NewClient(cc, chans, reqs)
	sh, err := c.startShell(ctx, conn)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return fail(fmt.Errorf("waiting for the prompt: %w", context.Cause(ctx)))
		}
		return fail(err)
	}
	if !stop() {
		sh.close()
		return fail(fmt.Errorf("waiting for the prompt: %w", context.Cause(ctx)))
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		sh.close()
		return fmt.Errorf("ssh %s: %w", c.name, transports.ErrClosed)
	}
	c.s = sh
	c.mu.Unlock()
	if c.cfg.Keepalive > 0 {
		go keepalive(sh, c.cfg.Keepalive)
	}
	// Session preparation, as netmiko and scrapli do for PAN-OS. Older
	// releases lack scripting-mode: its refusal is not fatal.
	for _, cmd := range []string{"set cli scripting-mode on", "set cli pager off", "set cli terminal width 500"} {
		if _, err := c.exchange(ctx, sh, transports.Command{CLI: cmd}, c.cfg.ConnectTimeout); err != nil {
			var de *transports.DeviceError
			if errors.As(err, &de) && cmd != "set cli pager off" {
				continue
			}
			c.drop(sh)
			return fail(fmt.Errorf("session set-up %q: %w", cmd, err))
		}
	}
	c.mu.Lock()
	haveFacts := c.facts != nil
	c.mu.Unlock()
	if !haveFacts {
		res, err := c.exchange(ctx, sh, transports.Command{CLI: "show system info"}, c.cfg.ConnectTimeout)
		if err != nil {
			c.drop(sh)
			return fail(fmt.Errorf("show system info: %w", err))
		}
		c.mu.Lock()
		c.facts = parseFacts(res.Text)
		c.mu.Unlock()
	}
	return nil
}

// drop closes sh and forgets it, so the next Run reconnects.
func (c *Client) drop(sh *shell) {
	sh.close()
	c.mu.Lock()
	if c.s == sh {
		c.s = nil
	}
	c.mu.Unlock()
}

func (c *Client) startShell(ctx context.Context, conn *xssh.Client) (*shell, error) {
	sess, err := conn.NewSession()
	if err != nil {
		return nil, err
	}
	modes := xssh.TerminalModes{xssh.ECHO: 1, xssh.TTY_OP_ISPEED: 115200, xssh.TTY_OP_OSPEED: 115200}
	if err := sess.RequestPty("vt100", 1000, 500, modes); err != nil {
		return nil, fmt.Errorf("pty: %w", err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	sess.Stderr = io.Discard
	if err := sess.Shell(); err != nil {
		return nil, fmt.Errorf("shell: %w", err)
	}
	sh := &shell{conn: conn, sess: sess, stdin: stdin, log: c.log, ended: make(chan struct{}), done: make(chan struct{}),
		over: make(chan struct{}, 1), timer: time.NewTimer(time.Hour)}
	sh.timer.Stop()
	sh.closeFn = sh.close
	sh.wtimer = time.AfterFunc(time.Hour, sh.closeFn)
	sh.wtimer.Stop()
	// Wait for the first prompt, skipping banners and post-login noise.
	var seen []byte
	var gaveUp atomic.Bool // set when the dial gives up: the reader stops looking
	sh.w = func(b []byte) bool {
		if gaveUp.Load() {
			return true
		}
		seen = append(seen, b...)
		m := anyPrompt.FindSubmatch(clean(seen))
		if m == nil {
			return false
		}
		sh.base = string(m[1])
		// The HA state in the suffix changes on failover (active ->
		// suspended): match any suffix after this user@host.
		sh.userHost, _, _ = strings.Cut(sh.base, "(")
		return true
	}
	go sh.read(stdout)
	select {
	case <-sh.over:
		return sh, nil
	case <-sh.ended:
		select {
		case <-sh.over: // the prompt, then the end: the reader signals over first
			return sh, nil
		default:
		}
		sh.close()
		return nil, errors.New("connection closed before the prompt")
	case <-ctx.Done():
		gaveUp.Store(true)
		sh.close() // ends the reader
		return nil, context.Cause(ctx)
	}
}

// read reads the output until it ends, writes every byte to the session
// log as received, and hands each read to the waiter.
func (sh *shell) read(stdout io.Reader) {
	b := make([]byte, 32*1024)
	for {
		n, err := stdout.Read(b)
		if n > 0 {
			if sh.log != nil {
				sh.log.Write(b[:n]) // every byte received, as received
			}
			sh.mu.Lock()
			if sh.w != nil && sh.w(b[:n]) {
				sh.w = nil
				sh.over <- struct{}{} // empty: one wait at a time, and its value is taken
			}
			sh.mu.Unlock()
		}
		if err != nil {
			sh.mu.Lock()
			sh.eof = true
			sh.mu.Unlock()
			close(sh.ended)
			return
		}
	}
}

func keepalive(sh *shell, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-sh.done:
			return
		case <-t.C:
			res := make(chan error, 1)
			go func() {
				_, _, err := sh.conn.SendRequest("keepalive@openssh.com", true, nil)
				res <- err
			}()
			select {
			case err := <-res:
				if err != nil {
					sh.close()
					return
				}
			case <-time.After(every * 3):
				sh.close()
				return
			case <-sh.done:
				return
			}
		}
	}
}

// clean removes carriage returns, ANSI sequences and NULs.
func clean(b []byte) []byte { return appendClean(nil, b) }

// appendClean appends b to dst without its ANSI sequences, carriage
// returns and NULs (in that order, as clean). The regexp runs only on a
// chunk that holds an escape; the rest is one pass.
func appendClean(dst, b []byte) []byte {
	if bytes.IndexByte(b, 0x1b) >= 0 {
		b = ansi.ReplaceAll(b, nil)
	}
	if bytes.IndexByte(b, 0) < 0 {
		return appendWithout(dst, b, '\r') // the usual chunk: CRLF line ends
	}
	dst = slices.Grow(dst, len(b))
	for _, c := range b {
		if c != '\r' && c != 0 {
			dst = append(dst, c)
		}
	}
	return dst
}

// appendWithout appends b to dst without its bytes c.
func appendWithout(dst, b []byte, c byte) []byte {
	dst = slices.Grow(dst, len(b))
	for {
		i := bytes.IndexByte(b, c)
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(dst, b[:i]...)
		b = b[i+1:]
	}
}

// Facts returns hostname, model, serial and sw_version from `show system
// info`, and transport "ssh".
// Interactive reports true: a CLI session answers Command.Prompts.
func (c *Client) Interactive() bool { return true }

func (c *Client) Facts() transports.Facts {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := transports.Facts{"transport": "ssh"}
	for k, v := range c.facts {
		f[k] = v
	}
	return f
}

func parseFacts(text string) transports.Facts {
	f := transports.Facts{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k = strings.TrimSpace(k); k {
		case "hostname", "model", "serial", "sw-version":
			f[strings.ReplaceAll(k, "-", "_")] = strings.TrimSpace(v)
		}
	}
	return f
}

// Close ends the session. It is safe to call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	sh := c.s
	c.s = nil
	c.mu.Unlock()
	if sh != nil {
		// The session is closed at once; a Run in flight fails with
		// ErrClosed. A polite "exit" first, without waiting for it: the
		// close ends that write too, if the device stopped reading.
		go func() {
			if sh.log != nil {
				io.WriteString(sh.log, "exit\n")
			}
			io.WriteString(sh.stdin, "exit\n")
		}()
		sh.close()
	}
	c.runMu.Lock()
	c.closeAuth()
	c.runMu.Unlock()
	return nil
}

func (c *Client) closeAuth() {
	for _, f := range c.auth.closers {
		f()
	}
	c.auth.closers = nil
}

// Reconnect reopens a lost session now, with bounded backoff. Run calls it
// by itself when the session was lost; cleanup code may call it to reach
// the device again after a network blip.
func (c *Client) Reconnect(ctx context.Context) error {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	return c.reconnectLocked(ctx)
}

func (c *Client) reconnectLocked(ctx context.Context) error {
	c.mu.Lock()
	closed, have := c.closed, c.s != nil
	c.mu.Unlock()
	if closed {
		return fmt.Errorf("ssh %s: %w", c.name, transports.ErrClosed)
	}
	if have {
		return nil
	}
	wait := c.cfg.Backoff
	var err error
	for i := 0; i < c.cfg.Reconnects; i++ {
		if i > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("ssh %s: reconnect: %w", c.name, ctx.Err())
			}
			wait = min(wait*2, 4*time.Second)
		}
		if err = c.connect(ctx); err == nil {
			return nil
		}
		if ctx.Err() != nil || errors.Is(err, transports.ErrClosed) {
			break
		}
	}
	return fmt.Errorf("ssh %s: reconnect failed after %d attempts: %w (%w): %w", c.name, c.cfg.Reconnects, transports.ErrClosed, transports.ErrNotSent, err)
}

// Run sends one command and returns its output without the echo and the
// prompt. See transports.Transport for cancellation; a cancelled or timed
// out command closes the connection (the next Run reconnects).
func (c *Client) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return transports.Result{}, fmt.Errorf("ssh %s: %w", c.name, transports.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return transports.Result{}, fmt.Errorf("ssh %s: %q: %w", c.name, cmd.CLI, err)
	}
	if strings.ContainsAny(cmd.CLI, "\r\n") {
		return transports.Result{}, fmt.Errorf("ssh %s: command %q spans lines", c.name, cmd.CLI)
	}
	if err := c.reconnectLocked(ctx); err != nil {
		return transports.Result{}, err
	}
	c.mu.Lock()
	sh := c.s
	c.mu.Unlock()
	if sh == nil {
		return transports.Result{}, fmt.Errorf("ssh %s: %w", c.name, transports.ErrClosed)
	}
	timeout := cmd.Timeout
	if timeout <= 0 {
		timeout = c.cfg.CommandTimeout
	}
	return c.exchange(ctx, sh, cmd, timeout)
}

// exchange writes one command on sh and reads until the prompt. c.runMu is
// held. The output is read, matched and answered by sh's reader (see
// pending.feed); exchange waits for the verdict, the timeout, ctx or the
// end of the session.
func (c *Client) exchange(ctx context.Context, sh *shell, cmd transports.Command, timeout time.Duration) (transports.Result, error) {
	lose := func(err error) (transports.Result, error) {
		c.drop(sh)
		return transports.Result{}, err
	}
	x := &pending{c: c, sh: sh, ctx: ctx, cmd: cmd, timeout: timeout}
	if cmd.Scp != nil {
		x.sc = &scpState{opts: *cmd.Scp}
		if cmd.Scp.Password != "" {
			x.secrets = append(x.secrets, cmd.Scp.Password)
			c.register(cmd.Scp.Password)
		}
	}
	shown := cmd.Shown
	if shown == "" {
		shown = cmd.CLI // the session log redacts registered secrets itself
	}
	sh.mu.Lock()
	if sh.eof {
		sh.mu.Unlock()
		// The connection ended while idle (between two commands): this
		// one was never written.
		return lose(fmt.Errorf("ssh %s: %q: the session was lost before it was sent: %w (%w)", c.name, cmd.CLI, transports.ErrClosed, transports.ErrNotSent))
	}
	// Anything received before now (late output of an earlier command)
	// was dropped; the answer to this command starts here. The reader
	// waits on mu while the command is written, so an answer to a
	// question is never written before it.
	sh.buf = sh.buf[:0]
	x.text = sh.text[:0]
	x.deadline = time.Now().Add(timeout) // the write counts in the timeout
	if err := sh.write(ctx, x.deadline, cmd.CLI+"\n", shown+"\n"); err != nil {
		sh.mu.Unlock()
		var cut *cutWrite
		if errors.As(err, &cut) {
			return lose(c.stoppedReading(cmd.CLI, "the command", timeout, cut))
		}
		return lose(fmt.Errorf("ssh %s: %q: %w (%w)", c.name, cmd.CLI, transports.ErrClosed, transports.ErrNotSent))
	}
	x.timer = sh.timer
	x.timer.Reset(time.Until(x.deadline))
	sh.w = x.feed
	sh.mu.Unlock()
	defer x.timer.Stop()
	for {
		var timedOut, cancelled, signalled bool
		select {
		case <-sh.over:
			signalled = true
		case <-x.timer.C:
			timedOut = true
		case <-ctx.Done():
			cancelled = true
		case <-sh.ended:
		case <-sh.done:
		}
		sh.mu.Lock()
		if timedOut && !x.over {
			if d := time.Until(x.deadline); d > 0 {
				x.timer.Reset(d) // feed moved the deadline (Ctrl-C sent)
				sh.mu.Unlock()
				continue
			}
		}
		if !x.over {
			sh.w = nil // from here on x is this goroutine's alone
		} else if !signalled {
			<-sh.over // sent with x.over set, under mu: take it for the next wait
		}
		if x.over && cap(x.text) <= 1<<20 {
			sh.text = x.text[:0] // x.res holds copies
		}
		sh.mu.Unlock()
		switch {
		case x.over:
			if x.drop {
				c.drop(sh)
			}
			return x.res, x.err
		case timedOut:
			text, secrets, sc := x.text, x.secrets, x.sc
			seen := redact(lastLine(string(text)), secrets)
			if sc != nil && sc.abort != nil {
				_, err := lose(fmt.Errorf("ssh %s: %w (the prompt did not come back within %s of Ctrl-C, last output %q: session dropped)", c.name, sc.abort, min(timeout, scpAbortWait), seen))
				return transports.Result{Text: finish(redact(string(text), secrets), cmd.CLI, nil)}, err
			}
			return lose(fmt.Errorf("ssh %s: %q after %s (last output %q): %w", c.name, cmd.CLI, timeout, seen, transports.ErrTimeout))
		case cancelled:
			return lose(fmt.Errorf("ssh %s: %q: %w", c.name, cmd.CLI, ctx.Err()))
		default:
			return lose(x.lost())
		}
	}
}

// pending is the state of one exchange, fed by the shell's reader.
type pending struct {
	c        *Client
	sh       *shell
	ctx      context.Context // the Run's: it bounds the answers written, as the command
	cmd      transports.Command
	timeout  time.Duration
	timer    *time.Timer
	deadline time.Time // when timer fires; moved by feed after Ctrl-C
	text     []byte    // the output so far, cleaned as it arrives
	answered int       // bytes of text already matched against Prompts
	secrets  []string
	sc       *scpState
	// heard is set by the first byte back. The CLI echoes what it reads
	// as it reads it: a session that ends before a single byte came back
	// ended before the device read the command (a session that died
	// between two commands, its end not yet seen when this one was
	// written), so the command did not run.
	heard bool

	// The verdict, set when feed returns true.
	over bool
	res  transports.Result
	err  error
	drop bool // the session must be dropped
}

// lost is the error of a connection that ended after the command was
// written.
func (x *pending) lost() error {
	if !x.heard {
		return fmt.Errorf("ssh %s: %q: the session was lost before the device read it: %w (%w)", x.c.name, x.cmd.CLI, transports.ErrClosed, transports.ErrNotSent)
	}
	return fmt.Errorf("ssh %s: %q: connection lost: %w", x.c.name, x.cmd.CLI, transports.ErrClosed)
}

// end records the verdict and returns true, for feed.
func (x *pending) end(res transports.Result, err error, drop bool) bool {
	x.over, x.res, x.err, x.drop = true, res, err, drop
	return true
}

// feed takes one read of output (sh.mu held, on the reader's goroutine):
// it cleans it, and answers a question or finishes at the prompt.
func (x *pending) feed(b []byte) bool {
	c, sh, cmd := x.c, x.sh, x.cmd
	x.heard = x.heard || len(b) > 0
	sh.buf = append(sh.buf, b...)
	n := cleanable(sh.buf)
	x.text = appendClean(x.text, sh.buf[:n])
	sh.buf = append(sh.buf[:0], sh.buf[n:]...)
	if len(x.text) > maxOutput {
		return x.end(transports.Result{}, fmt.Errorf("ssh %s: %q: %w (%d bytes)", c.name, cmd.CLI, ErrOutputTooLarge, maxOutput), true)
	}
	text, secrets, sc := x.text, x.secrets, x.sc
	if at := findPrompt(sh.userHost, text); at >= 0 {
		sessionlog.Flush(sh.log) // the prompt is back: the exchange is whole
		out := finishText(text[:at], cmd.CLI, secrets)
		if first, ok := refusal(out); ok {
			de := &transports.DeviceError{Command: cmd.CLI, Message: deviceMessage(out, first)}
			if strings.HasPrefix(first, "Unknown command") {
				de.Err = transports.ErrUnknownCommand
			} else if strings.HasPrefix(strings.ToLower(first), "invalid syntax") {
				de.Err = transports.ErrInvalidSyntax
			} else if sc != nil {
				de.Err = transports.ErrCopyFailed
			}
			return x.end(transports.Result{Text: out}, de, false)
		}
		if sc != nil {
			if err := sc.verdict(cmd.CLI, out); err != nil {
				return x.end(transports.Result{Text: out}, err, false)
			}
		}
		return x.end(transports.Result{Text: out}, nil, false)
	}
	closed := func(err error) bool {
		var cut *cutWrite
		if errors.As(err, &cut) {
			return x.end(transports.Result{}, c.stoppedReading(cmd.CLI, "the answer to its question", x.timeout, cut), true)
		}
		return x.end(transports.Result{}, fmt.Errorf("ssh %s: %q: %w", c.name, cmd.CLI, transports.ErrClosed), true)
	}
	tail := text[x.answered:]
	if len(tail) > promptWindow {
		tail = tail[len(tail)-promptWindow:]
	}
	if i := bytes.LastIndexByte(tail, '\n'); i >= 0 {
		tail = tail[i+1:]
	}
	if sc != nil && len(tail) > 0 && sc.abort == nil {
		if reply, ok := sc.answer(cmd.CLI, func() string { return redact(string(text), secrets) }, string(tail)); ok {
			if err := sh.write(x.ctx, x.deadline, reply, redact(reply, secrets)); err != nil {
				return closed(err)
			}
			x.answered = len(text)
			if sc.abort != nil {
				// Ctrl-C was sent: the prompt comes back at once on a
				// device that heard it; do not wait the whole timeout.
				wait := min(x.timeout, scpAbortWait)
				x.deadline = time.Now().Add(wait)
				x.timer.Reset(wait)
			}
			tail = nil
		}
	}
	if sc != nil && sc.abort != nil {
		tail = nil // waiting for the prompt after Ctrl-C: nothing more is answered
	}
	if len(tail) == 0 {
		return false
	}
	for _, p := range cmd.Prompts {
		if p.Pattern != nil && p.Pattern.Match(tail) {
			shownAnswer := p.Answer
			if p.Secret {
				shownAnswer = secret.Placeholder
				c.register(p.Answer) // before it is sent: an echo is redacted too
			}
			if err := sh.write(x.ctx, x.deadline, p.Answer+"\n", shownAnswer+"\n"); err != nil {
				return closed(err)
			}
			if p.Secret && p.Answer != "" {
				x.secrets = append(x.secrets, p.Answer)
			}
			x.answered = len(text)
			return false
		}
	}
	if mayAskUnexpected(tail) && unexpectedPrompt.Match(tail) {
		seen := redact(string(tail), secrets)
		err := fmt.Errorf("ssh %s: %q asked %q: %w", c.name, cmd.CLI, strings.TrimSpace(seen), transports.ErrUnexpectedPrompt)
		return x.end(transports.Result{Text: redact(finish(string(text), cmd.CLI, nil), secrets)}, err, true)
	}
	return false
}

// ErrOutputTooLarge is wrapped by Run when a command's output passes the
// limit (64 MiB) before its prompt; the session is dropped (the next Run
// reconnects), as the device may still be printing.
var ErrOutputTooLarge = errors.New("output larger than the limit")

// maxOutput is the output limit; a variable for tests.
var maxOutput = 64 << 20

// promptWindow bounds the end of the output searched for a prompt or a
// question: both are short lines.
const promptWindow = 1024

// findPrompt returns where the prompt of userHost (anchored at the end of
// the text) starts in text, or -1. Only the last two lines ([edit] and the
// prompt) within promptWindow are searched, so a long output is not
// rescanned at every chunk.
func findPrompt(userHost string, text []byte) int {
	if !endsLikePrompt(text) {
		return -1 // most reads (an echoed byte, a line of output) end otherwise
	}
	off := max(0, len(text)-promptWindow)
	w := text[off:]
	from := 0
	if i := bytes.LastIndexByte(w, '\n'); i >= 0 {
		if j := bytes.LastIndexByte(w[:i], '\n'); j >= 0 {
			from = j
		} else if off > 0 {
			from = i
		}
	} else if off > 0 {
		return -1 // a last line longer than any prompt
	}
	at := promptAt(w[from:], userHost)
	if at < 0 {
		return -1
	}
	return off + from + at
}

// promptAt returns where the leftmost match of
//
//	(?:^|\n)(\[edit\]\n)?USERHOST(?:\([\w.\-]+\))?[>#] ?$
//
// starts in w (USERHOST is userHost, literally), or -1: the prompt on a
// line of its own at the end, after an [edit] line in configuration mode,
// with any HA or vsys suffix ("(active)", "(passive)", "(suspended)"), as
// the regexp would find it (clean_test.go holds it as the oracle) in a
// tenth of the time.
func promptAt(w []byte, userHost string) int {
	t := w
	if n := len(t); n > 0 && t[n-1] == ' ' {
		t = t[:n-1]
	}
	if n := len(t); n == 0 || (t[n-1] != '>' && t[n-1] != '#') {
		return -1
	}
	t = t[:len(t)-1]
	best := -1
	try := func(head []byte, ok bool) {
		if at := lineStart(head); ok && at >= 0 && (best < 0 || at < best) {
			best = at
		}
	}
	// The user and host, without a suffix or before one.
	try(cutSuffix(t, userHost))
	if n := len(t); n > 0 && t[n-1] == ')' {
		if i := bytes.LastIndexByte(t, '('); i >= 0 && i+1 < n-1 && suffixChars(t[i+1:n-1]) {
			try(cutSuffix(t[:i], userHost))
		}
	}
	return best
}

// cutSuffix is bytes.CutSuffix with a string suffix.
func cutSuffix(b []byte, suffix string) ([]byte, bool) {
	if len(b) < len(suffix) || string(b[len(b)-len(suffix):]) != suffix {
		return b, false
	}
	return b[:len(b)-len(suffix)], true
}

// lineStart returns where (?:^|\n)(\[edit\]\n)? ending at the end of head
// starts leftmost, or -1.
func lineStart(head []byte) int {
	if h, ok := cutSuffix(head, "[edit]\n"); ok {
		if len(h) == 0 {
			return 0
		}
		if h[len(h)-1] == '\n' {
			return len(h) - 1
		}
	}
	if len(head) == 0 {
		return 0
	}
	if head[len(head)-1] == '\n' {
		return len(head) - 1
	}
	return -1
}

// suffixChars reports whether b is all [\w.\-].
func suffixChars(b []byte) bool {
	for _, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// endsLikePrompt reports whether text ends as every prompt does: > or #,
// and at most one space.
func endsLikePrompt(text []byte) bool {
	n := len(text)
	if n > 0 && text[n-1] == ' ' {
		n--
	}
	return n > 0 && (text[n-1] == '>' || text[n-1] == '#')
}

// mayAskUnexpected reports whether tail could match unexpectedPrompt: each
// of its questions ends, before trailing blanks, with ), ?, :, - or a
// digit. It spares the regexp the reads that cannot match.
func mayAskUnexpected(tail []byte) bool {
	t := bytes.TrimRight(tail, " \t\n\f\r")
	if len(t) == 0 {
		return false
	}
	switch c := t[len(t)-1]; {
	case c == ')', c == '?', c == ':', c == '-', '0' <= c && c <= '9':
		return true
	}
	return false
}

// ansiPartial is an escape sequence cut short at the end of a chunk.
var ansiPartial = regexp.MustCompile(`^\x1b(?:\[[0-9;?]*|[()])?$`)

// cleanable returns how many leading bytes of raw can be cleaned now: all,
// unless raw ends inside an escape sequence the next chunk completes.
func cleanable(raw []byte) int {
	if i := bytes.LastIndexByte(raw, 0x1b); i >= 0 && len(raw)-i <= 64 && ansiPartial.Match(raw[i:]) {
		return i
	}
	return len(raw)
}

// finish removes the echoed command and surrounding blank lines.
func finish(out, cli string, secrets []string) string {
	return finishText([]byte(out), cli, secrets)
}

// finishText is finish on the output as received, copied once.
func finishText(out []byte, cli string, secrets []string) string {
	cli = strings.TrimSpace(cli)
	if i := bytes.IndexByte(out, '\n'); i >= 0 && string(bytes.TrimSpace(out[:i])) == cli {
		out = out[i+1:]
	} else if string(bytes.TrimSpace(out)) == cli {
		out = nil
	}
	out = bytes.TrimLeft(out, "\n")
	out = bytes.TrimRight(out, " \n\t")
	if len(out) == 0 {
		return redact("", secrets)
	}
	var b strings.Builder
	b.Grow(len(out) + 1)
	b.Write(out)
	b.WriteByte('\n')
	return redact(b.String(), secrets)
}

func redact(s string, secrets []string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, secret.Placeholder)
	}
	return s
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// deviceMessage is the refusal line plus any indented lines that follow
// (Validation Error: puts its reason on the next line).
func deviceMessage(out, first string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == strings.TrimSpace(first) {
			msg := strings.TrimSpace(first)
			for _, more := range lines[i+1:] {
				if !strings.HasPrefix(more, " ") || strings.TrimSpace(more) == "" {
					break
				}
				msg += " " + strings.TrimSpace(more)
			}
			return msg
		}
	}
	return strings.TrimSpace(first)
}
