package runfolder

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileAsOSWriteFile: writeFile, and a folder's dirFD.writeFile
// (the folder held open, or closed again), leave the file os.WriteFile
// leaves (bytes, mode under the same umask, an old longer file truncated)
// and fail as it does, naming the path.
func TestWriteFileAsOSWriteFile(t *testing.T) {
	writers := map[string]func(dir, rel string, b []byte) error{
		"path": func(dir, rel string, b []byte) error { return writeFile(filepath.Join(dir, rel), b, 0o644) },
		"at": func(dir, rel string, b []byte) error {
			d := openDir(dir)
			defer d.close()
			return d.writeFile(dir, rel, b, 0o644)
		},
		"at closed": func(dir, rel string, b []byte) error {
			d := openDir(dir)
			d.close()
			return d.writeFile(dir, rel, b, 0o644)
		},
	}
	for name, write := range writers {
		t.Run(name, func(t *testing.T) { testWriteFile(t, write) })
	}
}

func testWriteFile(t *testing.T, write func(dir, rel string, b []byte) error) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "steps"), 0o755); err != nil {
		t.Fatal(err)
	}
	long := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: more than one write may take
	for _, b := range [][]byte{long, []byte("Name: eth1/1\nState: up\n"), {}} {
		ours, theirs := filepath.Join(dir, "steps", "ours"), filepath.Join(dir, "theirs")
		if err := write(dir, "steps/ours", b); err != nil {
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
	err := write(dir, "no such dir/out", []byte("x"))
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != missing || pe.Op != "open" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("writeFile(%q) = %v, want os.WriteFile's *fs.PathError open %[1]q: not exist", missing, err)
	}
	if want := os.WriteFile(missing, []byte("x"), 0o644); err == nil || err.Error() != want.Error() {
		t.Errorf("error %q, os.WriteFile's %q", err, want)
	}
}
