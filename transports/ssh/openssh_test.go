package ssh

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
)

// sshdPath is Debian's OpenSSH server. sshd refuses to start unless called
// by an absolute path.
const sshdPath = "/usr/sbin/sshd"

// openSSH is a real OpenSSH server on loopback whose login shell is the
// fake PAN-OS CLI of testdata/fakepanos.
type openSSH struct {
	host    string
	port    int
	user    string
	keyFile string         // the client's ed25519 key, authorized
	hostKey xssh.PublicKey // sshd's host key
	cmdLog  string         // every line the fake CLI received
	log     *lockedBuffer  // sshd's own log (-e)
	kh      string         // a known_hosts that trusts hostKey
	target  transports.Target
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(line + "\n")
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startOpenSSH writes an sshd_config into a temp dir, starts sshd -D on a
// free loopback port and stops it when the test ends. It skips the test
// only when sshd is not installed.
func startOpenSSH(t *testing.T, extra ...string) *openSSH {
	t.Helper()
	if _, err := os.Stat(sshdPath); errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not found: install openssh-server (apt-get install -y openssh-server) to run the real OpenSSH test", sshdPath)
	}
	dir := t.TempDir()
	o := &openSSH{host: "127.0.0.1", cmdLog: filepath.Join(dir, "commands.log"), log: &lockedBuffer{}}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	o.user = u.Username

	// The fake PAN-OS login shell.
	shellBin := filepath.Join(dir, "fakepanos")
	bctx, bcancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer bcancel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the fake PAN-OS shell: %v", err)
	}
	if out, err := exec.CommandContext(bctx, goBin, "build", "-o", shellBin, "./testdata/fakepanos").CombinedOutput(); err != nil {
		t.Fatalf("go build testdata/fakepanos: %v\n%s", err, out)
	}

	// Keys: sshd's host key, the client's key and its authorized_keys.
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	blk, err := xssh.MarshalPrivateKey(hostPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	hostKeyFile := filepath.Join(dir, "ssh_host_ed25519_key")
	writeFile(t, hostKeyFile, string(pem.EncodeToMemory(blk)))
	hs, _ := xssh.NewSignerFromKey(hostPriv)
	o.hostKey = hs.PublicKey()
	var clientPub xssh.PublicKey
	o.keyFile, clientPub = writeKey(t, "")
	authKeys := filepath.Join(dir, "authorized_keys")
	writeFile(t, authKeys, string(xssh.MarshalAuthorizedKey(clientPub)))
	banner := filepath.Join(dir, "banner")
	writeFile(t, banner, "Authorized access only. Disconnect now if you are not authorized.\n")

	// Privilege separation needs this directory; Debian's init script
	// creates it, a container may not have run that.
	if _, err := os.Stat("/run/sshd"); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Logf("cannot create /run/sshd (sshd may refuse to start): %v", err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sshd log:\n%s", o.log.String())
		}
	})
	// A free port is found by listening and closing; another process may
	// take it before sshd binds it, so a failed start is retried twice.
	for attempt := 1; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		o.port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		cfg := filepath.Join(dir, "sshd_config")
		// sshd takes the first value of a keyword: extra lines go first.
		writeFile(t, cfg, strings.Join(append(append([]string{}, extra...),
			"ListenAddress 127.0.0.1:"+strconv.Itoa(o.port),
			"HostKey "+hostKeyFile,
			"PidFile "+filepath.Join(dir, "sshd.pid"),
			"AuthorizedKeysFile "+authKeys,
			"AllowUsers "+o.user,
			"PermitRootLogin prohibit-password",
			"PubkeyAuthentication yes",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UsePAM no",
			"StrictModes no",
			"UseDNS no",
			"PrintMotd no",
			"PrintLastLog no",
			"Banner "+banner,
			"LogLevel VERBOSE",
			"ForceCommand "+shellBin+" -log "+o.cmdLog,
			"",
		), "\n"))
		if o.runSSHD(t, cfg) {
			break
		}
		if attempt == 3 {
			t.Fatal("sshd exited before listening, 3 times (its log follows)")
		}
	}

	o.kh = filepath.Join(dir, "known_hosts")
	addr := net.JoinHostPort(o.host, strconv.Itoa(o.port))
	writeFile(t, o.kh, knownhosts.Line([]string{knownhosts.Normalize(addr)}, o.hostKey)+"\n")
	o.target = transports.Target{Name: "openssh", Transport: "ssh", Host: o.host, Port: o.port,
		User: o.user, KeyFile: o.keyFile, KnownHosts: o.kh}
	return o
}

// runSSHD starts sshd -D -e -f cfg, stopped when the test ends. It
// reports false if sshd exited before listening on o.port.
func (o *openSSH) runSSHD(t *testing.T, cfg string) bool {
	t.Helper()
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", cfg)
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	ready := make(chan struct{})
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			o.log.add(sc.Text())
			if !signalled && strings.Contains(sc.Text(), "Server listening on 127.0.0.1 port "+strconv.Itoa(o.port)) {
				close(ready)
				signalled = true
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	exited := make(chan error, 1)
	go func() {
		<-logDone
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case <-ready:
		return true
	case <-logDone:
		return false
	case <-time.After(15 * time.Second):
		t.Fatal("sshd not listening after 15s (its log follows)")
	}
	return false
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// saTime is a time in PAN-OS SA tables: Dec.01 22:27:22.
var saTime = regexp.MustCompile(`[A-Z][a-z]{2}\.\d\d \d\d:\d\d:\d\d`)

var openSSHConfig = Config{ConnectTimeout: 15 * time.Second, CommandTimeout: 10 * time.Second, Backoff: 10 * time.Millisecond, Reconnects: 1}

// TestOpenSSH runs the transport against Debian's OpenSSH server with a
// fake PAN-OS login shell: key authentication, host-key checking, session
// set-up, echo removal over a real PTY, CLI refusals, Close.
func TestOpenSSH(t *testing.T) {
	o := startOpenSSH(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	tr, err := openSSHConfig.Dial(ctx, o.target, transports.DialOptions{})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer tr.Close()
	if f := tr.Facts(); f["hostname"] != "PA-VM" || f["model"] != "PA-VM" || f["sw_version"] != "10.2.9" || f["transport"] != "ssh" {
		t.Errorf("facts %v", f)
	}

	res, err := tr.Run(ctx, transports.Command{CLI: "show clock"})
	if err != nil {
		t.Fatalf("show clock: %v", err)
	}
	if !regexp.MustCompile(`^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}\n$`).MatchString(res.Text) {
		t.Errorf("show clock: %q, want the date alone (no echo, no prompt)", res.Text)
	}

	// A multi-line answer, byte for byte what the device prints.
	twin := sim.NewDevice(sim.Options{Hostname: "PA-VM", Scenario: sim.Phase2Down})
	for _, cli := range []string{"show vpn ipsec-sa tunnel sap-sap", "show vpn ike-sa gateway sap"} {
		res, err := tr.Run(ctx, transports.Command{CLI: cli})
		if err != nil {
			t.Fatalf("%s: %v", cli, err)
		}
		want, err := twin.Exec(ctx, cli)
		if err != nil {
			t.Fatal(err)
		}
		want = strings.TrimLeft(strings.TrimRight(want, "\n "), "\n") + "\n"
		// The twin is not the device behind sshd: their clocks started
		// apart, so an SA's times (Dec.01 22:27:22) may differ by a
		// second. Everything else must match byte for byte.
		if saTime.ReplaceAllString(res.Text, "TIME") != saTime.ReplaceAllString(want, "TIME") {
			t.Errorf("%s:\n got %q\nwant %q", cli, res.Text, want)
		}
	}

	_, err = tr.Run(ctx, transports.Command{CLI: "frobnicate now"})
	var de *transports.DeviceError
	if !errors.As(err, &de) || !errors.Is(err, transports.ErrUnknownCommand) || de.Message != "Unknown command: frobnicate" {
		t.Errorf("unknown command: %v, want DeviceError %q wrapping ErrUnknownCommand", err, "Unknown command: frobnicate")
	}
	if _, err := tr.Run(ctx, transports.Command{CLI: "show clock"}); err != nil {
		t.Errorf("session unusable after a refusal: %v", err)
	}

	// What reached the fake CLI, in order: the session set-up first.
	b, err := os.ReadFile(o.cmdLog)
	if err != nil {
		t.Fatal(err)
	}
	want := "set cli scripting-mode on\nset cli pager off\nset cli terminal width 500\nshow system info\nshow clock\n" +
		"show vpn ipsec-sa tunnel sap-sap\nshow vpn ike-sa gateway sap\nfrobnicate now\nshow clock\n"
	if string(b) != want {
		t.Errorf("commands received:\n%s\nwant:\n%s", b, want)
	}
	if !strings.Contains(o.log.String(), "Accepted publickey for "+o.user) {
		t.Errorf("sshd did not log a public-key login for %s", o.user)
	}

	if err := tr.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := tr.Run(ctx, transports.Command{CLI: "show clock"}); !errors.Is(err, transports.ErrClosed) {
		t.Errorf("run after close: %v, want ErrClosed", err)
	}
}

// TestOpenSSHHostKeysAndAuth checks host-key refusal, accept-new and a
// refused key against OpenSSH's own host key and authentication.
func TestOpenSSHHostKeysAndAuth(t *testing.T) {
	o := startOpenSSH(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addr := net.JoinHostPort(o.host, strconv.Itoa(o.port))
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, o.hostKey)

	t.Run("unknown host refused", func(t *testing.T) {
		tg := o.target
		tg.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
		_, err := openSSHConfig.Dial(ctx, tg, transports.DialOptions{})
		var ce *transports.ConnError
		if !errors.As(err, &ce) || !errors.Is(err, ErrHostKeyUnknown) || !strings.Contains(err.Error(), xssh.FingerprintSHA256(o.hostKey)) {
			t.Fatalf("got %v, want ErrHostKeyUnknown with the fingerprint", err)
		}
	})
	t.Run("accept-new adds the line", func(t *testing.T) {
		tg := o.target
		tg.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
		tr, err := openSSHConfig.Dial(ctx, tg, transports.DialOptions{AcceptNewHostKey: true})
		if err != nil {
			t.Fatal(err)
		}
		tr.Close()
		if b, err := os.ReadFile(tg.KnownHosts); err != nil || string(b) != line+"\n" {
			t.Errorf("known_hosts %q (%v), want %q", b, err, line)
		}
	})
	t.Run("changed key refused", func(t *testing.T) {
		tg := o.target
		tg.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		other, _ := xssh.NewPublicKey(pub)
		writeFile(t, tg.KnownHosts, knownhosts.Line([]string{knownhosts.Normalize(addr)}, other)+"\n")
		_, err := openSSHConfig.Dial(ctx, tg, transports.DialOptions{AcceptNewHostKey: true})
		if !errors.Is(err, ErrHostKeyChanged) {
			t.Fatalf("got %v, want ErrHostKeyChanged", err)
		}
	})
	t.Run("key not authorized", func(t *testing.T) {
		tg := o.target
		tg.KeyFile, _ = writeKey(t, "")
		_, err := openSSHConfig.Dial(ctx, tg, transports.DialOptions{})
		var ce *transports.ConnError
		if !errors.As(err, &ce) || errors.Is(err, ErrHostKeyUnknown) || errors.Is(err, ErrHostKeyChanged) {
			t.Fatalf("got %v, want an authentication ConnError", err)
		}
		// The same server still lets the authorized key in.
		tr, err := openSSHConfig.Dial(ctx, o.target, transports.DialOptions{})
		if err != nil {
			t.Fatalf("authorized key after the refusal: %v", err)
		}
		tr.Close()
	})
}
