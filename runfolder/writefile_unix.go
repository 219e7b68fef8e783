//go:build unix

package runfolder

import (
	"io"
	"os"
	"syscall"
)

// writeFile is os.WriteFile(name, b, perm) in the fewest system calls:
// open, write (again after a short write or EINTR), close. os.OpenFile
// adds, per file, a nonblocking fcntl pair and an epoll registration that
// fails on a regular file; at one output file a step that was a third of
// the run's own CPU. The bytes, the mode (less the umask) and the
// *os.PathError on failure are os.WriteFile's.
func writeFile(name string, b []byte, perm os.FileMode) error {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	for len(b) > 0 {
		n, werr := syscall.Write(fd, b)
		if werr == syscall.EINTR {
			continue
		}
		if werr != nil {
			err = &os.PathError{Op: "write", Path: name, Err: werr}
			break
		}
		if n == 0 {
			err = &os.PathError{Op: "write", Path: name, Err: io.ErrUnexpectedEOF}
			break
		}
		b = b[n:]
	}
	// Close is not retried on EINTR: on Linux the descriptor is gone either way.
	if cerr := syscall.Close(fd); cerr != nil && err == nil {
		err = &os.PathError{Op: "close", Path: name, Err: cerr}
	}
	return err
}
