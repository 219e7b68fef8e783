package runfolder

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
)

// Bundle packs the run folder dir as dir.tar.gz (run --bundle) and
// returns that path. Each file is streamed into the tar and the gzip as
// it is read, so memory stays bounded whatever the folder holds; members
// are named <folder>/..., with no owner names or ids. On an error the
// partial archive is removed.
func Bundle(dir string) (string, error) {
	dir = filepath.Clean(dir)
	out := dir + ".tar.gz"
	f, err := os.Create(out)
	if err != nil {
		return "", err
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	base := filepath.Dir(dir)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		h.Uname, h.Gname, h.Uid, h.Gid = "", "", 0, 0
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	for _, c := range []io.Closer{tw, zw, f} {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.Remove(out)
		return "", err
	}
	return out, nil
}
