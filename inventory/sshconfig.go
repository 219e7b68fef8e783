package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
	"go.yaml.in/yaml/v3"

	"github.com/runbook-dev/runbook/transports"
)

// maxJumps bounds a ProxyJump chain, aliases' own ProxyJump included.
const maxJumps = 8

// sshConfig is an OpenSSH client configuration (ssh_config(5)) read with
// github.com/kevinburke/ssh_config: Host patterns (negation, wildcards),
// Match host and Match all, Include; first value wins, as in OpenSSH.
// Other Match criteria are refused by the parser.
type sshConfig struct {
	path string
	cfg  *ssh_config.Config
}

// DefaultSSHConfig is the ssh_config read when the inventory names none:
// ~/.ssh/config, if it exists.
func DefaultSSHConfig() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(h, ".ssh", "config")
}

// readSSHConfig parses the ssh_config at path. A missing file is no
// configuration (nil) unless must is set.
func readSSHConfig(path string, must bool) (*sshConfig, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !must {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh_config: %w", err)
	}
	cfg, err := ssh_config.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("ssh_config %s: %w", path, err)
	}
	return &sshConfig{path: path, cfg: cfg}, nil
}

// get is the first value of key for alias, and where it was written
// ("file:line"; the file alone for a value from an Include).
func (c *sshConfig) get(alias, key string) (value, where string) {
	if c == nil {
		return "", ""
	}
	for _, h := range c.cfg.Hosts {
		if !h.Matches(alias) {
			continue
		}
		for _, n := range h.Nodes {
			switch n := n.(type) {
			case *ssh_config.KV:
				if strings.EqualFold(n.Key, key) {
					return n.Value, fmt.Sprintf("%s:%d", c.path, n.Pos().Line)
				}
			case *ssh_config.Include:
				if v := n.Get(alias, key); v != "" {
					return v, fmt.Sprintf("%s:%d (Include)", c.path, n.Pos().Line)
				}
			}
		}
	}
	return "", ""
}

// declares reports whether a Host line names alias itself (not through a
// wildcard): only such an alias is a target on the command line.
func (c *sshConfig) declares(alias string) bool {
	if c == nil {
		return false
	}
	for _, h := range c.cfg.Hosts {
		for _, p := range h.Patterns {
			if s := p.String(); s == alias && !strings.ContainsAny(s, "*?!") {
				return true
			}
		}
	}
	return false
}

// sshResolver applies ssh_config to targets and resolves their jump hosts.
type sshResolver struct {
	conf    *sshConfig
	targets map[string]transports.Target // the inventory's own, as written
	jumps   map[string]string            // each inventory target's proxy_jump
	getenv  func(string) string
}

// sshPort is the port of t's SSH part (0: not given).
func sshPort(t transports.Target) int {
	if strings.Contains(t.Transport, "+") {
		return t.Ports["ssh"]
	}
	return t.Port
}

func setSSHPort(t *transports.Target, p int) {
	if strings.Contains(t.Transport, "+") {
		m := map[string]int{}
		for k, v := range t.Ports {
			m[k] = v
		}
		m["ssh"] = p
		t.Ports = m
		return
	}
	t.Port = p
}

// hasSSH reports whether t is reached (in part) over SSH.
func hasSSH(t transports.Target) bool {
	return t.Transport == "ssh" || strings.HasPrefix(t.Transport, "ssh+")
}

// resolve gives t what ssh_config has for its host (the alias): HostName,
// Port, User, IdentityFile, UserKnownHostsFile and ProxyJump. What t
// already has (the inventory's own values) wins. jumpSpec, when given, is
// the inventory's proxy_jump and wins over ProxyJump. follow is false for
// a jump host after the first of a list (OpenSSH reaches it through the
// previous one, not through its own ProxyJump).
func (r *sshResolver) resolve(t transports.Target, jumpSpec string, follow bool, seen []string) (transports.Target, error) {
	alias := t.Host
	get := func(k string) (string, string) { return r.conf.get(alias, k) }
	fail := func(where, format string, a ...any) error {
		return fmt.Errorf("ssh_config %s: %s", where, fmt.Sprintf(format, a...))
	}
	if hn, where := get("HostName"); hn != "" {
		h, err := r.tokens(hn, alias, t)
		if err != nil {
			return t, fail(where, "HostName: %v", err)
		}
		t.Host = h
	}
	if sshPort(t) == 0 {
		if ps, where := get("Port"); ps != "" {
			p, err := strconv.Atoi(ps)
			if err != nil || p < 1 || p > 65535 {
				return t, fail(where, "Port %q: want a port number", ps)
			}
			setSSHPort(&t, p)
		}
	}
	if t.User == "" {
		t.User, _ = get("User")
	}
	if t.KeyFile == "" {
		if f, where := get("IdentityFile"); f != "" && !strings.EqualFold(f, "none") {
			p, err := r.path(f, alias, t)
			if err != nil {
				return t, fail(where, "IdentityFile: %v", err)
			}
			t.KeyFile = p
		}
	}
	if t.KnownHosts == "" {
		if f, where := get("UserKnownHostsFile"); f != "" {
			first := strings.Fields(f)[0]
			p, err := r.path(first, alias, t)
			if err != nil {
				return t, fail(where, "UserKnownHostsFile: %v", err)
			}
			t.KnownHosts = p
		}
	}
	spec, where := jumpSpec, "proxy_jump"
	if spec == "" {
		spec, where = get("ProxyJump")
		if where != "" {
			where = "ssh_config " + where + ": ProxyJump"
		}
		if pc, pw := get("ProxyCommand"); spec == "" && pc != "" && !strings.EqualFold(pc, "none") {
			return t, fail(pw, "ProxyCommand is not supported: reach %s with ProxyJump", alias)
		}
	}
	t.Jumps = nil
	if !follow || spec == "" || strings.EqualFold(spec, "none") {
		return t, nil
	}
	jumps, err := r.chain(spec, append(seen, alias))
	if err != nil {
		return t, fmt.Errorf("%s %q: %w", where, spec, err)
	}
	t.Jumps = jumps
	return t, nil
}

// chain resolves a ProxyJump list ("[user@]host[:port],...") into the jump
// hosts in the order they are dialled. Each host is an inventory target
// (its credentials are used), or else an ssh_config alias or a plain host
// name; the first one's own ProxyJump comes before it.
func (r *sshResolver) chain(spec string, seen []string) ([]transports.Target, error) {
	var out []transports.Target
	for i, part := range strings.Split(spec, ",") {
		u, host, port, err := parseJump(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		for _, s := range seen {
			if s == host {
				return nil, fmt.Errorf("%s is reached through itself", host)
			}
		}
		var h transports.Target
		own := ""
		if it, ok := r.targets[host]; ok && hasSSH(it) {
			h = it
			h.Port, h.Ports = sshPort(it), nil
			own = r.jumps[host]
		} else {
			h = transports.Target{Name: host, Host: host}
			if ido, _ := r.conf.get(host, "IdentitiesOnly"); r.getenv("SSH_AUTH_SOCK") != "" && !strings.EqualFold(ido, "yes") {
				h.UseAgent = true
			}
		}
		h.Transport = "ssh"
		if u != "" {
			h.User = u
		}
		if port != 0 {
			h.Port = port
		}
		h, err = r.resolve(h, own, i == 0, seen)
		if err != nil {
			return nil, fmt.Errorf("jump host %s: %w", host, err)
		}
		if _, inInv := r.targets[host]; !inInv && h.KeyFile == "" {
			h.KeyFile = defaultIdentity()
		}
		out = append(out, h.Jumps...)
		h.Jumps = nil
		out = append(out, h)
		if len(out) > maxJumps {
			return nil, fmt.Errorf("more than %d jump hosts", maxJumps)
		}
	}
	return out, nil
}

// parseJump reads one ProxyJump entry: [user@]host[:port], host possibly
// [v6]:port, or ssh://[user@]host[:port].
func parseJump(s string) (u, host string, port int, err error) {
	s = strings.TrimPrefix(s, "ssh://")
	if s == "" {
		return "", "", 0, errors.New("an empty jump host")
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		u, s = s[:i], s[i+1:]
	}
	host = s
	if h, p, serr := net.SplitHostPort(s); serr == nil {
		host = h
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return "", "", 0, fmt.Errorf("jump host %s: port %q: want a port number", h, p)
		}
	} else if strings.Count(s, ":") == 1 {
		return "", "", 0, fmt.Errorf("jump host %q: want host or host:port", s)
	}
	if host == "" {
		return "", "", 0, fmt.Errorf("jump host %q: no host", s)
	}
	return u, host, port, nil
}

// tokens expands ssh_config's %h (the host), %p, %r, %u, %d and %%.
func (r *sshResolver) tokens(s, alias string, t transports.Target) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("%q ends with %%", s)
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'h':
			b.WriteString(alias)
		case 'p':
			p := sshPort(t)
			if p == 0 {
				p = 22
			}
			b.WriteString(strconv.Itoa(p))
		case 'r':
			b.WriteString(t.User)
		case 'u':
			if u, err := user.Current(); err == nil {
				b.WriteString(u.Username)
			}
		case 'd':
			h, err := os.UserHomeDir()
			if err != nil {
				return "", err
			}
			b.WriteString(h)
		default:
			return "", fmt.Errorf("token %%%c in %q is not supported (%%h %%p %%r %%u %%d %%%% are)", s[i], s)
		}
	}
	return b.String(), nil
}

// path expands tokens and a leading ~/ in a file name of ssh_config.
func (r *sshResolver) path(s, alias string, t transports.Target) (string, error) {
	s, err := r.tokens(s, alias, t)
	if err != nil {
		return "", err
	}
	return expandHome(s), nil
}

// defaultIdentity is OpenSSH's first default identity file that exists,
// for a jump host given none.
func defaultIdentity() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		p := filepath.Join(h, ".ssh", n)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// applySSHConfig reads the ssh_config (the inventory's ssh_config:, else
// ~/.ssh/config if there is one) and gives each SSH target what it has
// for the target's host; the inventory's own values win. A problem is
// reported at the target (or its proxy_jump) with the ssh_config line.
func (inv *Inventory) applySSHConfig(confNode *yaml.Node, targetNodes, jumpNodes map[string]*yaml.Node) []*Error {
	var errs []*Error
	at := func(n *yaml.Node, format string, a ...any) {
		errs = append(errs, &Error{File: inv.File, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, a...)})
	}
	for name, n := range jumpNodes {
		if !hasSSH(inv.Targets[name]) {
			at(n, "target %s: proxy_jump: only a target reached over SSH has jump hosts", name)
		}
	}
	anySSH := false
	for _, t := range inv.Targets {
		anySSH = anySSH || hasSSH(t)
	}
	path, must := DefaultSSHConfig(), false
	if confNode != nil {
		path, must = expandHome(confNode.Value), true
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(inv.File), path)
		}
	}
	var conf *sshConfig
	if anySSH || must {
		var err error
		if conf, err = readSSHConfig(path, must); err != nil {
			n := confNode
			if n == nil {
				n = &yaml.Node{Line: 1, Column: 1}
			}
			at(n, "%v", err)
			return errs
		}
	}
	if conf != nil {
		inv.SSHConfig = conf.path
	}
	jumps := map[string]string{}
	for name, n := range jumpNodes {
		jumps[name] = n.Value
	}
	raw := make(map[string]transports.Target, len(inv.Targets))
	for k, v := range inv.Targets {
		raw[k] = v
	}
	inv.ssh = &sshResolver{conf: conf, targets: raw, jumps: jumps, getenv: os.Getenv}
	for name, t := range raw {
		if !hasSSH(t) {
			continue
		}
		rt, err := inv.ssh.resolve(t, jumps[name], true, []string{name})
		if err != nil {
			n := targetNodes[name]
			if jn := jumpNodes[name]; jn != nil {
				n = jn
			}
			if n == nil {
				n = &yaml.Node{Line: 1, Column: 1}
			}
			at(n, "target %s: %v", name, err)
			continue
		}
		inv.Targets[name] = rt
	}
	return errs
}

// IsAlias reports whether name, not a target or group of the inventory,
// is a Host of the ssh_config: `--target name` then reaches it over SSH
// with what ssh_config has for it.
func (inv *Inventory) IsAlias(name string) bool {
	if inv == nil || inv.ssh == nil {
		return false
	}
	_, isTarget := inv.Targets[name]
	return !isTarget && inv.Groups[name] == nil && inv.ssh.conf.declares(name)
}

// Alias is the SSH target ssh_config makes of Host name.
func (inv *Inventory) Alias(name string) (transports.Target, error) {
	t, err := inv.ssh.resolve(transports.Target{Name: name, Transport: "ssh", Host: name}, "", true, []string{name})
	if err != nil {
		return t, fmt.Errorf("target %s (a Host of %s): %w", name, inv.ssh.conf.path, err)
	}
	return t, nil
}

// SSHConfigOnly is the inventory of a run without an inventory file: no
// targets, only the Hosts of ~/.ssh/config (or nil when it has none or
// cannot be read; the error says why).
func SSHConfigOnly() (*Inventory, error) {
	conf, err := readSSHConfig(DefaultSSHConfig(), false)
	if err != nil || conf == nil {
		return nil, err
	}
	inv := &Inventory{File: conf.path, Targets: map[string]transports.Target{}, Groups: map[string][]string{}, Format: "ssh_config", SSHConfig: conf.path}
	inv.ssh = &sshResolver{conf: conf, targets: map[string]transports.Target{}, jumps: map[string]string{}, getenv: os.Getenv}
	return inv, nil
}
