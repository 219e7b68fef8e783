package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/schema"
)

// playbookSource says where a PLAYBOOK argument was found.
type playbookSource struct {
	builtin bool
	path    string // the file path, or the path within playbooks.FS
	src     []byte
}

func (s playbookSource) String() string {
	if s.builtin {
		return "built-in " + strings.TrimSuffix(s.path, ".yaml")
	}
	return "file " + s.path
}

// builtins is the set PLAYBOOK names are looked up in (tests replace it).
var builtins = playbooks.Builtin

// errNoPlaybook is returned when an argument is neither a file nor a
// built-in.
var errNoPlaybook = errors.New("no such playbook")

// findPlaybook locates a PLAYBOOK argument: an existing file wins, else the
// built-in of that name (with or without .yaml).
func findPlaybook(arg string) (playbookSource, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		b, err := os.ReadFile(arg)
		if err != nil {
			return playbookSource{}, fmt.Errorf("playbook %s: %w", arg, err)
		}
		return playbookSource{path: arg, src: b}, nil
	}
	if p, ok := builtins.Lookup(arg); ok {
		b, err := fs.ReadFile(builtins.FS, p)
		if err != nil {
			return playbookSource{}, fmt.Errorf("built-in %s: %w", arg, err)
		}
		return playbookSource{builtin: true, path: p, src: b}, nil
	}
	msg := fmt.Sprintf("%q is neither a file nor a built-in playbook", arg)
	if names := builtins.Names(); len(names) > 0 {
		msg += " (built-ins: " + strings.Join(names, ", ") + ")"
	}
	return playbookSource{}, fmt.Errorf("%w: %s", errNoPlaybook, msg)
}

// load checks and loads the playbook s names: the check run, show, test
// and validate all make (schema.Check: the loader and the schema).
func (s playbookSource) load() (*playbook.Playbook, error) {
	return schema.Check(s.path, s.src, func() (*playbook.Playbook, error) {
		if s.builtin {
			return playbook.LoadFS(builtins.FS, s.path)
		}
		return playbook.Load(s.path)
	})
}

// resolvePlaybook loads a PLAYBOOK argument (a path, or a built-in name with
// or without .yaml; an existing file wins) and says which it used: "file X"
// or "built-in X". A playbook with mistakes gives a playbook.ErrorList.
func resolvePlaybook(arg string) (*playbook.Playbook, string, error) {
	s, err := findPlaybook(arg)
	if err != nil {
		return nil, "", err
	}
	pb, err := s.load()
	if err != nil {
		return nil, s.String(), err
	}
	return pb, s.String(), nil
}
