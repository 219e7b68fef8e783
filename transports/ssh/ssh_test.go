package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/transporttest"
)

const testPassword = "Pa55-w0rd-never-shown"

type fixture struct {
	dev    *sim.Device
	srv    *sim.SSHServer
	target transports.Target
	opts   transports.DialOptions
	env    map[string]string
}

// start serves dev over SSH on 127.0.0.1:0 until the test ends, and returns
// a target whose known_hosts already trusts the server.
func start(t testing.TB, dev *sim.Device, cfg sim.SSHConfig) *fixture {
	t.Helper()
	if cfg.Password == "" && len(cfg.AuthorizedKeys) == 0 {
		cfg.Password = testPassword
	}
	srv, err := sim.NewSSHServer(dev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(ln.Addr().String())}, srv.HostKey())
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fixture{dev: dev, srv: srv, env: map[string]string{"PW": testPassword}}
	f.target = transports.Target{Name: "fw1", Transport: "ssh", Host: host, Port: p, User: "admin",
		Password: secret.Ref{Kind: "env", Name: "PW"}, KnownHosts: kh}
	f.opts = transports.DialOptions{Resolve: (&secret.Resolver{Getenv: func(k string) string { return f.env[k] }}).Resolve}
	return f
}

var fast = Config{ConnectTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second, Backoff: 10 * time.Millisecond}

func (f *fixture) dial(t testing.TB) *Client {
	t.Helper()
	tr, err := fast.Dial(context.Background(), f.target, f.opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr.(*Client)
}

func TestConformance(t *testing.T) {
	dev := sim.NewDevice(sim.Options{Faults: sim.Faults{SlowOn: "show running resource-monitor", SlowBy: 3 * time.Second}})
	f := start(t, dev, sim.SSHConfig{})
	transporttest.Run(t, transporttest.Harness{
		Open:    func(t *testing.T) transports.Transport { return f.dial(t) },
		Known:   "show clock",
		Unknown: "frobnicate now",
		Slow:    "show running resource-monitor second last 5",
		SlowFor: 3 * time.Second,
	})
}

// TestOutputsMatchDevice runs every procedure command over SSH and checks
// the text is the device's own answer, with echo and prompt removed.
func TestOutputsMatchDevice(t *testing.T) {
	opts := sim.Options{Hostname: "PA-5060", Scenario: sim.Healthy, Clock: func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }}
	f := start(t, sim.NewDevice(opts), sim.SSHConfig{})
	c := f.dial(t)
	if got := c.Facts(); got["hostname"] != "PA-5060" || got["model"] != "PA-VM" || got["sw_version"] != "10.2.9" || got["transport"] != "ssh" {
		t.Errorf("facts %v", got)
	}
	twin := sim.NewDevice(opts) // same scenario, same seed: same answers
	for _, cli := range []string{"show system info", "set cli pager off", "set cli scripting-mode on", "set cli terminal width 500"} {
		twin.Exec(context.Background(), cli)
	}
	topo := sim.DefaultTopology()
	for _, cli := range []string{
		"show clock",
		"ping count 3 host " + topo.PeerIP,
		"test security-policy-match from untrust to untrust source 10.1.1.2 destination 10.1.1.1 protocol 17 destination-port 500 application ike",
		"test routing fib-lookup virtual-router default ip " + topo.PeerIP,
		"debug ike pcap on",
		"show counter global filter delta yes packet-filter yes",
		"show session all filter source 10.1.1.2 destination 10.1.1.1 application ike",
		"show session id 145371",
		"show vpn ike-sa detail gateway sap",
		"show vpn ipsec-sa tunnel sap-sap",
		"show vpn flow tunnel-id 207",
		"debug dataplane pool statistics",
		"debug dataplane packet-diag show setting",
		"debug ike pcap off",
	} {
		res, err := c.Run(context.Background(), transports.Command{CLI: cli})
		if err != nil {
			t.Fatalf("%s: %v", cli, err)
		}
		want, _ := twin.Exec(context.Background(), cli)
		want = strings.TrimLeft(strings.TrimRight(want, "\n "), "\n")
		if want != "" {
			want += "\n"
		}
		if cli == "show counter global filter delta yes packet-filter yes" {
			// Elapsed time differs between the two devices.
			re := regexp.MustCompile(`Elapsed time.*|(?m)^(\S+\s+\d+)\s+\d+`)
			want, res.Text = re.ReplaceAllString(want, "$1"), re.ReplaceAllString(res.Text, "$1")
		}
		if res.Text != want {
			t.Errorf("%s:\n got %q\nwant %q", cli, res.Text, want)
		}
	}
	if ok, on := f.dev.Clean(); !ok {
		t.Errorf("device left with %v", on)
	}
}

func TestDeviceErrors(t *testing.T) {
	f := start(t, sim.NewDevice(sim.Options{}), sim.SSHConfig{})
	c := f.dial(t)
	for _, tc := range []struct {
		cli, msg string
		unknown  bool
	}{
		{"foo bar", "Unknown command: foo", true},
		{"show vpn", "Invalid syntax.", false},
		{"ping host 1.2.3", "Validation Error: host '1.2.3' is not a valid IP address", false},
	} {
		_, err := c.Run(context.Background(), transports.Command{CLI: tc.cli})
		var de *transports.DeviceError
		if !errors.As(err, &de) || de.Message != tc.msg || errors.Is(err, transports.ErrUnknownCommand) != tc.unknown {
			t.Errorf("%s: %v, want device error %q", tc.cli, err, tc.msg)
		}
	}
	if _, err := c.Run(context.Background(), transports.Command{CLI: "show clock"}); err != nil {
		t.Errorf("session unusable after errors: %v", err)
	}
}

func TestConfigModeAndHAPrompt(t *testing.T) {
	f := start(t, sim.NewDevice(sim.Options{Hostname: "PA-1-1(active-primary)"}), sim.SSHConfig{})
	c := f.dial(t)
	for _, cli := range []string{"configure", "run show clock", "exit", "show clock"} {
		res, err := c.Run(context.Background(), transports.Command{CLI: cli})
		if err != nil {
			t.Fatalf("%s: %v", cli, err)
		}
		if strings.Contains(res.Text, "[edit]") || strings.Contains(res.Text, "admin@") {
			t.Errorf("%s: prompt left in %q", cli, res.Text)
		}
		if strings.HasSuffix(cli, "show clock") && !strings.Contains(res.Text, " UTC ") {
			t.Errorf("%s: %q", cli, res.Text)
		}
	}
}

func TestScpPromptAnsweredSecretly(t *testing.T) {
	dev := sim.NewDevice(sim.Options{ScpPassword: "scp-Secret-9"})
	f := start(t, dev, sim.SSHConfig{})
	c := f.dial(t)
	c.Run(context.Background(), transports.Command{CLI: "debug ike pcap on"})
	c.Run(context.Background(), transports.Command{CLI: "debug ike pcap off"})
	res, err := c.Run(context.Background(), transports.Command{
		CLI:     "scp export debug-pcap from ikemgr.pcap to bob@192.0.2.9:/tmp",
		Prompts: []transports.Prompt{{Pattern: regexp.MustCompile(`password: $`), Answer: "scp-Secret-9", Secret: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Text, "bob@192.0.2.9's password:") || !strings.Contains(res.Text, "... done") {
		t.Errorf("output %q", res.Text)
	}
	if strings.Contains(res.Text, "scp-Secret-9") {
		t.Error("secret answer in the output")
	}
	// Without a declared prompt the question fails fast, with its text.
	_, err = c.Run(context.Background(), transports.Command{CLI: "scp export tech-support to bob@192.0.2.9:/tmp", Timeout: time.Minute})
	if !errors.Is(err, transports.ErrUnexpectedPrompt) || !strings.Contains(err.Error(), "bob@192.0.2.9's password:") {
		t.Fatalf("undeclared question: %v", err)
	}
	if _, err := c.Run(context.Background(), transports.Command{CLI: "show clock"}); err != nil {
		t.Errorf("next Run did not recover: %v", err)
	}
}

func TestUnexpectedYesNo(t *testing.T) {
	dev := sim.NewDevice(sim.Options{Faults: sim.Faults{AskOn: "debug mprelay"}})
	f := start(t, dev, sim.SSHConfig{})
	c := f.dial(t)
	_, err := c.Run(context.Background(), transports.Command{CLI: "debug mprelay on debug", Timeout: time.Minute})
	if !errors.Is(err, transports.ErrUnexpectedPrompt) || !strings.Contains(err.Error(), "(y or n)") {
		t.Fatalf("got %v", err)
	}
	if dev.DebugState()[sim.SwMprelay] != "info" {
		t.Error("the command ran although its question was not answered")
	}
	res, err := c.Run(context.Background(), transports.Command{CLI: "debug mprelay on debug",
		Prompts: []transports.Prompt{{Pattern: regexp.MustCompile(`\(y or n\) $`), Answer: "y"}}})
	if err != nil || dev.DebugState()[sim.SwMprelay] != "debug" {
		t.Fatalf("answered: %q %v", res.Text, err)
	}
}

func TestReconnectAfterDrop(t *testing.T) {
	dev := sim.NewDevice(sim.Options{})
	f := start(t, dev, sim.SSHConfig{})
	c := f.dial(t)
	if _, err := c.Run(context.Background(), transports.Command{CLI: "debug ike global on debug"}); err != nil {
		t.Fatal(err)
	}
	n := len(dev.Log())
	dev.SetFaults(sim.Faults{DropAfter: n})
	_, err := c.Run(context.Background(), transports.Command{CLI: "show clock"})
	if !errors.Is(err, transports.ErrClosed) {
		t.Fatalf("dropped command: %v, want ErrClosed", err)
	}
	if _, err := c.Run(context.Background(), transports.Command{CLI: "debug ike global on normal"}); err != nil {
		t.Fatalf("cleanup after the drop: %v", err)
	}
	if ok, on := dev.Clean(); !ok {
		t.Errorf("device left with %v", on)
	}
}

func TestAuthFailureIsConnError(t *testing.T) {
	f := start(t, sim.NewDevice(sim.Options{}), sim.SSHConfig{})
	f.env["PW"] = "wrong-password-xyz"
	_, err := fast.Dial(context.Background(), f.target, f.opts)
	var ce *transports.ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want ConnError", err)
	}
	if strings.Contains(err.Error(), "wrong-password-xyz") {
		t.Error("password in the error")
	}
}

func TestKeyboardInteractiveBanner(t *testing.T) {
	f := start(t, sim.NewDevice(sim.Options{}), sim.SSHConfig{Banner: "Authorized access only.\n", AckBanner: true, LoginDelay: 200 * time.Millisecond})
	c := f.dial(t)
	if _, err := c.Run(context.Background(), transports.Command{CLI: "show clock"}); err != nil {
		t.Fatal(err)
	}
}

func TestEnvironmentCredentials(t *testing.T) {
	f := start(t, sim.NewDevice(sim.Options{}), sim.SSHConfig{User: "ops"})
	old := getenv
	getenv = func(k string) string {
		return map[string]string{"PANOS_USERNAME": "ops", "PANOS_PASSWORD": testPassword}[k]
	}
	defer func() { getenv = old }()
	f.target.User, f.target.Password = "", secret.Ref{}
	c := f.dial(t)
	if _, err := c.Run(context.Background(), transports.Command{CLI: "show clock"}); err != nil {
		t.Fatal(err)
	}
}

func writeKey(t *testing.T, passphrase string) (string, xssh.PublicKey) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	var blk *pem.Block
	var err error
	if passphrase == "" {
		blk, err = xssh.MarshalPrivateKey(priv, "")
	} else {
		blk, err = xssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, _ := xssh.NewPublicKey(pub)
	return p, sp
}

func TestKeyFiles(t *testing.T) {
	plain, plainPub := writeKey(t, "")
	enc, encPub := writeKey(t, "key-Pass-77")
	f := start(t, sim.NewDevice(sim.Options{}), sim.SSHConfig{AuthorizedKeys: []xssh.PublicKey{plainPub, encPub}})
	f.target.Password = secret.Ref{}
	f.target.KeyFile = plain
	f.dial(t)

	f.target.KeyFile = enc
	if _, err := fast.Dial(context.Background(), f.target, f.opts); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("encrypted key without passphrase: %v", err)
	}
	f.env["PP"] = "key-Pass-77"
	f.target.Passphrase = secret.Ref{Kind: "env", Name: "PP"}
	f.dial(t)
	f.env["PP"] = "not-it-42"
	f.opts.Resolve = (&secret.Resolver{Getenv: func(k string) string { return f.env[k] }}).Resolve // the old one caches
	_, err := fast.Dial(context.Background(), f.target, f.opts)
	if err == nil || strings.Contains(err.Error(), "not-it-42") {
		t.Fatalf("wrong passphrase: %v", err)
	}
}

func TestAgent(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	kr := agent.NewKeyring()
	if err := kr.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(kr, c); c.Close() }()
		}
	}()
	signers, _ := kr.Signers()
	f := start(t, sim.NewDevice(sim.Options{}), sim.SSHConfig{AuthorizedKeys: []xssh.PublicKey{signers[0].PublicKey()}})
	old := getenv
	getenv = func(k string) string { return map[string]string{"SSH_AUTH_SOCK": sock}[k] }
	defer func() { getenv = old }()
	f.target.Password, f.target.UseAgent = secret.Ref{}, true
	c := f.dial(t)
	if _, err := c.Run(context.Background(), transports.Command{CLI: "show clock"}); err != nil {
		t.Fatal(err)
	}
}

func TestHostKeys(t *testing.T) {
	f := start(t, sim.NewDevice(sim.Options{}), sim.SSHConfig{})
	addr := net.JoinHostPort(f.target.Host, strconv.Itoa(f.target.Port))
	fp := xssh.FingerprintSHA256(f.srv.HostKey())
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, f.srv.HostKey())

	t.Run("unknown refused with fingerprint and line", func(t *testing.T) {
		g := *f
		g.target.KnownHosts = filepath.Join(t.TempDir(), "nope", "known_hosts")
		_, err := fast.Dial(context.Background(), g.target, g.opts)
		var ce *transports.ConnError
		if !errors.As(err, &ce) || !errors.Is(err, ErrHostKeyUnknown) {
			t.Fatalf("got %v", err)
		}
		if !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), line) {
			t.Errorf("error lacks fingerprint or line: %v", err)
		}
	})
	t.Run("accept-new appends, then trusts", func(t *testing.T) {
		g := *f
		g.target.KnownHosts = filepath.Join(t.TempDir(), "ssh", "known_hosts")
		g.opts.AcceptNewHostKey = true
		g.dial(t)
		b, err := os.ReadFile(g.target.KnownHosts)
		if err != nil || string(b) != line+"\n" {
			t.Fatalf("known_hosts %q %v", b, err)
		}
		g.opts.AcceptNewHostKey = false
		g.dial(t)
	})
	t.Run("hashed entry trusted", func(t *testing.T) {
		g := *f
		g.target.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
		hashed := knownhosts.Line([]string{knownhosts.HashHostname(knownhosts.Normalize(addr))}, f.srv.HostKey())
		os.WriteFile(g.target.KnownHosts, []byte(hashed+"\n"), 0o600)
		g.dial(t)
	})
	t.Run("changed key refused even with accept-new", func(t *testing.T) {
		g := *f
		g.target.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		other, _ := xssh.NewPublicKey(pub)
		os.WriteFile(g.target.KnownHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, other)+"\n"), 0o600)
		g.opts.AcceptNewHostKey = true
		_, err := fast.Dial(context.Background(), g.target, g.opts)
		if !errors.Is(err, ErrHostKeyChanged) {
			t.Fatalf("got %v", err)
		}
	})
}

func BenchmarkSSHRun(b *testing.B) {
	f := start(b, sim.NewDevice(sim.Options{}), sim.SSHConfig{})
	c := f.dial(b)
	cmd := transports.Command{CLI: "show clock"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Run(context.Background(), cmd); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
}
