package examples_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/examples"
	"github.com/runbook-dev/runbook/observe"
	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// expectation is how the replay of one cassette must end.
type expectation struct {
	exit     int
	findings []string
}

// expected lists every shipped cassette: a cassette without an entry fails
// TestReplayCassettes, so none is replayed without its outcome pinned.
func expected() map[string]expectation {
	m := map[string]expectation{}
	for _, c := range simCases {
		m[c.name] = expectation{exit: c.exit, findings: c.findings}
	}
	for _, c := range scratchCases {
		m[c.name] = expectation{exit: c.exit, findings: c.findings}
	}
	return m
}

// loadPlaybook finds the playbook a cassette was recorded with: a built-in,
// else one of examples/playbooks/.
func loadPlaybook(t *testing.T, name string) (*playbook.Playbook, string) {
	t.Helper()
	if _, ok := playbooks.Lookup(name); ok {
		pb, err := playbooks.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		return pb, "built-in " + name
	}
	p := filepath.Join("playbooks", name+".yaml")
	pb, err := playbook.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return pb, "file " + p
}

// replayRun replays c strictly through the engine with the parameters
// stored in it and --yes semantics.
func replayRun(t *testing.T, c *replay.Cassette) (*engine.Result, *logged) {
	t.Helper()
	return replayRunObserved(t, c, nil)
}

// replayRunObserved is replayRun with obs observing the run's events too.
func replayRunObserved(t *testing.T, c *replay.Cassette, obs engine.Observer) (*engine.Result, *logged) {
	t.Helper()
	pb, src := loadPlaybook(t, c.Playbook)
	params, err := pb.Bind(c.Params)
	if err != nil {
		t.Fatalf("cassette params: %v", err)
	}
	var tr *logged
	var out strings.Builder
	res := engine.New(engine.Options{
		Folder:    runfolder.Create,
		Playbook:  pb,
		Source:    src,
		Params:    params,
		Target:    c.Target.Name,
		Transport: "replay",
		Open: func(context.Context) (transports.Transport, error) {
			if tr != nil {
				t.Error("the engine reconnected during a replay")
			}
			tr = &logged{Transport: replay.New(c, replay.Options{Mode: replay.Strict})}
			return tr, nil
		},
		Dir:      filepath.Join(t.TempDir(), "run"),
		Yes:      true,
		Observer: engine.Observers{observe.NewText(&out, false), obs},
		Now:      func() time.Time { return start },
	}).Run(context.Background())
	if t.Failed() || res.Err != nil {
		t.Logf("engine output:\n%s", out.String())
	}
	return res, tr
}

// TestReplayCassettes replays every cassette under cassettes/ in strict
// mode: it ends with the exit code and findings pinned for it, sends
// exactly the golden sequence of commands (cleanup included) and consumes
// every recorded exchange.
func TestReplayCassettes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("cassettes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, ".expect.yaml") })
	if len(files) == 0 {
		t.Fatal("no cassettes")
	}
	exp := expected()
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			want, ok := exp[name]
			if !ok {
				t.Fatalf("cassette %s has no expectation: add it to simCases or scratchCases", name)
			}
			c, err := replay.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			res, tr := replayRun(t, c)
			if res.ExitCode != want.exit {
				t.Fatalf("exit code %d (status %s, err %v), want %d", res.ExitCode, res.Status, res.Err, want.exit)
			}
			if n := tr.Remaining(); n != 0 {
				t.Errorf("%d recorded exchanges not replayed", n)
			}
			checkFindings(t, res.Manifest, want.findings)
			got := tr.cmds
			if *update {
				writeGolden(t, name, got)
			}
			checkGolden(t, name, got)
			if len(res.Pending) > 0 {
				t.Errorf("cleanup pending: %v", res.Pending)
			}
		})
	}
}

// TestCassetteParams checks that each playbook's own cassette, the one the
// demo target replays, holds every required parameter of the playbook.
func TestCassetteParams(t *testing.T) {
	for _, name := range playbooks.Names() {
		c, err := examples.Cassette(name)
		if err != nil {
			t.Errorf("built-in %s has no cassette: %v", name, err)
			continue
		}
		pb, err := playbooks.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if c.Playbook != name {
			t.Errorf("cassette %s was recorded with playbook %q", name, c.Playbook)
		}
		for _, p := range pb.Params {
			if _, ok := c.Params[p.Name]; p.Required && !ok {
				t.Errorf("cassette %s lacks required parameter %s", name, p.Name)
			}
		}
	}
}

// TestEmbedded checks that the embedded cassettes are the files on disk.
func TestEmbedded(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("cassettes", "*.yaml"))
	var disk []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".expect.yaml") {
			disk = append(disk, strings.TrimSuffix(filepath.Base(f), ".yaml"))
		}
	}
	slices.Sort(disk)
	if got := examples.Names(); !slices.Equal(got, disk) {
		t.Fatalf("Names() = %v, files %v", got, disk)
	}
	for _, n := range disk {
		c, err := examples.Cassette(n)
		if err != nil {
			t.Fatal(err)
		}
		d, err := replay.Load(filepath.Join("cassettes", n+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Exchanges) != len(d.Exchanges) || c.Playbook != d.Playbook || c.Path != "cassettes/"+n+".yaml" {
			t.Errorf("embedded %s differs from the file", n)
		}
	}
	for _, bad := range []string{"", "nope", "../embed", "cassettes/phase2-down"} {
		if _, err := examples.Cassette(bad); err == nil {
			t.Errorf("Cassette(%q) succeeded", bad)
		}
	}
}

// logged records every command that reaches the transport it wraps, in
// order: the exact sequence sent, cleanup included. Exports pulled by the
// transport are listed as "export CATEGORY [FILE]". It keeps the wrapped
// replay's virtual clock and export abilities.
type logged struct {
	*replay.Transport
	cmds []string
}

func (l *logged) Run(ctx context.Context, cmd transports.Command) (transports.Result, error) {
	l.cmds = append(l.cmds, cmd.CLI)
	return l.Transport.Run(ctx, cmd)
}

func (l *logged) Export(ctx context.Context, req transports.ExportRequest, w io.Writer) (transports.ExportInfo, error) {
	l.cmds = append(l.cmds, strings.TrimSpace("export "+req.Category+" "+req.File))
	return l.Transport.Export(ctx, req, w)
}

func checkFindings(t *testing.T, m *engine.Manifest, want []string) {
	t.Helper()
	var got []string
	for _, f := range m.Findings {
		got = append(got, f.ID)
	}
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("findings %v, want %v (not evaluated: %v)", got, want, m.Unevaluated)
	}
	if len(m.Unevaluated) > 0 {
		t.Errorf("findings not evaluated: %v", m.Unevaluated)
	}
}

func goldenPath(name string) string {
	return filepath.Join("testdata", "golden", name+".commands")
}

func writeGolden(t *testing.T, name string, cmds []string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(goldenPath(name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenPath(name), []byte(strings.Join(cmds, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func checkGolden(t *testing.T, name string, got []string) {
	t.Helper()
	b, err := os.ReadFile(goldenPath(name))
	if err != nil {
		t.Fatalf("%v (run go test ./examples -update)", err)
	}
	want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("commands differ from %s (run go test ./examples -update after checking why):\n%s", goldenPath(name), diff(want, got))
	}
}

// diff shows the first difference between two command lists.
func diff(want, got []string) string {
	for i := 0; i < len(want) || i < len(got); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			return fmt.Sprintf("  line %d:\n    want %q\n    got  %q", i+1, w, g)
		}
	}
	return ""
}
