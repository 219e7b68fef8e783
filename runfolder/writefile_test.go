package runfolder

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileAsOSWriteFile: writeFile leaves the file os.WriteFile
// leaves (bytes, mode under the same umask, an old longer file truncated)
// and fails as it does, naming the path.
func TestWriteFileAsOSWriteFile(t *testing.T) {
	dir := t.TempDir()
	long := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: more than one write may take
	for _, b := range [][]byte{long, []byte("Name: eth1/1\nState: up\n"), {}} {
		ours, theirs := filepath.Join(dir, "ours"), filepath.Join(dir, "theirs")
		if err := writeFile(ours, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(theirs, b, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(ours)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%d bytes written, read back %d not the same", len(b), len(got))
		}
		so, err := os.Stat(ours)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(theirs)
		if err != nil {
			t.Fatal(err)
		}
		if so.Mode() != st.Mode() {
			t.Errorf("mode %v, os.WriteFile's %v", so.Mode(), st.Mode())
		}
		if so.Mode().Perm()&^0o644 != 0 {
			t.Errorf("mode %v, more than 0644", so.Mode())
		}
	}

	missing := filepath.Join(dir, "no such dir", "out")
	err := writeFile(missing, []byte("x"), 0o644)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != missing || pe.Op != "open" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("writeFile(%q) = %v, want os.WriteFile's *fs.PathError open %[1]q: not exist", missing, err)
	}
	if want := os.WriteFile(missing, []byte("x"), 0o644); err == nil || err.Error() != want.Error() {
		t.Errorf("error %q, os.WriteFile's %q", err, want)
	}
}
