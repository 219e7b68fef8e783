package ssh

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/inventory"
	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
)

// jumpSSHD is Debian's OpenSSH server set up as a bastion: TCP forwarding
// allowed, and logging the direct-tcpip channels it opens.
func jumpSSHD(t *testing.T) *openSSH {
	t.Helper()
	return startOpenSSH(t, "AllowTcpForwarding yes", "LogLevel DEBUG1")
}

// bastion is o as a jump host of the inventory: its own user, key and
// known_hosts.
func (o *openSSH) bastion(name string) transports.Target {
	return transports.Target{Name: name, Transport: "ssh", Host: o.host, Port: o.port, User: o.user, KeyFile: o.keyFile, KnownHosts: o.kh}
}

// forwarded counts the direct-tcpip channels sshd opened to port.
func (o *openSSH) forwarded(port int) int {
	re := regexp.MustCompile(`(?m)server_request_direct_tcpip: originator .*, target 127\.0\.0\.1 port ` + strconv.Itoa(port) + `$`)
	return len(re.FindAllString(o.log.String(), -1))
}

// waitLog waits (at most 10s, polling) for sshd to log a line matching re.
func (o *openSSH) waitLog(t *testing.T, re *regexp.Regexp) bool {
	t.Helper()
	for range 200 {
		if re.MatchString(o.log.String()) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// TestJumpThroughOpenSSH reaches the simulator's SSH server through a real
// OpenSSH server used as the jump host: each hop logs in with its own
// credentials and has its host key checked against its own known_hosts;
// closing the client closes the chain.
func TestJumpThroughOpenSSH(t *testing.T) {
	o := jumpSSHD(t)
	f := start(t, sim.NewDevice(sim.Options{Hostname: "PA-VM"}), sim.SSHConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	simPort := f.target.Port

	tg := f.target
	tg.Jumps = []transports.Target{o.bastion("bastion")}
	tr, err := openSSHConfig.Dial(ctx, tg, f.opts)
	if err != nil {
		t.Fatalf("dial through the jump host: %v", err)
	}
	res, err := tr.Run(ctx, transports.Command{CLI: "show clock"})
	if err != nil || !strings.Contains(res.Text, "UTC") {
		t.Errorf("show clock through the jump host: %q, %v", res.Text, err)
	}
	if tr.Facts()["hostname"] != "PA-VM" {
		t.Errorf("facts %v", tr.Facts())
	}
	if !strings.Contains(o.log.String(), "Accepted publickey for "+o.user) {
		t.Errorf("sshd did not log the jump host's public-key login")
	}
	if n := o.forwarded(simPort); n != 1 {
		t.Errorf("sshd forwarded %d channels to the simulator's port %d, want 1", n, simPort)
	}
	// sshd logs the end of the connection either way: a FIN or a reset.
	closed := regexp.MustCompile(`Connection closed by 127\.0\.0\.1 port \d+|Read error from remote host 127\.0\.0\.1 port \d+: Connection reset by peer`)
	if closed.MatchString(o.log.String()) {
		t.Fatalf("the jump connection closed before Close")
	}
	if err := tr.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	// Closing the client closes the jump host's connection as well.
	if !o.waitLog(t, closed) {
		t.Errorf("sshd never saw the jump connection close after Close (log follows)\n%s", o.log.String())
	}
}

// TestJumpTwoHops goes through the same OpenSSH server twice
// (ProxyJump a,b): the second hop is reached over a channel of the first.
func TestJumpTwoHops(t *testing.T) {
	o := jumpSSHD(t)
	f := start(t, sim.NewDevice(sim.Options{}), sim.SSHConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg := f.target
	tg.Jumps = []transports.Target{o.bastion("outer"), o.bastion("inner")}
	tr, err := openSSHConfig.Dial(ctx, tg, f.opts)
	if err != nil {
		t.Fatalf("dial through two jump hosts: %v", err)
	}
	defer tr.Close()
	if _, err := tr.Run(ctx, transports.Command{CLI: "show clock"}); err != nil {
		t.Errorf("show clock: %v", err)
	}
	if n := o.forwarded(o.port); n != 1 {
		t.Errorf("sshd forwarded %d channels to itself, want 1 (outer to inner)", n)
	}
	if n := o.forwarded(f.target.Port); n != 1 {
		t.Errorf("sshd forwarded %d channels to the simulator, want 1", n)
	}
	if got := strings.Count(o.log.String(), "Accepted publickey for "+o.user); got != 2 {
		t.Errorf("%d public-key logins on the jump host, want 2 (one per hop)", got)
	}
}

// TestJumpHostKeyUnknown: a jump host whose key known_hosts does not
// have is refused, naming the jump host, and nothing reaches the target.
func TestJumpHostKeyUnknown(t *testing.T) {
	o := jumpSSHD(t)
	dev := sim.NewDevice(sim.Options{})
	f := start(t, dev, sim.SSHConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg := f.target
	j := o.bastion("bastion")
	j.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	tg.Jumps = []transports.Target{j}
	_, err := openSSHConfig.Dial(ctx, tg, f.opts)
	var ce *transports.ConnError
	if !errors.As(err, &ce) || !errors.Is(err, ErrHostKeyUnknown) {
		t.Fatalf("got %v, want a ConnError wrapping ErrHostKeyUnknown", err)
	}
	addr := net.JoinHostPort(o.host, strconv.Itoa(o.port))
	if want := "connect fw1: jump host bastion (" + addr + "): ssh: handshake failed: host key for [127.0.0.1]:" + strconv.Itoa(o.port) + " unknown"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q\nwant it to start %q", err, want)
	}
	if n := o.forwarded(f.target.Port); n != 0 || logins(dev) != 0 {
		t.Errorf("the target was reached (%d forwards, %d logins) though the jump host was refused", n, logins(dev))
	}

	// The target's own known_hosts does not vouch for the jump host.
	j.KnownHosts = f.target.KnownHosts
	tg.Jumps = []transports.Target{j}
	if _, err := openSSHConfig.Dial(ctx, tg, f.opts); !errors.Is(err, ErrHostKeyUnknown) {
		t.Errorf("jump host checked against the target's known_hosts: %v, want ErrHostKeyUnknown", err)
	}
}

// TestJumpNeverGetsTheFirewallPassword: a jump host with no credentials of
// its own is refused before anything is dialled; PANOS_PASSWORD is the
// firewall's and is not offered to it.
func TestJumpNeverGetsTheFirewallPassword(t *testing.T) {
	saved := getenv
	getenv = func(k string) string {
		if k == "PANOS_PASSWORD" {
			return testPassword
		}
		return ""
	}
	t.Cleanup(func() { getenv = saved })
	tg := transports.Target{Name: "fw1", Host: "127.0.0.1", Port: 1, User: "admin",
		Jumps: []transports.Target{{Name: "bastion", Host: "127.0.0.1", Port: 2, User: "ops", KnownHosts: filepath.Join(t.TempDir(), "kh")}}}
	_, err := fast.Dial(context.Background(), tg, transports.DialOptions{})
	want := "connect fw1: jump host bastion: no credentials: give the jump host an IdentityFile in ssh_config, start ssh-agent, or make it an inventory target with key_file or password"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestJumpFromSSHConfig: an inventory target whose host is an ssh_config
// alias with ProxyJump reaches the simulator through the real OpenSSH
// server named by another alias, with that alias's user, key and
// known_hosts.
func TestJumpFromSSHConfig(t *testing.T) {
	o := jumpSSHD(t)
	f := start(t, sim.NewDevice(sim.Options{Hostname: "PA-VM"}), sim.SSHConfig{})
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SSH_AUTH_SOCK", "")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ssh_config"), strings.Join([]string{
		"Host bastion",
		"    HostName " + o.host,
		"    Port " + strconv.Itoa(o.port),
		"    User " + o.user,
		"    IdentityFile " + o.keyFile,
		"    UserKnownHostsFile " + o.kh,
		"Host fw-lab",
		"    HostName 127.0.0.1",
		"    Port " + strconv.Itoa(f.target.Port),
		"    ProxyJump bastion",
		"",
	}, "\n"))
	writeFile(t, filepath.Join(dir, "inventory.yaml"), "ssh_config: ssh_config\ntargets:\n  fw1:\n    transport: ssh\n    host: fw-lab\n    user: admin\n"+
		"    password: env:PW\n    known_hosts: "+f.target.KnownHosts+"\n")
	inv, err := inventory.Load(filepath.Join(dir, "inventory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := inv.Resolve([]string{"fw1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr, err := openSSHConfig.Dial(ctx, ts[0], f.opts)
	if err != nil {
		t.Fatalf("dial fw1 through ssh_config's bastion: %v", err)
	}
	defer tr.Close()
	if _, err := tr.Run(ctx, transports.Command{CLI: "show clock"}); err != nil {
		t.Errorf("show clock: %v", err)
	}
	if n := o.forwarded(f.target.Port); n != 1 {
		t.Errorf("sshd forwarded %d channels to the simulator, want 1", n)
	}
}
