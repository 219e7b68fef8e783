package examples

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/runbook-dev/runbook/transports/replay"
)

// files holds the shipped cassettes.
//
//go:embed cassettes
var files embed.FS

// FS is the embedded cassettes/ directory (cassettes/<name>.yaml).
var FS fs.FS = files

// Names lists the shipped cassettes by name (the file name without .yaml),
// sorted: one per built-in playbook, named after it ("phase2-down"), plus
// the unhappy cases ("phase2-down-no-sa").
func Names() []string {
	ents, _ := fs.ReadDir(files, "cassettes")
	var out []string
	for _, e := range ents {
		// X.expect.yaml beside a cassette holds its expectations (runbook test).
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") && !strings.HasSuffix(e.Name(), ".expect.yaml") {
			out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
		}
	}
	slices.Sort(out)
	return out
}

// Cassette returns the decoded cassette called name: for a playbook, its
// typical session, which the demo target replays (its Params hold every
// required parameter of the playbook). The cassette's Path is its embedded
// name, "cassettes/<name>.yaml"; it has no exports stored by path.
func Cassette(name string) (*replay.Cassette, error) {
	name = strings.TrimSuffix(name, ".yaml")
	if name == "" || strings.ContainsAny(name, `/\`) || !slices.Contains(Names(), name) {
		return nil, fmt.Errorf("examples: no cassette %q", name)
	}
	p := "cassettes/" + name + ".yaml"
	b, err := fs.ReadFile(files, p)
	if err != nil {
		return nil, fmt.Errorf("examples: %w", err)
	}
	c, err := replay.Decode(p, b)
	if err != nil {
		return nil, fmt.Errorf("examples: %w", err)
	}
	c.Path = p
	return c, nil
}
