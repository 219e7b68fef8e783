// Package inventory reads the inventory file that maps target names to how
// each device is reached (transport, host, credentials as secret
// references, host-key and TLS policy) and groups of targets.
//
// It imports transports (for Target) and secret, nothing of the engine.
package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
)

// Inventory is a loaded inventory file.
type Inventory struct {
	File    string
	Targets map[string]transports.Target
	Groups  map[string][]string
}

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
	"api_key": true, "tls": true, "cassette": true, "params": true,
}

// Load reads and checks an inventory file. Every problem is reported, each
// with file:line:col.
func Load(path string) (*Inventory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return Parse(path, b)
}

// Parse reads an inventory from b; path names it in errors.
func Parse(path string, b []byte) (*Inventory, error) {
	inv := &Inventory{File: path, Targets: map[string]transports.Target{}, Groups: map[string][]string{}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	bad := func(n *yaml.Node, format string, a ...any) {
		errs = append(errs, &Error{File: path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, a...)})
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: path, Line: 1, Col: 1, Msg: "an inventory is a mapping with targets: and groups:"}
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "targets":
			if v.Kind != yaml.MappingNode {
				bad(v, "targets must be a mapping of name to target")
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				name := v.Content[j].Value
				if _, dup := inv.Targets[name]; dup {
					bad(v.Content[j], "target %q defined twice", name)
					continue
				}
				t, terrs := parseTarget(path, name, v.Content[j+1])
				errs = append(errs, terrs...)
				inv.Targets[name] = t
			}
		case "groups":
			if v.Kind != yaml.MappingNode {
				bad(v, "groups must be a mapping of name to a list of targets")
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				gn, gv := v.Content[j], v.Content[j+1]
				var members []string
				if err := gv.Decode(&members); err != nil {
					bad(gv, "group %s: want a list of target names", gn.Value)
					continue
				}
				inv.Groups[gn.Value] = members
			}
		default:
			bad(k, "unknown key %q (want targets or groups)", k.Value)
		}
	}
	for g, members := range inv.Groups {
		for _, m := range members {
			if _, ok := inv.Targets[m]; !ok {
				errs = append(errs, fmt.Errorf("%s: group %s: unknown target %q", path, g, m))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return inv, nil
}

func parseTarget(path, name string, n *yaml.Node) (transports.Target, []error) {
	t := transports.Target{Name: name}
	var errs []error
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
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !targetKeys[k.Value] {
			bad(k, "unknown key %q", k.Value)
			continue
		}
		var err error
		switch k.Value {
		case "transport":
			t.Transport = v.Value
			if v.Value != "ssh" && v.Value != "xmlapi" && v.Value != "replay" {
				bad(v, "transport must be ssh, xmlapi or replay, not %q", v.Value)
			}
		case "host":
			t.Host = v.Value
		case "port":
			err = v.Decode(&t.Port)
			if err == nil && (t.Port < 1 || t.Port > 65535) {
				bad(v, "port %d out of range", t.Port)
			}
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
		case "tls":
			errs = append(errs, parseTLS(path, name, v, &t.TLS)...)
		}
		if err != nil {
			bad(v, "%s: wrong type", k.Value)
		}
	}
	if t.Transport == "" {
		bad(n, "transport is required (ssh, xmlapi or replay)")
	}
	if (t.Transport == "ssh" || t.Transport == "xmlapi") && t.Host == "" {
		bad(n, "host is required for transport %s", t.Transport)
	}
	if t.Transport == "replay" && t.Cassette == "" {
		bad(n, "cassette is required for transport replay")
	}
	return t, errs
}

func parseTLS(path, name string, n *yaml.Node, t *transports.TLS) []error {
	var errs []error
	if n.Kind != yaml.MappingNode {
		return []error{&Error{File: path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf("target %s: tls must be a mapping", name)}}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "ca_file":
			t.CAFile = expandHome(v.Value)
		case "fingerprint":
			t.Fingerprint = v.Value
		case "insecure_skip_verify":
			if err := v.Decode(&t.InsecureSkipVerify); err != nil {
				errs = append(errs, &Error{File: path, Line: v.Line, Col: v.Column, Msg: fmt.Sprintf("target %s: tls.insecure_skip_verify: want true or false", name)})
			}
		default:
			errs = append(errs, &Error{File: path, Line: k.Line, Col: k.Column, Msg: fmt.Sprintf("target %s: tls: unknown key %q", name, k.Value)})
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
