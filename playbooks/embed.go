// Package playbooks holds the built-in playbooks, embedded in the binary:
// the *.yaml files of this directory, and the shared fragments they include
// under fragments/.
//
// It imports engine/playbook to load them, and nothing else of the project.
package playbooks

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// files embeds the whole directory: a "*.yaml" pattern would not compile
// while there is no built-in yet. Only *.yaml files at the top are
// playbooks; fragments/ holds what they include.
//
//go:embed *
var files embed.FS

// FS is the embedded directory, for playbook.LoadFS.
var FS fs.FS = files

// Set is a set of playbooks in a file system laid out like this directory:
// playbooks at the top, fragments under fragments/.
type Set struct {
	FS fs.FS
}

// Builtin is the set embedded in the binary.
var Builtin = Set{FS: FS}

// Info describes a built-in playbook.
type Info struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Path is the file within FS.
	Path string `json:"path"`
}

// Names lists the built-in playbooks, by name (the file name without .yaml),
// sorted.
func Names() []string { return Builtin.Names() }

// Lookup returns the path within FS of the built-in called name, with or
// without .yaml, and whether there is one.
func Lookup(name string) (string, bool) { return Builtin.Lookup(name) }

// Load loads the built-in called name (with or without .yaml). Positions in
// its errors name the embedded path, such as "phase2-down.yaml".
func Load(name string) (*playbook.Playbook, error) { return Builtin.Load(name) }

// List loads every built-in and gives its name and title. A built-in that
// does not load is an error: the binary was built from a broken tree.
func List() ([]Info, error) { return Builtin.List() }

// Fragments lists the built-in fragment files (fragments/*.yaml).
func Fragments() []string { return Builtin.Fragments() }

// Names lists the playbooks of s by name, sorted.
func (s Set) Names() []string {
	ents, _ := fs.ReadDir(s.FS, ".")
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	slices.Sort(out)
	return out
}

// Lookup returns the path within s.FS of the playbook called name, with or
// without .yaml.
func (s Set) Lookup(name string) (string, bool) {
	base := strings.TrimSuffix(name, ".yaml")
	if base == "" || strings.ContainsAny(base, `/\`) || !slices.Contains(s.Names(), base) {
		return "", false
	}
	return base + ".yaml", true
}

// Load loads the playbook of s called name.
func (s Set) Load(name string) (*playbook.Playbook, error) {
	p, ok := s.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no built-in playbook %q", strings.TrimSuffix(name, ".yaml"))
	}
	return playbook.LoadFS(s.FS, p)
}

// List loads every playbook of s and gives its name and title.
func (s Set) List() ([]Info, error) {
	var out []Info
	for _, n := range s.Names() {
		pb, err := s.Load(n)
		if err != nil {
			return nil, fmt.Errorf("built-in %s: %w", n, err)
		}
		out = append(out, Info{Name: n, Title: pb.Title, Path: n + ".yaml"})
	}
	return out, nil
}

// Fragments lists the fragment files of s (fragments/*.yaml).
func (s Set) Fragments() []string {
	ents, _ := fs.ReadDir(s.FS, "fragments")
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			out = append(out, path.Join("fragments", e.Name()))
		}
	}
	return out
}
