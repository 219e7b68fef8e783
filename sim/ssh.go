package sim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// BannerQuestion is what PAN-OS asks, over keyboard-interactive, before the
// password when a login banner must be acknowledged.
const BannerQuestion = "Do you accept and acknowledge the statement above ? (yes/no) : "

// SSHConfig configures the simulator's SSH server.
type SSHConfig struct {
	// User and Password are the one account; User defaults to "admin".
	// An empty Password disables password and keyboard-interactive auth.
	User     string
	Password string
	// AuthorizedKeys may log in as User with public-key auth.
	AuthorizedKeys []ssh.PublicKey
	// HostKey signs the server; nil generates an ed25519 key.
	HostKey ssh.Signer
	// Banner is the pre-login banner. With AckBanner, keyboard-interactive
	// first asks BannerQuestion (answer "yes") and then "Password: ", and
	// plain password auth is refused, as PAN-OS does.
	Banner    string
	AckBanner bool
	// KeyboardInteractiveOnly refuses plain password auth even without a
	// banner.
	KeyboardInteractiveOnly bool
	// LoginDelay is waited after auth, before the post-login noise and the
	// first prompt (a slow device).
	LoginDelay time.Duration
	// PagerLines is the page size when the pager is on (default 24).
	PagerLines int
}

// SSHServer serves a Device's CLI over SSH.
type SSHServer struct {
	dev  *Device
	cfg  SSHConfig
	conf *ssh.ServerConfig

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewSSHServer returns a server for dev. It generates a host key when
// cfg.HostKey is nil.
func NewSSHServer(dev *Device, cfg SSHConfig) (*SSHServer, error) {
	if cfg.User == "" {
		cfg.User = "admin"
	}
	if cfg.PagerLines <= 0 {
		cfg.PagerLines = 24
	}
	if cfg.HostKey == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("sim: host key: %w", err)
		}
		if cfg.HostKey, err = ssh.NewSignerFromKey(priv); err != nil {
			return nil, fmt.Errorf("sim: host key: %w", err)
		}
	}
	s := &SSHServer{dev: dev, cfg: cfg, conns: map[net.Conn]struct{}{}}
	conf := &ssh.ServerConfig{
		ServerVersion: "SSH-2.0-OpenSSH_8.0",
		MaxAuthTries:  6,
	}
	if cfg.Banner != "" {
		conf.BannerCallback = func(ssh.ConnMetadata) string { return cfg.Banner }
	}
	if cfg.Password != "" && !cfg.AckBanner && !cfg.KeyboardInteractiveOnly {
		conf.PasswordCallback = func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if s.checkPassword(c.User(), string(pw)) {
				return nil, nil
			}
			return nil, errors.New("sim: wrong password")
		}
	}
	if cfg.Password != "" {
		conf.KeyboardInteractiveCallback = func(c ssh.ConnMetadata, ch ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			if cfg.AckBanner {
				a, err := ch("", "", []string{BannerQuestion}, []bool{true})
				if err != nil {
					return nil, err
				}
				if len(a) != 1 || !strings.EqualFold(strings.TrimSpace(a[0]), "yes") {
					return nil, errors.New("sim: banner not accepted")
				}
			}
			a, err := ch("", "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			if len(a) == 1 && s.checkPassword(c.User(), a[0]) {
				return nil, nil
			}
			return nil, errors.New("sim: wrong password")
		}
	}
	if len(cfg.AuthorizedKeys) > 0 {
		conf.PublicKeyCallback = func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() != cfg.User {
				return nil, errors.New("sim: unknown user")
			}
			for _, ak := range cfg.AuthorizedKeys {
				if bytes.Equal(ak.Marshal(), k.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("sim: key not authorized")
		}
	}
	conf.AddHostKey(cfg.HostKey)
	s.conf = conf
	return s, nil
}

func (s *SSHServer) checkPassword(user, pw string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.User))
	p := subtle.ConstantTimeCompare([]byte(pw), []byte(s.cfg.Password))
	return u&p == 1
}

// HostKey returns the server's public host key.
func (s *SSHServer) HostKey() ssh.PublicKey { return s.cfg.HostKey.PublicKey() }

// Device returns the device the server serves.
func (s *SSHServer) Device() *Device { return s.dev }

// Serve accepts connections on ln until ctx is done, then closes ln and
// every connection and waits for their goroutines. It returns nil after
// ctx is done, or the accept error.
func (s *SSHServer) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	}()
	defer func() {
		close(stop)
		s.wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sim: accept: %w", err)
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.handle(ctx, c)
		}()
	}
}

func (s *SSHServer) handle(ctx context.Context, nc net.Conn) {
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	sc, chans, reqs, err := ssh.NewServerConn(nc, s.conf)
	if err != nil {
		return
	}
	nc.SetDeadline(time.Time{})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		sc.Wait()
		cancel()
	}()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(ctx, sc, nc, ch, creqs)
		}()
	}
}

// session serves one session channel: pty-req, shell, exec.
func (s *SSHServer) session(ctx context.Context, sc *ssh.ServerConn, nc net.Conn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	pty := false
	for req := range reqs {
		switch req.Type {
		case "pty-req":
			pty = true
			req.Reply(true, nil)
		case "env", "window-change":
			req.Reply(true, nil)
		case "shell":
			req.Reply(true, nil)
			go ssh.DiscardRequests(reqs)
			s.shell(ctx, sc, nc, ch, pty)
			return
		case "exec":
			var p struct{ Cmd string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			go ssh.DiscardRequests(reqs)
			sh := s.dev.NewShell(sc.User(), "ssh:"+sc.User())
			out, _, err := sh.Exec(ctx, p.Cmd, nil)
			status := uint32(0)
			if errors.Is(err, ErrDropConnection) {
				nc.Close()
				return
			}
			if err != nil {
				out, status = cliText(err), 1
			}
			io.WriteString(ch, out)
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
			return
		default:
			req.Reply(false, nil)
		}
	}
}

func cliText(err error) string {
	var ce *CommandError
	if errors.As(err, &ce) {
		return ce.Msg + "\n"
	}
	return "Server error : " + err.Error() + "\n"
}

// term is the server side of an interactive session: it reads typed bytes,
// echoes them, and writes output with CRLF line ends when there is a PTY.
type term struct {
	ch   ssh.Channel
	pty  bool
	buf  []byte
	rbuf [256]byte
}

func (t *term) write(s string) error {
	if t.pty {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	}
	_, err := io.WriteString(t.ch, s)
	return err
}

// errInterrupt is a Ctrl-C typed at the prompt.
var errInterrupt = errors.New("interrupt")

// readLine reads one line; echo repeats the typed characters back.
func (t *term) readLine(echo bool) (string, error) {
	var line []byte
	for {
		for len(t.buf) > 0 {
			b := t.buf[0]
			t.buf = t.buf[1:]
			switch b {
			case '\r', '\n':
				if b == '\r' && len(t.buf) > 0 && t.buf[0] == '\n' {
					t.buf = t.buf[1:]
				}
				if t.pty {
					t.write("\n")
				}
				return string(line), nil
			case 0x7f, 0x08:
				if len(line) > 0 {
					line = line[:len(line)-1]
					if echo && t.pty {
						io.WriteString(t.ch, "\b \b")
					}
				}
			case 0x03:
				if t.pty {
					t.write("\n")
				}
				return "", errInterrupt
			default:
				line = append(line, b)
				if echo && t.pty {
					t.ch.Write([]byte{b})
				}
			}
		}
		n, err := t.ch.Read(t.rbuf[:])
		if n > 0 {
			t.buf = append(t.buf, t.rbuf[:n]...)
			continue
		}
		if err != nil {
			return "", err
		}
	}
}

// readKey reads one keystroke (for the pager).
func (t *term) readKey() (byte, error) {
	for len(t.buf) == 0 {
		n, err := t.ch.Read(t.rbuf[:])
		t.buf = append(t.buf, t.rbuf[:n]...)
		if n == 0 && err != nil {
			return 0, err
		}
	}
	b := t.buf[0]
	t.buf = t.buf[1:]
	return b, nil
}

func (s *SSHServer) shell(ctx context.Context, sc *ssh.ServerConn, nc net.Conn, ch ssh.Channel, pty bool) {
	user := sc.User()
	t := &term{ch: ch, pty: pty}
	if err := sleepCtx(ctx, s.cfg.LoginDelay); err != nil {
		return
	}
	last := s.dev.clock().Add(-26 * time.Hour).UTC().Format(time.ANSIC)
	t.write("Last login: " + last + " from 192.0.2.50\n\nNumber of failed attempts since last successful login: 0\n\n\n\nWelcome " + user + ".\n")
	sh := s.dev.NewShell(user, "ssh:"+user)
	ask := func(ctx context.Context, q string, echo bool) (string, error) {
		if err := t.write(q); err != nil {
			return "", err
		}
		a, err := t.readLine(echo)
		if errors.Is(err, errInterrupt) {
			return "", ErrInterrupted
		}
		return a, err
	}
	for {
		if err := t.write(sh.Prompt()); err != nil {
			return
		}
		if s.dev.hangUp() {
			// Faults.HangUpAfter: the answer and its prompt went out, then
			// the connection ends while the client is idle.
			nc.Close()
			return
		}
		if s.dev.stopReading() {
			// Faults.StopReadingAfter: the prompt went out, then nothing
			// typed is read again; the connection stays open until it
			// ends (the client gives up, the server stops).
			<-ctx.Done()
			return
		}
		line, err := t.readLine(true)
		if errors.Is(err, errInterrupt) {
			continue
		}
		if err != nil {
			return
		}
		out, exit, err := sh.Exec(ctx, line, ask)
		switch {
		case errors.Is(err, ErrDropConnection):
			nc.Close()
			return
		case ctx.Err() != nil:
			return
		case err != nil:
			out = cliText(err)
		}
		if exit {
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
			return
		}
		if err := s.page(t, sh, out); err != nil {
			return
		}
		if out != "" {
			t.write("\n")
		}
	}
}

// page writes out, stopping at --more-- every page while the pager is on.
func (s *SSHServer) page(t *term, sh *Shell, out string) error {
	if !sh.Pager() {
		return t.write(out)
	}
	lines := strings.SplitAfter(out, "\n")
	for len(lines) > 0 {
		n := s.cfg.PagerLines - 1
		if n > len(lines) {
			n = len(lines)
		}
		if err := t.write(strings.Join(lines[:n], "")); err != nil {
			return err
		}
		lines = lines[n:]
		if len(lines) == 0 || (len(lines) == 1 && lines[0] == "") {
			return nil
		}
		if err := t.write("--more--"); err != nil {
			return err
		}
		k, err := t.readKey()
		if err != nil {
			return err
		}
		t.write("\r        \r")
		if k == 'q' || k == 0x03 {
			return nil
		}
	}
	return nil
}
