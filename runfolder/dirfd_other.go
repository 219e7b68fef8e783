//go:build !linux

package runfolder

import (
	"os"
	"path/filepath"
)

// dirFD holds nothing here: writeFile takes the path (dirfd_linux.go
// opens relative to the folder).
type dirFD struct{}

func openDir(string) dirFD { return dirFD{} }

func (*dirFD) close() {}

func (dirFD) writeFile(dir, rel string, b []byte, perm os.FileMode) error {
	return writeFile(filepath.Join(dir, rel), b, perm)
}
