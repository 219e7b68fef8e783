package runtest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/runtest"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports/replay"
)

// lab copies testdata/lab into a temporary directory and returns it.
func lab(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir("testdata/lab", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/lab", p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func names(cs []runtest.Case) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestFind(t *testing.T) {
	dir := lab(t)
	up := filepath.ToSlash(filepath.Join(dir, "testdata/tunnel-check/up.yaml"))
	down := filepath.ToSlash(filepath.Join(dir, "testdata/tunnel-check/down.yaml"))
	for _, tc := range []struct {
		name  string
		paths []string
		want  []string
		pb    bool
	}{
		{"playbook", []string{filepath.Join(dir, "tunnel-check.yaml")}, []string{down, up}, true},
		{"directory", []string{dir}, []string{down, up}, false},
		{"cassette", []string{up}, []string{up}, false},
		{"expectations", []string{filepath.Join(dir, "testdata/tunnel-check/up.expect.yaml")}, []string{up}, false},
		{"once each", []string{up, dir, up}, []string{up, down}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := runtest.Find(tc.paths...)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(cs); !slices.Equal(got, tc.want) {
				t.Errorf("cases %q, want %q", got, tc.want)
			}
			if (cs[0].Playbook != "") != tc.pb {
				t.Errorf("Playbook = %q", cs[0].Playbook)
			}
			if !strings.HasSuffix(cs[0].Expect, ".expect.yaml") {
				t.Errorf("Expect = %q", cs[0].Expect)
			}
		})
	}
}

// TestFindSkipsOtherTestdata: a directory search enters a testdata/ folder
// only for the testdata/NAME/ of a playbook NAME.yaml beside it, so other
// packages' test data (a Go repository's pkg/testdata/) is not taken for
// playbook cases. The testdata folder given itself is searched.
func TestFindSkipsOtherTestdata(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "playbooks")
	if err := os.CopyFS(dir, os.DirFS(lab(t))); err != nil {
		t.Fatal(err)
	}
	cas, err := os.ReadFile(filepath.Join(dir, "testdata/tunnel-check/up.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"pkg/testdata/stray.yaml",              // a package's test data
		"playbooks/testdata/orphan/stray.yaml", // no playbooks/orphan.yaml
		"playbooks/testdata/stray.yaml",        // loose in testdata/
		"pkg/testdata/tunnel-check/stray.yaml", // no pkg/tunnel-check.yaml
	} {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, cas, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := runtest.Find(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.ToSlash(filepath.Join(dir, "testdata/tunnel-check/down.yaml")),
		filepath.ToSlash(filepath.Join(dir, "testdata/tunnel-check/up.yaml")),
	}
	if got := names(cs); !slices.Equal(got, want) {
		t.Errorf("cases %q, want %q", got, want)
	}
	// Named itself, a testdata folder is searched like any directory.
	cs, err = runtest.Find(filepath.Join(root, "pkg/testdata"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Errorf("pkg/testdata: cases %q, want its 2 cassettes", names(cs))
	}
}

func TestFindBadInput(t *testing.T) {
	dir := t.TempDir()
	pb := filepath.Join(dir, "lonely.yaml")
	if err := os.WriteFile(pb, []byte("name: lonely\ntitle: x\nsteps:\n  - run: show clock\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, msg string
	}{
		{filepath.Join(dir, "nope"), "nope: no such file or directory"},
		{pb, "playbook " + pb + " has no cases: record one into " + filepath.Join(dir, "testdata", "lonely") + "/"},
		{dir, "no cassettes found in " + dir},
	} {
		_, err := runtest.Find(tc.path)
		if !errors.Is(err, runtest.ErrInput) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Find(%s) = %v, want ErrInput with %q", tc.path, err, tc.msg)
		}
	}
}

func TestLocatePlaybook(t *testing.T) {
	dir := lab(t)
	cas := filepath.Join(dir, "testdata/tunnel-check/up.yaml")
	if got, want := runtest.LocatePlaybook(cas, "tunnel-check"), filepath.Join(dir, "testdata/tunnel-check/../../tunnel-check.yaml"); filepath.Clean(got) != filepath.Clean(want) {
		t.Errorf("LocatePlaybook = %q, want %q", got, want)
	}
	// A cassette named after its playbook is not taken for the playbook.
	if got := runtest.LocatePlaybook(cas, "up"); got != "" {
		t.Errorf("LocatePlaybook found the cassette itself: %q", got)
	}
	// playbooks/NAME.yaml in a parent directory is found too.
	if err := os.MkdirAll(filepath.Join(dir, "playbooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Rename(filepath.Join(dir, "tunnel-check.yaml"), filepath.Join(dir, "playbooks", "tunnel-check.yaml"))
	if got := runtest.LocatePlaybook(cas, "tunnel-check"); !strings.HasSuffix(filepath.ToSlash(got), "/playbooks/tunnel-check.yaml") {
		t.Errorf("LocatePlaybook = %q, want playbooks/tunnel-check.yaml", got)
	}
	// The search stops at a repository's root.
	if err := os.Mkdir(filepath.Join(dir, "testdata", ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := runtest.LocatePlaybook(cas, "tunnel-check"); got != "" {
		t.Errorf("LocatePlaybook crossed .git: %q", got)
	}
}

func TestRunPassFailUpdate(t *testing.T) {
	dir := lab(t)
	ctx := context.Background()
	cs, err := runtest.Find(filepath.Join(dir, "tunnel-check.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	o := runtest.Options{TempDir: t.TempDir()}
	for _, c := range cs {
		if out := runtest.Run(ctx, c, o); !out.Passed() {
			t.Fatalf("%s: %v\n%s", c.Name, out.Err, out.Diff)
		}
	}
	down := cs[0]
	got := runtest.Run(ctx, down, o).Got
	if got.ExitCode != 0 || len(got.Findings) != 1 || got.Findings[0] != (runtest.Finding{ID: "no-sa", Severity: "critical"}) ||
		!slices.Equal(got.Undo, []string{"debug ike global on normal"}) || !slices.Equal(got.Cleanup, []string{"show clock"}) {
		t.Errorf("down gave %+v", got)
	}

	// An expectation that no longer holds fails with a diff.
	b, _ := os.ReadFile(down.Expect)
	edited := strings.Replace(string(b), "severity: critical", "severity: warning", 1)
	if err := os.WriteFile(down.Expect, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runtest.Run(ctx, down, o)
	if out.Passed() || out.Err != nil {
		t.Fatalf("passed %v, err %v", out.Passed(), out.Err)
	}
	for _, want := range []string{"--- " + down.Expect + "\n", "+++ replay of " + down.Cassette + "\n", "-    severity: warning\n", "+    severity: critical\n"} {
		if !strings.Contains(out.Diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, out.Diff)
		}
	}

	// Update writes what the replay gives; the case then passes.
	if out := runtest.Update(ctx, down, o); out.Err != nil || out.Diff == "" {
		t.Fatalf("Update: %v, diff %q", out.Err, out.Diff)
	}
	if b2, _ := os.ReadFile(down.Expect); string(b2) != string(b) {
		t.Errorf("Update wrote\n%s\nwant\n%s", b2, b)
	}
	if out := runtest.Run(ctx, down, o); !out.Passed() {
		t.Errorf("after Update: %v\n%s", out.Err, out.Diff)
	}

	// Without expectations a case fails, and Update writes them.
	os.Remove(down.Expect)
	if out := runtest.Run(ctx, down, o); !errors.Is(out.Err, runtest.ErrNoExpectation) || out.Got == nil {
		t.Errorf("no expectations: %v", out.Err)
	}
	if out := runtest.Update(ctx, down, o); out.Err != nil {
		t.Fatal(out.Err)
	}
	if b2, _ := os.ReadFile(down.Expect); string(b2) != string(b) {
		t.Errorf("Update wrote\n%s\nwant\n%s", b2, b)
	}
}

func TestRunStrictAndByCommand(t *testing.T) {
	dir := lab(t)
	ctx := context.Background()
	// Swap two exchanges of the recording: strict replay fails, by-command
	// replay still answers each command.
	cas := filepath.Join(dir, "testdata/tunnel-check/up.yaml")
	c, err := replay.Load(cas)
	if err != nil {
		t.Fatal(err)
	}
	c.Exchanges[1], c.Exchanges[2] = c.Exchanges[2], c.Exchanges[1]
	if err := replay.Save(cas, c); err != nil {
		t.Fatal(err)
	}
	cs, _ := runtest.Find(cas)
	strict := runtest.Run(ctx, cs[0], runtest.Options{TempDir: t.TempDir()})
	if strict.Passed() || !errors.Is(strict.RunErr, replay.ErrMismatch) || strict.Got.ExitCode == 0 {
		t.Errorf("strict: passed %v, run error %v, got %+v", strict.Passed(), strict.RunErr, strict.Got)
	}
	by := runtest.Run(ctx, cs[0], runtest.Options{TempDir: t.TempDir(), Mode: replay.ByCommand})
	if !by.Passed() {
		t.Errorf("by command: %v %v\n%s", by.Err, by.RunErr, by.Diff)
	}
}

func TestRunBadInput(t *testing.T) {
	dir := lab(t)
	ctx := context.Background()
	write := func(name, body string) runtest.Case {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		cs, err := runtest.Find(p)
		if err != nil {
			t.Fatal(err)
		}
		return cs[0]
	}
	for _, tc := range []struct {
		name, body, msg string
		is              error
	}{
		{"v2.yaml", "version: 2\nplaybook: tunnel-check\nexchanges: []\n", "version 2 is newer than this runbook reads (1): upgrade runbook to replay it", replay.ErrVersion},
		{"v0.yaml", "version: 0\nplaybook: tunnel-check\nexchanges: []\n", "version 0 is not a cassette version", replay.ErrVersion},
		{"anon.yaml", "version: 1\nexchanges: []\n", "no `playbook:` in its header", nil},
		{"orphan.yaml", "version: 1\nplaybook: nowhere\nexchanges: []\n", `records playbook "nowhere": no nowhere.yaml beside it or in a parent directory, and no built-in`, nil},
		{"broken.yaml", "version: 1\nplaybook: tunnel-check\nexchanges:\n\t- command: x\n", "broken.yaml:4:1: a tab in the indentation: YAML indents with spaces only", nil},
		{"params.yaml", "version: 1\nplaybook: tunnel-check\nparams: {tunnel: x, peer_ip: not-an-ip}\nexchanges: []\n", `param peer_ip: "not-an-ip" is not an IP address`, playbook.ErrParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runtest.Run(ctx, write(tc.name, tc.body), runtest.Options{TempDir: t.TempDir()})
			if !errors.Is(out.Err, runtest.ErrInput) || !strings.Contains(out.Err.Error(), tc.msg) {
				t.Errorf("err %v, want ErrInput with %q", out.Err, tc.msg)
			}
			if tc.is != nil && !errors.Is(out.Err, tc.is) {
				t.Errorf("err %v does not wrap %v", out.Err, tc.is)
			}
		})
	}
	// A typo in an expectations file is reported, not ignored.
	cs, _ := runtest.Find(filepath.Join(dir, "testdata/tunnel-check/up.yaml"))
	if err := os.WriteFile(cs[0].Expect, []byte("exit_code: 0\ncomands: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runtest.Run(ctx, cs[0], runtest.Options{TempDir: t.TempDir()})
	if want := cs[0].Expect + `:2:1: unknown key "comands"`; !errors.Is(out.Err, runtest.ErrInput) || !strings.Contains(out.Err.Error(), want) {
		t.Errorf("typo: %v, want %q", out.Err, want)
	}
	// So is a syntax error, at its place.
	if err := os.WriteFile(cs[0].Expect, []byte("exit_code: 0\ncommands: [show clock\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = runtest.Run(ctx, cs[0], runtest.Options{TempDir: t.TempDir()})
	if want := cs[0].Expect + ":2:11: this [ is not closed"; !errors.Is(out.Err, runtest.ErrInput) || !strings.Contains(out.Err.Error(), want) {
		t.Errorf("syntax: %v, want %q", out.Err, want)
	}
}

func TestBindCassette(t *testing.T) {
	pb, err := playbook.Load("testdata/lab/tunnel-check.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := &replay.Cassette{Header: replay.Header{
		Params:    map[string]string{"tunnel": "HOST-3", "peer_ip": "IP-2", "token": "env:REAL_TOKEN"},
		Redaction: replay.RedactionInfo{Patterns: []replay.PatternInfo{{Name: "IP", Regexp: `\d+\.\d+\.\d+\.\d+`}, {Name: "HOST", Regexp: `fw\d+`}}},
	}}
	params, vals, err := runtest.BindCassette(pb, c)
	if err != nil {
		t.Fatal(err)
	}
	if params["peer_ip"] != "IP-2" || params["tunnel"] != "HOST-3" {
		t.Errorf("placeholders not kept: %v", params)
	}
	ref, ok := params["token"].(secret.Ref)
	if !ok || ref.Kind != "env" || ref.Name == "REAL_TOKEN" || vals[ref.Name] == "" {
		t.Errorf("secret param bound to %v (values %v)", params["token"], vals)
	}
	// A placeholder of a pattern the cassette does not declare is checked
	// as the value it is.
	c.Redaction.Patterns = c.Redaction.Patterns[1:]
	if _, _, err := runtest.BindCassette(pb, c); !errors.Is(err, playbook.ErrParams) {
		t.Errorf("undeclared placeholder: %v", err)
	}
}

func TestExpectationEncodeIsCanonical(t *testing.T) {
	a := &runtest.Expectation{ExitCode: 1, Commands: []string{"undo: x", "show clock"}}
	b := &runtest.Expectation{ExitCode: 1, Commands: []string{"undo: x", "show clock"}, Undo: []string{}}
	if string(a.Encode()) != string(b.Encode()) {
		t.Errorf("nil and empty lists encode differently")
	}
	p := filepath.Join(t.TempDir(), "x.expect.yaml")
	if err := runtest.WriteExpectation(p, a); err != nil {
		t.Fatal(err)
	}
	back, err := runtest.LoadExpectation(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := runtest.Diff("a", a, "b", back); d != "" {
		t.Errorf("round trip differs:\n%s", d)
	}
}
