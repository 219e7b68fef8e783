package inventory

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
)

// An Ansible YAML inventory (the form `ansible-inventory --list --yaml`
// prints): groups with hosts, children and vars, `all` at the top, vars
// inherited as Ansible does. The connection variables of each host are
// mapped onto a target; everything else Ansible would evaluate (vaulted
// values, templating other than {{ lookup('env', 'NAME') }}) is refused
// where it is written when it is a variable we read.

// groupKeys are the keys of an Ansible group.
var ansibleGroupKeys = map[string]bool{"hosts": true, "children": true, "vars": true}

// isAnsible reports whether root is an Ansible YAML inventory: a top-level
// `all:` group, or only groups (mappings of hosts, children and vars) and
// none of runbook's keys.
func isAnsible(root *yaml.Node) bool {
	groups := 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "targets", "groups", "ssh_config":
			return false
		case "all":
			return true
		}
		if v.Kind != yaml.MappingNode || len(v.Content) == 0 {
			return false
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			if !ansibleGroupKeys[v.Content[j].Value] {
				return false
			}
		}
		groups++
	}
	return groups > 0
}

// iniHeader is the first line of an INI inventory: [group], [g:vars],
// [g:children].
var iniHeader = regexp.MustCompile(`^\[[A-Za-z0-9_.\-]+(:vars|:children)?\]\s*$`)

// refuseINI refuses an Ansible inventory in the INI form, saying how to
// turn it into the YAML form.
func refuseINI(path string, b []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") || strings.HasPrefix(s, ";") {
			continue
		}
		if iniHeader.MatchString(s) {
			return &Error{File: path, Line: line, Col: 1, Msg: fmt.Sprintf("an Ansible inventory in the INI form is not read: write it in the YAML form (ansible-inventory -i %s --list --yaml > inventory.yaml)", path)}
		}
		return nil
	}
	return nil
}

type ansibleVar struct {
	key, val *yaml.Node
}

type ansibleGroup struct {
	name     string
	key      *yaml.Node
	vars     map[string]ansibleVar
	hosts    []string // in order of appearance
	children []string
	depth    int
}

type ansibleHost struct {
	name   string
	key    *yaml.Node // first appearance
	vars   map[string]ansibleVar
	groups []string // direct groups
}

type ansibleParser struct {
	path   string
	errs   []*Error
	groups map[string]*ansibleGroup
	order  []string // group names in order of appearance
	hosts  map[string]*ansibleHost
	horder []string
	seen   map[[2]int]bool // positions reported
}

func (p *ansibleParser) bad(n *yaml.Node, format string, a ...any) {
	// A group's var is read for each of its hosts: one report is enough.
	pos := [2]int{n.Line, n.Column}
	if p.seen[pos] {
		return
	}
	p.seen[pos] = true
	p.errs = append(p.errs, &Error{File: p.path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, a...)})
}

func (p *ansibleParser) group(name string, key *yaml.Node) *ansibleGroup {
	g := p.groups[name]
	if g == nil {
		g = &ansibleGroup{name: name, key: key, vars: map[string]ansibleVar{}, depth: -1}
		p.groups[name] = g
		p.order = append(p.order, name)
	}
	return g
}

func parseAnsible(path string, root *yaml.Node) (*Inventory, error) {
	p := &ansibleParser{path: path, groups: map[string]*ansibleGroup{}, hosts: map[string]*ansibleHost{}, seen: map[[2]int]bool{}}
	all := p.group("all", root)
	for _, kv := range pairs(root, "the inventory", p.bad) {
		g := p.group(kv[0].Value, kv[0])
		p.readGroup(g, kv[1])
		if g.name != "all" && !contains(all.children, g.name) {
			all.children = append(all.children, g.name)
		}
	}
	// Depths: all is 0, a child one more than its deepest parent.
	p.setDepth(all, 0, nil)
	inv := &Inventory{File: path, Targets: map[string]transports.Target{}, Groups: map[string][]string{}, Format: FormatAnsible}
	targetNodes := map[string]*yaml.Node{}
	for _, hn := range p.horder {
		h := p.hosts[hn]
		t, ok := p.target(h)
		if ok {
			inv.Targets[hn] = t
			targetNodes[hn] = h.key
		}
	}
	for _, gn := range p.order {
		g := p.groups[gn]
		if _, clash := p.hosts[gn]; clash {
			p.bad(g.key, "group %s has the name of a host", gn)
			continue
		}
		if members := p.members(g, map[string]bool{}); len(members) > 0 {
			inv.Groups[gn] = members
		}
	}
	if len(p.errs) == 0 {
		p.errs = inv.applySSHConfig(nil, targetNodes, nil)
	}
	if err := joinSorted(p.errs); err != nil {
		return nil, err
	}
	return inv, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// readGroup reads one group's hosts, children and vars; a group given
// again adds to what it has.
func (p *ansibleParser) readGroup(g *ansibleGroup, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.bad(n, "group %s: want a mapping of hosts, children and vars", g.name)
		return
	}
	for _, kv := range pairs(n, "group "+g.name, p.bad) {
		k, v := kv[0], kv[1]
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			if !ansibleGroupKeys[k.Value] {
				p.bad(k, "group %s: unknown key %q (want hosts, children or vars)", g.name, k.Value)
			}
			continue
		}
		switch k.Value {
		case "hosts":
			if v.Kind != yaml.MappingNode {
				p.bad(v, "group %s: hosts: want a mapping of host name to its vars", g.name)
				continue
			}
			for _, hv := range pairs(v, "group "+g.name+": hosts", p.bad) {
				p.readHost(g, hv[0], hv[1])
			}
		case "children":
			if v.Kind != yaml.MappingNode {
				p.bad(v, "group %s: children: want a mapping of group name to group", g.name)
				continue
			}
			for _, cv := range pairs(v, "group "+g.name+": children", p.bad) {
				if cv[0].Value == "all" {
					p.bad(cv[0], "group %s: all cannot be a child", g.name)
					continue
				}
				c := p.group(cv[0].Value, cv[0])
				p.readGroup(c, cv[1])
				if !contains(g.children, c.name) {
					g.children = append(g.children, c.name)
				}
			}
		case "vars":
			p.readVars(v, "group "+g.name, g.vars)
		default:
			p.bad(k, "group %s: unknown key %q (want hosts, children or vars)", g.name, k.Value)
		}
	}
}

// hostRange is Ansible's host range pattern, fw[01:10].
var hostRange = regexp.MustCompile(`\[[^\]]*:[^\]]*\]`)

func (p *ansibleParser) readHost(g *ansibleGroup, k, v *yaml.Node) {
	name := k.Value
	if hostRange.MatchString(name) {
		p.bad(k, "host %s: host ranges are not read: list each host", name)
		return
	}
	h := p.hosts[name]
	if h == nil {
		h = &ansibleHost{name: name, key: k, vars: map[string]ansibleVar{}}
		p.hosts[name] = h
		p.horder = append(p.horder, name)
	}
	if !contains(h.groups, g.name) {
		h.groups = append(h.groups, g.name)
	}
	if !contains(g.hosts, name) {
		g.hosts = append(g.hosts, name)
	}
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.bad(v, "host %s: want a mapping of its vars", name)
		return
	}
	p.readVars(v, "host "+name, h.vars)
}

func (p *ansibleParser) readVars(n *yaml.Node, what string, into map[string]ansibleVar) {
	if n.Kind != yaml.MappingNode {
		p.bad(n, "%s: vars: want a mapping of name to value", what)
		return
	}
	for _, kv := range pairs(n, what+": vars", p.bad) {
		into[kv[0].Value] = ansibleVar{key: kv[0], val: kv[1]}
	}
}

func (p *ansibleParser) setDepth(g *ansibleGroup, d int, path []string) {
	if contains(path, g.name) {
		p.bad(g.key, "group %s is its own descendant (%s)", g.name, strings.Join(append(path, g.name), " > "))
		return
	}
	if d <= g.depth {
		return
	}
	g.depth = d
	for _, c := range g.children {
		p.setDepth(p.groups[c], d+1, append(path, g.name))
	}
}

// members are g's hosts and its children's, in order, once each.
func (p *ansibleParser) members(g *ansibleGroup, seen map[string]bool) []string {
	if seen["group "+g.name] {
		return nil
	}
	seen["group "+g.name] = true
	var out []string
	for _, h := range g.hosts {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, c := range g.children {
		out = append(out, p.members(p.groups[c], seen)...)
	}
	return out
}

// vars are h's variables as Ansible resolves them: all, then its groups
// from the shallowest to the deepest (by name at one depth), then the
// host's own.
func (p *ansibleParser) vars(h *ansibleHost) map[string]ansibleVar {
	in := map[string]bool{}
	var walk func(g string)
	walk = func(g string) {
		if in[g] {
			return
		}
		in[g] = true
		for _, pg := range p.order {
			if contains(p.groups[pg].children, g) {
				walk(pg)
			}
		}
	}
	for _, g := range h.groups {
		walk(g)
	}
	walk("all")
	var gs []*ansibleGroup
	for g := range in {
		gs = append(gs, p.groups[g])
	}
	sort.Slice(gs, func(i, j int) bool {
		if gs[i].depth != gs[j].depth {
			return gs[i].depth < gs[j].depth
		}
		return gs[i].name < gs[j].name
	})
	out := map[string]ansibleVar{}
	for _, g := range gs {
		for k, v := range g.vars {
			out[k] = v
		}
	}
	for k, v := range h.vars {
		out[k] = v
	}
	return out
}

// The connections and network OSes a PAN-OS host of Ansible is reached by.
var (
	cliConnections  = map[string]bool{"ansible.netcommon.network_cli": true, "network_cli": true}
	httpConnections = map[string]bool{"ansible.netcommon.httpapi": true, "httpapi": true}
	panosOS         = map[string]bool{"paloaltonetworks.panos.panos": true, "panos": true}
)

// envLookup is {{ lookup('env', 'NAME') }}, the one template read.
var envLookup = regexp.MustCompile(`^\{\{-?\s*lookup\(\s*['"](?:ansible\.builtin\.)?env['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)\s*-?\}\}$`)

// target maps h's connection variables onto a target.
func (p *ansibleParser) target(h *ansibleHost) (transports.Target, bool) {
	vars := p.vars(h)
	t := transports.Target{Name: h.name, Host: h.name}
	ok := true
	bad := func(n *yaml.Node, format string, a ...any) {
		p.bad(n, "host %s: "+format, append([]any{h.name}, a...)...)
		ok = false
	}
	// str is a variable we read, as plain text: vaulted values and
	// templates are refused where they are written.
	str := func(name string) (string, *yaml.Node) {
		v, set := vars[name]
		if !set {
			return "", nil
		}
		n := v.val
		switch {
		case n.Tag == "!vault":
			bad(n, "%s: vaulted values are not read: use an env:NAME, file:PATH or prompt reference", name)
		case n.Kind != yaml.ScalarNode:
			bad(n, "%s: want a plain value", name)
		case strings.Contains(n.Value, "{{") || strings.Contains(n.Value, "{%"):
			bad(n, "%s: templating is not read (only {{ lookup('env', 'NAME') }} for a password): write the value", name)
		default:
			return n.Value, n
		}
		return "", nil
	}
	secretVar := func(names ...string) secret.Ref {
		for _, name := range names {
			v, set := vars[name]
			if !set {
				continue
			}
			n := v.val
			if n.Tag == "!vault" {
				bad(n, "%s: vaulted values are not read: use env:NAME, file:PATH, prompt or {{ lookup('env', 'NAME') }}", name)
				return secret.Ref{}
			}
			if m := envLookup.FindStringSubmatch(n.Value); n.Kind == yaml.ScalarNode && m != nil {
				return secret.Ref{Kind: "env", Name: m[1]}
			}
			r, err := secret.Parse(n.Value)
			if n.Kind != yaml.ScalarNode || n.Tag != "!!str" || err != nil {
				// Never echo the value: it may be the secret itself.
				bad(n, "%s: a secret must be written as a reference: env:NAME, file:PATH, prompt or {{ lookup('env', 'NAME') }}; never the secret itself", name)
				return secret.Ref{}
			}
			if r.Kind == "prompt" {
				r.Name = h.name + " " + name
			}
			return r
		}
		return secret.Ref{}
	}
	port := func(name string) int {
		s, n := str(name)
		if n == nil {
			return 0
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 65535 {
			bad(n, "%s: want a port number, not %q", name, s)
			return 0
		}
		return v
	}
	conn, connNode := str("ansible_connection")
	nos, nosNode := str("ansible_network_os")
	if !ok {
		return t, false
	}
	switch {
	case connNode == nil:
		bad(h.key, "ansible_connection is not set: want ansible.netcommon.network_cli (SSH) or ansible.netcommon.httpapi (XML API), with ansible_network_os: paloaltonetworks.panos.panos")
	case !cliConnections[conn] && !httpConnections[conn]:
		bad(connNode, "ansible_connection %q is not read: want ansible.netcommon.network_cli (SSH) or ansible.netcommon.httpapi (XML API)", conn)
	case nosNode == nil:
		bad(h.key, "ansible_network_os is not set: want paloaltonetworks.panos.panos")
	case !panosOS[nos]:
		bad(nosNode, "ansible_network_os %q is not PAN-OS: want paloaltonetworks.panos.panos", nos)
	case cliConnections[conn]:
		t.Transport = "ssh"
	default:
		t.Transport = "xmlapi"
	}
	if host, n := str("ansible_host"); n != nil {
		t.Host = host
	}
	t.User, _ = str("ansible_user")
	for _, k := range []string{"ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_ssh_args"} {
		if v, set := vars[k]; set {
			bad(v.key, "%s is not read: put ProxyJump and other OpenSSH options in ~/.ssh/config (or ssh_config: of a runbook inventory)", k)
		}
	}
	switch t.Transport {
	case "ssh":
		t.Port = port("ansible_port")
		t.Password = secretVar("ansible_password", "ansible_ssh_pass")
		if f, n := str("ansible_ssh_private_key_file"); n != nil {
			t.KeyFile = expandHome(f)
		} else if f, n := str("ansible_private_key_file"); n != nil {
			t.KeyFile = expandHome(f)
		}
	case "xmlapi":
		t.Port = port("ansible_httpapi_port")
		t.Password = secretVar("ansible_httpapi_password", "ansible_password")
		ssl, sslNode := str("ansible_httpapi_use_ssl")
		switch {
		case sslNode == nil:
			bad(h.key, "ansible_httpapi_use_ssl is not set: the XML API is reached over HTTPS only; set it to true")
		case !yamlTrue(ssl):
			bad(sslNode, "ansible_httpapi_use_ssl %q: the XML API is reached over HTTPS only; set it to true", ssl)
		}
		if v, n := str("ansible_httpapi_validate_certs"); n != nil && yamlFalse(v) {
			t.TLS.InsecureSkipVerify = true
		}
	}
	return t, ok
}

func yamlTrue(s string) bool {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true
	}
	return false
}

func yamlFalse(s string) bool {
	switch strings.ToLower(s) {
	case "false", "no", "off", "0":
		return true
	}
	return false
}
