package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The examples of the documentation run as written: every fenced ```sh
// block of README.md and docs/*.md, and every paragraph of the Examples
// of every command's --help, runs in a scratch copy of the repository
// with this binary as `runbook` on $PATH, and must exit 0. Examples reach
// the demo target, the shipped cassettes and examples/; none reaches a
// network beyond loopback.
//
// An example that cannot run here says so with a marker, and is reported
// as skipped with its reason, never left out silently:
//
//   - Markdown: the line right above the fence is `<!-- needs: REASON -->`;
//   - --help: a comment line of the paragraph (lines up to a blank line)
//     holds `(needs: REASON)`, e.g. `# A real firewall (needs: fw1 in an
//     inventory)`.
//
// An example that needs a tool (jq, ssh) is skipped, saying so, where the
// tool is not installed.

// docExample is one runnable example and where it is written.
type docExample struct {
	where string // file:line, or "runbook run --help"
	text  string // shell text
	needs string // the marker's reason; "" runs it
}

var (
	needsComment = regexp.MustCompile(`^<!--\s*needs:\s*(.*?)\s*-->$`)
	needsHelp    = regexp.MustCompile(`\(needs:\s*([^)]*)\)`)
)

// markdownExamples extracts the ```sh blocks of a Markdown file.
func markdownExamples(t *testing.T, path, name string) []docExample {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []docExample
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(fence, "```") {
			continue
		}
		info := strings.TrimPrefix(fence, "```")
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		if info != "sh" {
			continue
		}
		ex := docExample{where: fmt.Sprintf("%s:%d", name, start+1), text: strings.Join(body, "\n")}
		for j := start - 1; j >= 0; j-- {
			if l := strings.TrimSpace(lines[j]); l != "" {
				if m := needsComment.FindStringSubmatch(l); m != nil {
					ex.needs = m[1]
				}
				break
			}
		}
		out = append(out, ex)
	}
	return out
}

// helpExamples extracts the Examples of every command, one example per
// paragraph.
func helpExamples(root *cobra.Command) []docExample {
	var out []docExample
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		if c.Example != "" {
			for _, para := range strings.Split(c.Example, "\n\n") {
				ex := docExample{where: c.CommandPath() + " --help", text: para}
				for _, l := range strings.Split(para, "\n") {
					l = strings.TrimSpace(l)
					if m := needsHelp.FindStringSubmatch(l); strings.HasPrefix(l, "#") && m != nil {
						ex.needs = m[1]
					}
				}
				out = append(out, ex)
			}
		}
		for _, s := range c.Commands() {
			visit(s)
		}
	}
	visit(root)
	return out
}

// scratchRepo copies the repository at root (without .git and run
// folders) into a new directory, with an empty .git so it is a
// repository's root for playbook lookup.
func scratchRepo(t *testing.T, root string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == ".git" && !d.IsDir() {
			return nil // a worktree's .git file
		}
		if d.IsDir() {
			if rel == ".git" || rel == "runs" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
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
	if err := os.Mkdir(filepath.Join(dst, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// tools are the commands besides runbook an example may call; one that is
// not installed skips the example.
var tools = []string{"jq", "ssh"}

func TestDocExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every documented example (-short)")
	}
	if _, err := exec.LookPath("runbook"); err != nil {
		t.Fatalf("runbook is not on $PATH (TestMain puts this binary there): %v", err)
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the examples")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	exs := markdownExamples(t, filepath.Join(root, "README.md"), "README.md")
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, d := range docs {
		exs = append(exs, markdownExamples(t, d, "docs/"+filepath.Base(d))...)
	}
	exs = append(exs, helpExamples(newRootCmd(defaultStreams()))...)
	ran := 0
	for i, ex := range exs {
		name := fmt.Sprintf("%02d %s", i, ex.where)
		t.Run(name, func(t *testing.T) {
			if ex.needs != "" {
				t.Skipf("%s: not run, needs %s:\n%s", ex.where, ex.needs, ex.text)
			}
			for _, tool := range tools {
				if regexp.MustCompile(`(^|[|;&(]\s*|\n\s*)` + tool + `\s`).MatchString(ex.text) {
					if _, err := exec.LookPath(tool); err != nil {
						t.Skipf("%s: %s is not installed", ex.where, tool)
					}
				}
			}
			ran++
			dir := scratchRepo(t, root)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bash, "-e", "-o", "pipefail", "-c", ex.text)
			cmd.Dir = dir
			cmd.Env = exampleEnv(t)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Errorf("%s: %v\n--- example\n%s\n--- output\n%s", ex.where, err, ex.text, out.String())
			}
		})
	}
	if ran < 10 {
		t.Errorf("only %d documented examples ran: is the extraction broken?", ran)
	}
}

// exampleEnv is the environment examples run in: this process's, with a
// home of their own (no ~/.config/runbook inventory, no known_hosts of the
// user) and no inventory from the environment.
func exampleEnv(t *testing.T) []string {
	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "RUNBOOK_INVENTORY", "XDG_CONFIG_HOME":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

// TestSimFlagsDocumented: docs/simulator.md names every flag of
// `runbook sim`.
func TestSimFlagsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/simulator.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	newSimCmd(defaultStreams()).Flags().VisitAll(func(f *pflag.Flag) {
		n++
		if f.Name != "help" && !strings.Contains(string(b), "`--"+f.Name) {
			t.Errorf("docs/simulator.md does not name --%s (%s)", f.Name, f.Usage)
		}
	})
	if n < 10 {
		t.Fatalf("runbook sim has %d flags: wrong command?", n)
	}
}
