package inventory_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/inventory"
	"github.com/runbook-dev/runbook/transports"
)

// sshHome makes a HOME of its own (never the user's ~/.ssh) with
// ~/.ssh/config holding conf, and returns it.
func sshHome(t *testing.T, conf string) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	if conf != "" {
		if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

func parse(t *testing.T, dir, src string) (*inventory.Inventory, error) {
	t.Helper()
	p := filepath.Join(dir, "inv.yaml")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return inventory.Load(p)
}

const fleetConfig = `# the engineer's own
Host fw1-alias
    HostName 127.0.0.5
    Port 2222
    User ops
    IdentityFile ~/keys/fw1
    UserKnownHostsFile ~/kh/fw1 ~/kh/other
    ProxyJump bastion

Host bastion
    HostName 127.0.0.9
    User jump
    Port 2200
    ProxyJump outer

Host outer
    HostName 127.0.0.10
    IdentityFile %d/keys/outer

Host lab-*
    HostName %h.lab.example
`

func TestSSHConfigAlias(t *testing.T) {
	home := sshHome(t, fleetConfig)
	inv, err := parse(t, t.TempDir(), "targets:\n  fw1:\n    transport: ssh\n    host: fw1-alias\n    password: env:FW1\n")
	if err != nil {
		t.Fatal(err)
	}
	fw1 := inv.Targets["fw1"]
	if fw1.Host != "127.0.0.5" || fw1.Port != 2222 || fw1.User != "ops" || fw1.KeyFile != filepath.Join(home, "keys/fw1") ||
		fw1.KnownHosts != filepath.Join(home, "kh/fw1") || fw1.Password.String() != "env:FW1" {
		t.Errorf("fw1 %+v", fw1)
	}
	if inv.SSHConfig != filepath.Join(home, ".ssh", "config") {
		t.Errorf("SSHConfig %q", inv.SSHConfig)
	}
	// bastion's own ProxyJump (outer) comes first; each hop has its own
	// settings and none of the firewall's credentials.
	if got := hops(fw1.Jumps); got != "outer=-@127.0.0.10:0 key="+filepath.Join(home, "keys/outer")+" | bastion=jump@127.0.0.9:2200 key=" {
		t.Errorf("jumps %s", got)
	}
	for _, j := range fw1.Jumps {
		if !j.Password.IsZero() || j.Transport != "ssh" || len(j.Jumps) != 0 {
			t.Errorf("jump %+v", j)
		}
	}

	// A Host of ssh_config is a target on the command line; a wildcard
	// Host is not.
	if !inv.IsAlias("bastion") || inv.IsAlias("lab-*") || inv.IsAlias("lab-1") || inv.IsAlias("fw1") {
		t.Errorf("IsAlias bastion %v, lab-* %v, lab-1 %v, fw1 %v", inv.IsAlias("bastion"), inv.IsAlias("lab-*"), inv.IsAlias("lab-1"), inv.IsAlias("fw1"))
	}
	ts, err := inv.Resolve([]string{"fw1-alias", "fw1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Name != "fw1-alias" || ts[0].Transport != "ssh" || ts[0].Host != "127.0.0.5" || ts[0].User != "ops" || hops(ts[0].Jumps) != hops(fw1.Jumps) {
		t.Errorf("resolved %+v", ts)
	}
	if _, err := inv.Resolve([]string{"lab-1"}); err == nil || !strings.Contains(err.Error(), `unknown target "lab-1"`) {
		t.Errorf("a wildcard-only name resolved: %v", err)
	}
}

// hops prints jump hosts as name=user@host:port key=file, user "-" when
// none is given and "+agent" when ssh-agent is to be tried.
func hops(js []transports.Target) string {
	var out []string
	for _, j := range js {
		u := j.User
		if u == "" {
			u = "-"
		}
		s := j.Name + "=" + u + "@" + j.Host + ":" + itoa(j.Port) + " key=" + j.KeyFile
		if j.UseAgent {
			s += " +agent"
		}
		out = append(out, s)
	}
	return strings.Join(out, " | ")
}

// TestSSHConfigJumpAgent: a jump host of ssh_config tries ssh-agent when
// SSH_AUTH_SOCK is set, unless IdentitiesOnly yes; with no IdentityFile
// it takes OpenSSH's first default key that exists.
func TestSSHConfigJumpAgent(t *testing.T) {
	home := sshHome(t, "Host fw\n  ProxyJump a,b\nHost b\n  IdentitiesOnly yes\n")
	t.Setenv("SSH_AUTH_SOCK", filepath.Join(home, "agent.sock"))
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_rsa"), []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := parse(t, t.TempDir(), "targets:\n  fw1: {transport: ssh, host: fw, use_agent: false}\n")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(home, ".ssh", "id_rsa")
	if got, want := hops(inv.Targets["fw1"].Jumps), "a=-@a:0 key="+key+" +agent | b=-@b:0 key="+key; got != want {
		t.Errorf("jumps %s\nwant  %s", got, want)
	}
}

// TestSSHConfigPrecedence: the inventory's own values win over ssh_config;
// proxy_jump wins over ProxyJump, and may name an inventory target (whose
// credentials the hop then uses).
func TestSSHConfigPrecedence(t *testing.T) {
	home := sshHome(t, fleetConfig)
	src := `targets:
  fw1:
    transport: ssh
    host: fw1-alias
    port: 22
    user: admin
    key_file: ~/mine
    known_hosts: ~/kh/inv
    proxy_jump: ops@jumpbox:2022,bastion
  jumpbox:
    transport: ssh
    host: 127.0.0.20
    user: nobody
    password: env:JUMP_PW
  fw2:
    transport: [ssh, xmlapi]
    host: fw1-alias
    api_key: env:K
`
	inv, err := parse(t, t.TempDir(), src)
	if err != nil {
		t.Fatal(err)
	}
	fw1 := inv.Targets["fw1"]
	if fw1.Host != "127.0.0.5" || fw1.Port != 22 || fw1.User != "admin" || fw1.KeyFile != filepath.Join(home, "mine") || fw1.KnownHosts != filepath.Join(home, "kh/inv") {
		t.Errorf("fw1 %+v", fw1)
	}
	// Listed after the first, bastion is reached through jumpbox, not
	// through its own ProxyJump (outer), as OpenSSH does.
	if got := hops(fw1.Jumps); got != "jumpbox=ops@127.0.0.20:2022 key= | bastion=jump@127.0.0.9:2200 key=" {
		t.Errorf("jumps %s", got)
	}
	if fw1.Jumps[0].Password.String() != "env:JUMP_PW" || !fw1.Jumps[1].Password.IsZero() {
		t.Errorf("jump passwords %q %q", fw1.Jumps[0].Password, fw1.Jumps[1].Password)
	}
	// A target reached both ways: ssh_config's Port is the SSH part's.
	fw2 := inv.Targets["fw2"]
	if fw2.Host != "127.0.0.5" || fw2.Ports["ssh"] != 2222 || fw2.Port != 0 || len(fw2.Jumps) != 2 {
		t.Errorf("fw2 %+v", fw2)
	}
	// No ssh_config at all: the inventory's proxy_jump still works.
	sshHome(t, "")
	inv, err = parse(t, t.TempDir(), "targets:\n  fw1: {transport: ssh, host: 127.0.0.5, proxy_jump: \"me@127.0.0.9:2200\"}\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := hops(inv.Targets["fw1"].Jumps); got != "127.0.0.9=me@127.0.0.9:2200 key=" || inv.SSHConfig != "" {
		t.Errorf("jumps %s, ssh_config %q", got, inv.SSHConfig)
	}
}

func TestSSHConfigFromInventory(t *testing.T) {
	sshHome(t, "Host fw\n  HostName 127.0.0.1\n")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ssh.conf"), []byte("Host fw\n  HostName 127.0.0.7\n  User lab\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := parse(t, dir, "ssh_config: ssh.conf\ntargets:\n  fw1: {transport: ssh, host: fw}\n")
	if err != nil {
		t.Fatal(err)
	}
	if fw1 := inv.Targets["fw1"]; fw1.Host != "127.0.0.7" || fw1.User != "lab" || inv.SSHConfig != filepath.Join(dir, "ssh.conf") {
		t.Errorf("fw1 %+v (ssh_config %s): want the inventory's ssh_config, not ~/.ssh/config", fw1, inv.SSHConfig)
	}
}

func TestSSHConfigErrors(t *testing.T) {
	tests := []struct{ name, conf, inv, want string }{
		{"bad port", "Host fw\n  Port twenty\n", "targets:\n  fw1: {transport: ssh, host: fw}\n",
			`inv.yaml:2:3: target fw1: ssh_config CONF:2: Port "twenty": want a port number`},
		{"proxy command", "Host fw\n  ProxyCommand nc %h %p\n", "targets:\n  fw1: {transport: ssh, host: fw}\n",
			`inv.yaml:2:3: target fw1: ssh_config CONF:2: ProxyCommand is not supported: reach fw with ProxyJump`},
		{"bad jump in ssh_config", "Host fw\n  ProxyJump bastion:22x\n", "targets:\n  fw1: {transport: ssh, host: fw}\n",
			`inv.yaml:2:3: target fw1: ssh_config CONF:2: ProxyJump "bastion:22x": jump host bastion: port "22x": want a port number`},
		{"bad proxy_jump", "", "targets:\n  fw1:\n    transport: ssh\n    host: fw\n    proxy_jump: \"a,,b\"\n",
			`inv.yaml:5:17: target fw1: proxy_jump "a,,b": an empty jump host`},
		{"a loop", "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n", "targets:\n  fw1: {transport: ssh, host: a}\n",
			`inv.yaml:2:3: target fw1: ssh_config CONF:2: ProxyJump "b": jump host b: ssh_config CONF:4: ProxyJump "a": a is reached through itself`},
		{"jump of a bad alias", "Host bastion\n  IdentityFile %k\n", "targets:\n  fw1:\n    transport: ssh\n    host: fw\n    proxy_jump: bastion\n",
			`inv.yaml:5:17: target fw1: proxy_jump "bastion": jump host bastion: ssh_config CONF:2: IdentityFile: token %k in "%k" is not supported (%h %p %r %u %d %% are)`},
		{"proxy_jump over the API", "", "targets:\n  fw1: {transport: xmlapi, host: fw, api_key: env:K, proxy_jump: b}\n",
			`inv.yaml:2:66: target fw1: proxy_jump: only a target reached over SSH has jump hosts`},
		{"Match exec", "Match exec true\n  User x\n", "targets:\n  fw1: {transport: ssh, host: fw}\n",
			`inv.yaml:1:1: ssh_config CONF: (1, 7): ssh_config: Match Exec is not supported`},
		{"missing ssh_config", "", "ssh_config: nope.conf\ntargets:\n  fw1: {transport: ssh, host: fw}\n",
			`inv.yaml:1:13: ssh_config: open DIR/nope.conf: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := sshHome(t, tt.conf)
			dir := t.TempDir()
			_, err := parse(t, dir, tt.inv)
			want := strings.NewReplacer("CONF", filepath.Join(home, ".ssh", "config"), "DIR", dir).Replace(tt.want)
			if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, want)) {
				t.Errorf("got  %v\nwant %s", err, filepath.Join(dir, want))
			}
		})
	}
}

// TestSSHConfigAliasErrors: a Host given on the command line is checked
// when it is resolved, naming the target, the file and the field.
func TestSSHConfigAliasErrors(t *testing.T) {
	home := sshHome(t, "Host lab\n  Port 0\n")
	inv, err := parse(t, t.TempDir(), "targets:\n  fw1: {transport: ssh, host: 127.0.0.1}\n")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(home, ".ssh", "config")
	_, err = inv.Resolve([]string{"lab"})
	if want := "target lab (a Host of " + conf + "): ssh_config " + conf + `:2: Port "0": want a port number`; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	solo, err := inventory.SSHConfigOnly()
	if err != nil || !solo.IsAlias("lab") || solo.IsAlias("fw1") {
		t.Fatalf("SSHConfigOnly: %v", err)
	}
}
