//go:build !unix

package runfolder

import "os"

// writeFile is os.WriteFile; writefile_unix.go has the cheaper one.
func writeFile(name string, b []byte, perm os.FileMode) error {
	return os.WriteFile(name, b, perm)
}
