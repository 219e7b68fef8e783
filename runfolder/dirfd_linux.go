package runfolder

import (
	"os"
	"path/filepath"
	"syscall"
)

// dirFD is the run folder held open while the run writes it, so that each
// step's output file is created relative to it (openat) instead of by the
// folder's whole path: one or two names for the kernel to look up, not
// every directory from the root or the working directory to the folder.
// fd is -1 when the folder could not be opened, or once it is closed;
// writeFile then takes the path as before.
type dirFD struct{ fd int }

// openDir opens dir for writeFile; an error leaves the path to be used.
func openDir(dir string) dirFD {
	for {
		fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return dirFD{-1}
		}
		return dirFD{fd}
	}
}

// close closes the folder; writeFile then takes the path.
func (d *dirFD) close() {
	if d.fd >= 0 {
		syscall.Close(d.fd)
		d.fd = -1
	}
}

// writeFile is os.WriteFile of filepath.Join(dir, rel), dir being the
// folder d holds open; errors name that path, as os.WriteFile's would.
func (d dirFD) writeFile(dir, rel string, b []byte, perm os.FileMode) error {
	if d.fd < 0 {
		return writeFile(filepath.Join(dir, rel), b, perm)
	}
	var fd int
	var err error
	for {
		fd, err = syscall.Openat(d.fd, rel, writeFlags, uint32(perm.Perm()))
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Join(dir, rel), Err: err}
	}
	if op, err := writeClose(fd, b); err != nil {
		return &os.PathError{Op: op, Path: filepath.Join(dir, rel), Err: err}
	}
	return nil
}
