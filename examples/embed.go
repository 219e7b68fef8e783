package examples

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/runbook-dev/runbook/transports/replay"
)

//go:embed cassettes
var files embed.FS

// FS holds the shipped cassettes under cassettes/.
var FS fs.FS = files

// Cassette returns the shipped recording cassettes/<name>.yaml: for a
// playbook name, the session its demo target replays.
func Cassette(name string) (*replay.Cassette, error) {
	p := path.Join("cassettes", strings.TrimSuffix(name, ".yaml")+".yaml")
	b, err := fs.ReadFile(files, p)
	if err != nil {
		return nil, err
	}
	return replay.Decode(p, b)
}

// Names lists the shipped cassettes, without .yaml.
func Names() []string {
	ents, _ := fs.ReadDir(files, "cassettes")
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
