// Package inventory reads the inventory file that maps target names to how
// each device is reached (transport, host, credentials as secret
// references, host-key and TLS policy) and groups of targets.
//
// It imports transports (for Target) and secret, nothing of the engine.
package inventory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-dev/runbook/internal/editdist"
	"github.com/runbook-dev/runbook/internal/yamlerr"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
)

// Inventory is a loaded inventory file.
type Inventory struct {
	File    string
	Targets map[string]transports.Target
	Groups  map[string][]string
	// Format is the form the file was written in: FormatRunbook or
	// FormatAnsible.
	Format string
	// SSHConfig is the ssh_config file read for SSH targets ("" if none
	// was there).
	SSHConfig string

	ssh *sshResolver
}

// The inventory formats Parse reads.
const (
	FormatRunbook = "runbook"
	FormatAnsible = "ansible"
)

// Error is a problem at a position of the inventory file.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg) }

// ErrNotFound is returned by Find when no inventory file exists.
var ErrNotFound = errors.New("no inventory file")

// Find returns the inventory path to use: explicit, else
// $RUNBOOK_INVENTORY, else ./inventory.yaml, else
// ~/.config/runbook/inventory.yaml. It returns ErrNotFound (wrapped, with
// the places looked at) when none exists.
func Find(explicit string, getenv func(string) string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if p := getenv("RUNBOOK_INVENTORY"); p != "" {
		return p, nil
	}
	cands := []string{"inventory.yaml"}
	if h, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(h, ".config", "runbook", "inventory.yaml"))
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: give --inventory FILE, set RUNBOOK_INVENTORY, or create %s", ErrNotFound, strings.Join(cands, " or "))
}

var targetKeys = map[string]bool{
	"transport": true, "host": true, "port": true, "user": true, "password": true,
	"key_file": true, "passphrase": true, "use_agent": true, "known_hosts": true,
	"api_key": true, "tls": true, "cassette": true, "params": true, "ports": true,
	"via": true, "serial": true, // panorama.go
	"proxy_jump": true,
}

// The transports a target may list together (transport: [ssh, xmlapi]),
// in the order their names are joined into Target.Transport: ssh+xmlapi.
var partNames = []string{"ssh", "xmlapi"}

// Load reads and checks an inventory file. Every problem is reported, each
// with file:line:col.
func Load(path string) (*Inventory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return Parse(path, b)
}

// Parse reads an inventory from b; path names it in errors. Every problem
// is reported at once, each an *Error with its line and column, in order.
func Parse(path string, b []byte) (*Inventory, error) {
	inv := &Inventory{File: path, Targets: map[string]transports.Target{}, Groups: map[string][]string{}, Format: FormatRunbook}
	if err := refuseINI(path, b); err != nil {
		return nil, err
	}
	doc, probs := yamlerr.Decode(b)
	if len(probs) > 0 {
		var errs []error
		for _, p := range probs {
			errs = append(errs, &Error{File: path, Line: p.Line, Col: p.Col, Msg: p.Msg})
		}
		return nil, errors.Join(errs...)
	}
	if doc == nil || len(doc.Content) == 0 {
		return nil, &Error{File: path, Line: 1, Col: 1, Msg: "empty inventory: want a mapping with targets: and groups:"}
	}
	var errs []*Error
	bad := func(n *yaml.Node, format string, a ...any) {
		errs = append(errs, &Error{File: path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, a...)})
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: path, Line: root.Line, Col: root.Column, Msg: "an inventory is a mapping with targets: and groups:"}
	}
	if isAnsible(root) {
		return parseAnsible(path, root)
	}
	targetNodes := map[string]*yaml.Node{}
	jumpNodes := map[string]*yaml.Node{}
	var sshConfigNode *yaml.Node
	groupKeys := map[string]*yaml.Node{}
	var groupNodes []*yaml.Node // each group's list, in order
	var targetsNode *yaml.Node
	for _, kv := range pairs(root, "the inventory", bad) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "targets":
			if v.Kind != yaml.MappingNode {
				bad(v, "targets must be a mapping of name to target")
				continue
			}
			targetsNode = v
			for _, tv := range pairs(v, "targets", bad) {
				name := tv[0].Value
				t, terrs := parseTarget(path, name, tv[1], jumpNodes)
				errs = append(errs, terrs...)
				inv.Targets[name] = t
				targetNodes[name] = tv[0]
			}
		case "groups":
			if v.Kind != yaml.MappingNode {
				bad(v, "groups must be a mapping of name to a list of targets")
				continue
			}
			for _, gv := range pairs(v, "groups", bad) {
				gn, list := gv[0], gv[1]
				if list.Kind != yaml.SequenceNode {
					bad(list, "group %s: want a list of target names", gn.Value)
					continue
				}
				var members []string
				for _, m := range list.Content {
					if m.Kind != yaml.ScalarNode {
						bad(m, "group %s: want a list of target names", gn.Value)
						continue
					}
					members = append(members, m.Value)
				}
				inv.Groups[gn.Value] = members
				groupKeys[gn.Value] = gn
				groupNodes = append(groupNodes, gn, list)
			}
		case "ssh_config":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				bad(v, "ssh_config: want the path of an OpenSSH client configuration file")
				continue
			}
			sshConfigNode = v
		default:
			bad(k, "unknown key %q (want targets, groups or ssh_config)", k.Value)
		}
	}
	for i := 0; i+1 < len(groupNodes); i += 2 {
		gn, list := groupNodes[i], groupNodes[i+1]
		for _, m := range list.Content {
			_, isTarget := inv.Targets[m.Value]
			switch {
			case m.Kind != yaml.ScalarNode || isTarget:
			case groupKeys[m.Value] != nil:
				bad(m, "group %s: %q is a group: a group lists targets only", gn.Value, m.Value)
			default:
				msg := fmt.Sprintf("group %s: unknown target %q", gn.Value, m.Value)
				if s := closest(m.Value, inv.Targets); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				bad(m, "%s", msg)
			}
		}
		if _, clash := inv.Targets[gn.Value]; clash {
			bad(gn, "group %s has the name of a target", gn.Value)
		}
	}
	errs = append(errs, resolveVia(path, targetsNode, inv)...)
	if len(errs) == 0 {
		errs = inv.applySSHConfig(sshConfigNode, targetNodes, jumpNodes)
	}
	if err := joinSorted(errs); err != nil {
		return nil, err
	}
	return inv, nil
}

// joinSorted joins errs in file order; nil if there are none.
func joinSorted(errs []*Error) error {
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool {
			if errs[i].Line != errs[j].Line {
				return errs[i].Line < errs[j].Line
			}
			return errs[i].Col < errs[j].Col
		})
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = e
		}
		return errors.Join(out...)
	}
	return nil
}

// pairs returns the key and value nodes of mapping n, reporting a key
// given twice (the first one is kept) and a key that is not a string.
func pairs(n *yaml.Node, what string, bad func(*yaml.Node, string, ...any)) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			bad(k, "%s: keys must be strings", what)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			bad(k, "%s: %q is given twice (first at %d:%d)", what, k.Value, prev.Line, prev.Column)
			continue
		}
		seen[k.Value] = k
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// closest is the target name nearest to s by one or two edits, or "".
func closest(s string, targets map[string]transports.Target) string {
	best, bestD := "", 3
	for n := range targets {
		if d := editdist.Levenshtein(s, n); d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	return best
}

func parseTarget(path, name string, n *yaml.Node, jumpNodes map[string]*yaml.Node) (transports.Target, []*Error) {
	t := transports.Target{Name: name}
	var errs []*Error
	bad := func(n *yaml.Node, format string, a ...any) {
		errs = append(errs, &Error{File: path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("target %s: ", name) + fmt.Sprintf(format, a...)})
	}
	if n.Kind != yaml.MappingNode {
		bad(n, "want a mapping")
		return t, errs
	}
	ref := func(v *yaml.Node, key string) secret.Ref {
		r, err := secret.Parse(v.Value)
		if err != nil {
			// Never echo the value: it may be the secret itself.
			bad(v, "%s: a secret must be written as a reference: env:NAME, file:PATH or prompt; never the secret itself", key)
		}
		if r.Kind == "prompt" {
			// Each prompt is its own question: the resolver asks (and
			// caches) it apart from every other target's and key's.
			r.Name = name + " " + key
		}
		return r
	}
	var portNode, portsNode *yaml.Node
	for _, kv := range pairs(n, "target "+name, func(n *yaml.Node, f string, a ...any) {
		errs = append(errs, &Error{File: path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(f, a...)})
	}) {
		k, v := kv[0], kv[1]
		if !targetKeys[k.Value] {
			bad(k, "unknown key %q", k.Value)
			continue
		}
		var err error
		switch k.Value {
		case "transport":
			if v.Kind == yaml.SequenceNode {
				t.Transport = parseParts(v, bad)
				break
			}
			t.Transport = v.Value
			if v.Value != "ssh" && v.Value != "xmlapi" && v.Value != "replay" {
				bad(v, "transport must be ssh, xmlapi or replay (or both ssh and xmlapi: [ssh, xmlapi]), not %q", v.Value)
			}
		case "host":
			t.Host = v.Value
		case "port":
			err = v.Decode(&t.Port)
			if err == nil && (t.Port < 1 || t.Port > 65535) {
				bad(v, "port %d out of range", t.Port)
			}
			portNode = v
		case "ports":
			t.Ports = parsePorts(v, bad)
			portsNode = v
		case "user":
			t.User = v.Value
		case "password":
			t.Password = ref(v, "password")
		case "passphrase":
			t.Passphrase = ref(v, "passphrase")
		case "api_key":
			t.APIKey = ref(v, "api_key")
		case "key_file":
			t.KeyFile = expandHome(v.Value)
		case "use_agent":
			err = v.Decode(&t.UseAgent)
		case "known_hosts":
			t.KnownHosts = expandHome(v.Value)
		case "cassette":
			t.Cassette = v.Value
			if !filepath.IsAbs(v.Value) {
				t.Cassette = filepath.Join(filepath.Dir(path), v.Value)
			}
		case "params":
			err = v.Decode(&t.Params)
		case "proxy_jump":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				bad(v, "proxy_jump: want jump hosts as OpenSSH writes them: [user@]host[:port], comma-separated")
				break
			}
			jumpNodes[name] = v
		case "tls":
			errs = append(errs, parseTLS(path, name, v, &t.TLS)...)
		case "via":
			t.Via = v.Value
		case "serial":
			t.Serial = v.Value
		}
		if err != nil {
			bad(v, "%s: wrong type", k.Value)
		}
	}
	if t.Transport == "" {
		bad(n, "transport is required (ssh, xmlapi or replay)")
	}
	several := strings.Contains(t.Transport, "+")
	if several && portNode != nil {
		bad(portNode, "port: a target reached over %s has a port for each: write ports: {ssh: N, xmlapi: N} (a transport left out uses its default, 22 and 443)", strings.ReplaceAll(t.Transport, "+", " and "))
	}
	if !several && portsNode != nil {
		bad(portsNode, "ports: only a target reached several ways (transport: [ssh, xmlapi]) has ports; write port: N")
	}
	if (t.Transport == "ssh" || t.Transport == "xmlapi" || several) && t.Host == "" && t.Via == "" {
		bad(n, "host is required for transport %s", t.Transport)
	}
	if t.Transport == "replay" && t.Cassette == "" {
		bad(n, "cassette is required for transport replay")
	}
	return t, errs
}

// parseParts reads `transport: [ssh, xmlapi]`: the transports a target is
// reached by together, joined in partNames order ("ssh+xmlapi"). A list of
// one is that transport.
func parseParts(v *yaml.Node, bad func(*yaml.Node, string, ...any)) string {
	seen := map[string]bool{}
	for _, it := range v.Content {
		switch {
		case it.Kind != yaml.ScalarNode || !slices.Contains(partNames, it.Value):
			bad(it, "transport: a list names ssh and xmlapi (a target reached both ways), not %q", it.Value)
		case seen[it.Value]:
			bad(it, "transport: %s is listed twice", it.Value)
		}
		seen[it.Value] = true
	}
	var out []string
	for _, p := range partNames {
		if seen[p] {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		bad(v, "transport: an empty list; want ssh, xmlapi, replay or [ssh, xmlapi]")
		return ""
	}
	return strings.Join(out, "+")
}

// parsePorts reads `ports: {ssh: N, xmlapi: N}`.
func parsePorts(v *yaml.Node, bad func(*yaml.Node, string, ...any)) map[string]int {
	if v.Kind != yaml.MappingNode {
		bad(v, "ports must be a mapping of transport to port, such as {ssh: 22, xmlapi: 443}")
		return nil
	}
	out := map[string]int{}
	for _, kv := range pairs(v, "ports", bad) {
		k, pv := kv[0], kv[1]
		if !slices.Contains(partNames, k.Value) {
			bad(k, "ports: unknown transport %q (want ssh or xmlapi)", k.Value)
			continue
		}
		var port int
		if err := pv.Decode(&port); err != nil {
			bad(pv, "ports.%s: want a port number", k.Value)
			continue
		}
		if port < 1 || port > 65535 {
			bad(pv, "ports.%s: port %d out of range", k.Value, port)
			continue
		}
		out[k.Value] = port
	}
	return out
}

// fingerprintRe is the form of tls.fingerprint, as the schema has it.
var fingerprintRe = regexp.MustCompile(`^sha256:([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$`)

func parseTLS(path, name string, n *yaml.Node, t *transports.TLS) []*Error {
	var errs []*Error
	bad := func(n *yaml.Node, format string, a ...any) {
		errs = append(errs, &Error{File: path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("target %s: ", name) + fmt.Sprintf(format, a...)})
	}
	if n.Kind != yaml.MappingNode {
		bad(n, "tls must be a mapping")
		return errs
	}
	for _, kv := range pairs(n, fmt.Sprintf("target %s: tls", name), func(n *yaml.Node, f string, a ...any) {
		errs = append(errs, &Error{File: path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(f, a...)})
	}) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "ca_file":
			t.CAFile = expandHome(v.Value)
		case "fingerprint":
			t.Fingerprint = v.Value
			if !fingerprintRe.MatchString(v.Value) {
				bad(v, "tls.fingerprint must be sha256: and 64 hex digits (colons between pairs allowed), such as sha256:%s", strings.Repeat("ab", 32))
			}
		case "insecure_skip_verify":
			if err := v.Decode(&t.InsecureSkipVerify); err != nil {
				bad(v, "tls.insecure_skip_verify: want true or false")
			}
		default:
			bad(k, "tls: unknown key %q", k.Value)
		}
	}
	return errs
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[2:])
		}
	}
	return p
}

// Resolve expands target names and group names into targets, in order,
// without duplicates.
func (inv *Inventory) Resolve(names []string) ([]transports.Target, error) {
	var out []transports.Target
	seen := map[string]bool{}
	add := func(n string) error {
		t, ok := inv.Targets[n]
		if !ok {
			return fmt.Errorf("%s: unknown target %q (known: %s)", inv.File, n, strings.Join(inv.names(), ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, t)
		}
		return nil
	}
	for _, n := range names {
		if _, ok := inv.Targets[n]; !ok && inv.Groups[n] == nil && inv.IsAlias(n) {
			t, err := inv.Alias(n)
			if err != nil {
				return nil, err
			}
			if !seen[n] {
				seen[n] = true
				out = append(out, t)
			}
			continue
		}
		if g, ok := inv.Groups[n]; ok {
			for _, m := range g {
				if err := add(m); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := add(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (inv *Inventory) names() []string {
	var out []string
	for n := range inv.Targets {
		out = append(out, n)
	}
	for g := range inv.Groups {
		out = append(out, g+" (group)")
	}
	sort.Strings(out)
	return out
}
