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
		fd, err = syscall.Open(name, writeFlags, uint32(perm.Perm()))
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	if op, err := writeClose(fd, b); err != nil {
		return &os.PathError{Op: op, Path: name, Err: err}
	}
	return nil
}

// writeFlags are os.WriteFile's, and close-on-exec as every os.OpenFile.
const writeFlags = syscall.O_WRONLY | syscall.O_CREAT | syscall.O_TRUNC | syscall.O_CLOEXEC

// writeClose writes b to the file fd, just opened, and closes it. On
// failure it returns what failed (write or close) and why, for the
// caller's *os.PathError: the path is built only then.
func writeClose(fd int, b []byte) (op string, err error) {
	for len(b) > 0 {
		n, werr := syscall.Write(fd, b)
		if werr == syscall.EINTR {
			continue
		}
		if werr != nil {
			op, err = "write", werr
			break
		}
		if n == 0 {
			op, err = "write", io.ErrUnexpectedEOF
			break
		}
		b = b[n:]
	}
	// Close is not retried on EINTR: on Linux the descriptor is gone either way.
	if cerr := syscall.Close(fd); cerr != nil && err == nil {
		op, err = "close", cerr
	}
	return op, err
}
