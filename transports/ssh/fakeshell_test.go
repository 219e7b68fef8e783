package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
)

// scriptedShell is a fake firewall CLI for behaviours the simulator does
// not have: it writes login, then for every line typed echoes it and calls
// answer, which writes the output and the next prompt itself.
type scriptedShell struct {
	login  string
	answer func(line string, w io.Writer)
}

// startScripted serves sh over SSH on 127.0.0.1:0 until the test ends and
// returns a target that trusts it.
func startScripted(t *testing.T, sh scriptedShell) (transports.Target, transports.DialOptions) {
	t.Helper()
	conf, hk, ln := testServer(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				serveScripted(nc, conf, sh)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return trustingTarget(t, ln, hk)
}

// testServer is an SSH server's set-up on 127.0.0.1:0 for a test: a fresh
// host key, any password accepted, and its listener.
func testServer(t *testing.T) (*xssh.ServerConfig, xssh.Signer, net.Listener) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := xssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	conf := &xssh.ServerConfig{PasswordCallback: func(xssh.ConnMetadata, []byte) (*xssh.Permissions, error) { return nil, nil }}
	conf.AddHostKey(hk)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return conf, hk, ln
}

// trustingTarget is a target for the server listening on ln whose host
// key is hk, trusted by a known_hosts file of its own.
func trustingTarget(t *testing.T, ln net.Listener, hk xssh.Signer) (transports.Target, transports.DialOptions) {
	t.Helper()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(ln.Addr().String())}, hk.PublicKey())
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PW": testPassword}
	target := transports.Target{Name: "fw1", Transport: "ssh", Host: host, Port: p, User: "admin",
		Password: secret.Ref{Kind: "env", Name: "PW"}, KnownHosts: kh}
	opts := transports.DialOptions{Resolve: (&secret.Resolver{Getenv: func(k string) string { return env[k] }}).Resolve}
	return target, opts
}

func serveScripted(nc net.Conn, conf *xssh.ServerConfig, sh scriptedShell) {
	_, chans, reqs, err := xssh.NewServerConn(nc, conf)
	if err != nil {
		return
	}
	go xssh.DiscardRequests(reqs)
	for nch := range chans {
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go func() {
			for req := range creqs {
				req.Reply(req.Type == "pty-req" || req.Type == "shell", nil)
				if req.Type == "shell" {
					go xssh.DiscardRequests(creqs)
					runScripted(ch, sh)
					return
				}
			}
		}()
	}
}

func runScripted(ch xssh.Channel, sh scriptedShell) {
	defer ch.Close()
	io.WriteString(ch, sh.login)
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := ch.Read(b); err != nil {
			return
		}
		if b[0] != '\n' {
			line = append(line, b[0])
			continue
		}
		io.WriteString(ch, string(line)+"\r\n")
		l := strings.TrimSpace(string(line))
		line = line[:0]
		if l == "exit" {
			return
		}
		sh.answer(l, ch)
	}
}

// TestLargeOutputLinear: a command's output is cleaned and searched for the
// prompt as it arrives, not rescanned whole at every chunk (which made an
// 8 MiB answer take over half a minute and could outlast the command
// timeout). Bytes allocated stand in for the work done: a rescan allocates
// the whole text again for every 32 KiB read.
func TestLargeOutputLinear(t *testing.T) {
	const prompt = "admin@PA-1> "
	const size = 2 << 20
	line := "10.1.1.0/24   ethernet1/1   10.0.0.1   static   A \x1b[Kok\r\n"
	big := strings.Repeat(line, size/len(line))
	tg, o := startScripted(t, scriptedShell{login: "Welcome admin.\r\n" + prompt, answer: func(l string, w io.Writer) {
		if l == "show routing route" {
			io.WriteString(w, big)
		}
		io.WriteString(w, "\r\n"+prompt)
	}})
	tr, err := Config{CommandTimeout: 10 * time.Minute}.Dial(context.Background(), tg, o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := tr.Run(context.Background(), transports.Command{CLI: "show routing route"})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimRight(strings.ReplaceAll(strings.ReplaceAll(big, "\r", ""), "\x1b[K", ""), "\n") + "\n"
	if res.Text != want {
		t.Fatalf("output differs from the device's: %d bytes, want %d", len(res.Text), len(want))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64*size {
		t.Errorf("reading a %d-byte answer allocated %d bytes: the output is rescanned as it grows", size, alloc)
	}
}

// TestHAPromptChange: the HA state in the prompt changes when the firewall
// fails over (active -> suspended); the session must still see its prompt.
func TestHAPromptChange(t *testing.T) {
	state := "active"
	var mu sync.Mutex
	tg, o := startScripted(t, scriptedShell{login: "Welcome admin.\r\nadmin@PA-1(active)> ", answer: func(l string, w io.Writer) {
		mu.Lock()
		defer mu.Unlock()
		switch l {
		case "request high-availability state suspend":
			state = "suspended"
			io.WriteString(w, "Successfully changed HA state to suspended\r\n")
		case "configure":
			io.WriteString(w, "Entering configuration mode\r\n[edit]\r\nadmin@PA-1("+state+")# ")
			return
		}
		io.WriteString(w, "\r\nadmin@PA-1("+state+")> ")
	}})
	tr, err := Config{CommandTimeout: 30 * time.Second}.Dial(context.Background(), tg, o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for _, cli := range []string{"request high-availability state suspend", "show clock", "configure"} {
		res, err := tr.Run(context.Background(), transports.Command{CLI: cli})
		if err != nil {
			t.Fatalf("%s: %v", cli, err)
		}
		if strings.Contains(res.Text, "admin@") {
			t.Errorf("%s: prompt left in %q", cli, res.Text)
		}
	}
}

// TestFindPromptTail: searching only the end of the output finds what a
// search of the whole output finds.
func TestFindPromptTail(t *testing.T) {
	re := regexp.MustCompile(`(?:^|\n)(\[edit\]\n)?` + regexp.QuoteMeta("admin@fw1") + `(?:\([\w.\-]+\))?[>#] ?$`)
	long := strings.Repeat("x", 3000)
	for _, text := range []string{
		"admin@fw1> ",
		"[edit]\nadmin@fw1# ",
		"configure\nEntering configuration mode\n[edit]\nadmin@fw1# ",
		long + "\n[edit]\nadmin@fw1(active)# ",
		long + "\nadmin@fw1> ",
		long + "admin@fw1> ",
		"show clock\n" + long,
		"out\nadmin@fw1> more",
	} {
		want := -1
		if loc := re.FindIndex([]byte(text)); loc != nil {
			want = loc[0]
		}
		if got := findPrompt("admin@fw1", []byte(text)); got != want {
			t.Errorf("%.40q...: findPrompt %d, want %d", text, got, want)
		}
	}
}

// TestFailedLoginLeavesNoReader: a device that floods output and never
// shows a prompt fails the dial at ConnectTimeout, and the goroutine
// reading the shell ends too (it used to block forever on a full channel).
func TestFailedLoginLeavesNoReader(t *testing.T) {
	flood := strings.Repeat("Warning: system is starting up, please wait...\r\n", 1<<14)
	tg, o := startScripted(t, scriptedShell{login: flood + flood + flood + flood})
	_, err := Config{ConnectTimeout: 300 * time.Millisecond}.Dial(context.Background(), tg, o)
	if err == nil {
		t.Fatal("dial succeeded without a prompt")
	}
	for i := 0; ; i++ {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "ssh.(*shell).read(") {
			return
		}
		if i == 200 {
			t.Fatalf("the shell reader is still running after the dial failed:\n%s", stacks)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEndlessOutputBounded: a command that never stops printing (a log
// followed with `tail follow yes`) fails once its output passes the limit,
// instead of filling memory until its timeout.
func TestEndlessOutputBounded(t *testing.T) {
	old := maxOutput
	maxOutput = 1 << 20
	t.Cleanup(func() { maxOutput = old })
	const prompt = "admin@PA-1> "
	tg, o := startScripted(t, scriptedShell{login: "Welcome admin.\r\n" + prompt, answer: func(l string, w io.Writer) {
		if l == "tail follow yes mp-log ikemgr.log" {
			for i := 0; i < 1<<20; i++ { // ends when the client goes away
				if _, err := io.WriteString(w, "2026-11-27 10:00:00.000 +0000 [PNTF]: ====> IKE SA negotiation started <====\r\n"); err != nil {
					return
				}
			}
		}
		io.WriteString(w, "\r\n"+prompt)
	}})
	tr, err := Config{}.Dial(context.Background(), tg, o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, err = tr.Run(context.Background(), transports.Command{CLI: "tail follow yes mp-log ikemgr.log", Timeout: 2 * time.Minute})
	if !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("got %v, want ErrOutputTooLarge", err)
	}
	if _, err := tr.Run(context.Background(), transports.Command{CLI: "show clock"}); err != nil {
		t.Errorf("next command after the dropped session: %v", err)
	}
}
