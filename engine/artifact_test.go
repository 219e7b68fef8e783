package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestArtifactWriter: what comes by Write or by ReadFrom, in pieces of any
// size, reaches the file whole and in order with its SHA-256, and no more
// than the buffers are held.
func TestArtifactWriter(t *testing.T) {
	data := make([]byte, 3*artifactBufs*artifactBufSize+12345)
	for i := range data {
		data[i] = byte(i * 31 / 7)
	}
	want := sha256.Sum256(data)
	feeds := map[string]func(w *artifactWriter) error{
		"Write": func(w *artifactWriter) error {
			for p := data; len(p) > 0; {
				k := min(len(p), 1+len(p)%70001)
				if _, err := w.Write(p[:k]); err != nil {
					return err
				}
				p = p[k:]
			}
			return nil
		},
		"ReadFrom": func(w *artifactWriter) error {
			n, err := w.ReadFrom(iotest.HalfReader(bytes.NewReader(data)))
			if n != int64(len(data)) {
				t.Errorf("ReadFrom read %d bytes, want %d", n, len(data))
			}
			return err
		},
		"empty": nil,
	}
	for name, feed := range feeds {
		t.Run(name, func(t *testing.T) {
			var file bytes.Buffer
			w := newArtifactWriter(&file)
			exp, sum := data, want
			if feed == nil {
				exp, sum = nil, sha256.Sum256(nil)
			} else if err := feed(w); err != nil {
				t.Fatal(err)
			}
			got, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(file.Bytes(), exp) {
				t.Errorf("file has %d bytes, not the %d sent", file.Len(), len(exp))
			}
			if got != hex.EncodeToString(sum[:]) {
				t.Errorf("sha256 %s, want %x", got, sum)
			}
		})
	}
}

type brokenFile struct{ n int }

var errFull = errors.New("no space left on device")

func (f *brokenFile) Write(p []byte) (int, error) {
	if f.n++; f.n > 2 {
		return 0, errFull
	}
	return len(p), nil
}

// TestArtifactWriterFileError: the first failed write to the file is
// returned by a later Write or ReadFrom (the download stops) and by Close.
func TestArtifactWriterFileError(t *testing.T) {
	t.Run("Write", func(t *testing.T) {
		w := newArtifactWriter(&brokenFile{})
		chunk := make([]byte, artifactBufSize)
		var err error
		for i := 0; i < 4*artifactBufs && err == nil; i++ {
			_, err = w.Write(chunk)
		}
		if !errors.Is(err, errFull) {
			t.Errorf("Write = %v, want the file's error", err)
		}
		if _, err := w.Close(); !errors.Is(err, errFull) {
			t.Errorf("Close = %v, want the file's error", err)
		}
	})
	t.Run("ReadFrom", func(t *testing.T) {
		w := newArtifactWriter(&brokenFile{})
		// far more than the buffers hold, so the download must stop
		src := io.LimitReader(zeros{}, int64(64*artifactBufs*artifactBufSize))
		n, err := w.ReadFrom(src)
		if !errors.Is(err, errFull) || n >= int64(64*artifactBufs*artifactBufSize) {
			t.Errorf("ReadFrom = %d, %v: want to stop with the file's error", n, err)
		}
		if _, err := w.Close(); !errors.Is(err, errFull) {
			t.Errorf("Close = %v, want the file's error", err)
		}
	})
	t.Run("read error", func(t *testing.T) {
		w := newArtifactWriter(io.Discard)
		errCut := errors.New("connection reset")
		_, err := w.ReadFrom(io.MultiReader(bytes.NewReader(make([]byte, 1000)), iotest.ErrReader(errCut)))
		if err != errCut {
			t.Errorf("ReadFrom = %v, want the reader's error as it is", err)
		}
		if _, err := w.Close(); err != nil {
			t.Errorf("Close = %v after a read error", err)
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
