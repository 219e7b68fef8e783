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

// Info describes a built-in playbook.
type Info struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Path is the file within FS.
	Path string `json:"path"`
}

// Names lists the built-in playbooks, by name (the file name without .yaml),
// sorted.
func Names() []string { return names(FS) }

func names(fsys fs.FS) []string {
	ents, _ := fs.ReadDir(fsys, ".")
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	slices.Sort(out)
	return out
}

// Lookup returns the path within FS of the built-in called name, with or
// without .yaml, and whether there is one.
func Lookup(name string) (string, bool) { return lookup(FS, name) }

func lookup(fsys fs.FS, name string) (string, bool) {
	base := strings.TrimSuffix(name, ".yaml")
	if base == "" || strings.ContainsAny(base, `/\`) || !slices.Contains(names(fsys), base) {
		return "", false
	}
	return base + ".yaml", true
}

// Load loads the built-in called name (with or without .yaml). Positions in
// its errors name the embedded path, such as "phase2-down.yaml".
func Load(name string) (*playbook.Playbook, error) { return load(FS, name) }

func load(fsys fs.FS, name string) (*playbook.Playbook, error) {
	p, ok := lookup(fsys, name)
	if !ok {
		return nil, fmt.Errorf("no built-in playbook %q", strings.TrimSuffix(name, ".yaml"))
	}
	return playbook.LoadFS(fsys, p)
}

// List loads every built-in and gives its name and title. A built-in that
// does not load is an error: the binary was built from a broken tree.
func List() ([]Info, error) { return list(FS) }

func list(fsys fs.FS) ([]Info, error) {
	var out []Info
	for _, n := range names(fsys) {
		pb, err := load(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("built-in %s: %w", n, err)
		}
		out = append(out, Info{Name: n, Title: pb.Title, Path: n + ".yaml"})
	}
	return out, nil
}

// Fragments lists the fragment files within FS (fragments/*.yaml).
func Fragments() []string {
	ents, _ := fs.ReadDir(FS, "fragments")
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			out = append(out, path.Join("fragments", e.Name()))
		}
	}
	return out
}
