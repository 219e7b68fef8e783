package runfolder_test

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/runfolder"
)

// TestBundle: the bundle holds every file of the folder under the
// folder's name, byte for byte, with no owner, and a failed bundle leaves
// no partial archive.
func TestBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "20261127T100233Z-basic-fw1")
	files := map[string]string{
		"manifest.json":         "{}\n",
		"summary.md":            "# basic\n",
		"journal.jsonl":         `{"event":"run-start"}` + "\n",
		"steps/001-clock.txt":   "Fri Nov 27 10:02:34 PST 2026\n",
		"artifacts/ts.tgz":      strings.Repeat("\x00\x01binary", 40000),
		"steps/002-empty.txt":   "",
		"artifacts/empty/.keep": "",
	}
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runfolder.Bundle(dir + "/")
	if err != nil {
		t.Fatal(err)
	}
	if out != dir+".tar.gz" {
		t.Errorf("Bundle wrote %s, want %s", out, dir+".tar.gz")
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	got := map[string]string{}
	var dirs []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uname != "" || h.Gname != "" || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: owner %q/%q %d/%d, want none", h.Name, h.Uname, h.Gname, h.Uid, h.Gid)
		}
		name, ok := strings.CutPrefix(h.Name, filepath.Base(dir)+"/")
		if h.Typeflag == tar.TypeDir {
			dirs = append(dirs, h.Name)
			continue
		}
		if !ok {
			t.Errorf("member %s is not under %s/", h.Name, filepath.Base(dir))
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got[name] = string(b)
	}
	if !maps.Equal(got, files) {
		t.Errorf("members %q, want %q", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(files)))
	}
	base := filepath.Base(dir)
	for _, d := range []string{base, base + "/steps", base + "/artifacts", base + "/artifacts/empty"} {
		if !slices.Contains(dirs, d) {
			t.Errorf("no directory member %s in %q", d, dirs)
		}
	}

	missing := filepath.Join(t.TempDir(), "gone")
	if _, err := runfolder.Bundle(missing); err == nil {
		t.Error("Bundle of a missing folder: no error")
	}
	if _, err := os.Stat(missing + ".tar.gz"); !os.IsNotExist(err) {
		t.Errorf("a failed bundle left %s.tar.gz (%v)", missing, err)
	}
}
