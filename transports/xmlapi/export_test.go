package xmlapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/peakrss"
	"github.com/runbook-dev/runbook/transports"
)

// techSupport makes f run a tech-support job that is ACT for acts polls,
// then FIN with result, then serves body under the given disposition.
// It returns a function that counts the status polls so far.
func techSupport(f *fakeFW, acts int, result, disposition string, body []byte) func() int {
	var n atomic.Int64
	f.exp = func(w http.ResponseWriter, form url.Values) {
		if form.Get("category") != "tech-support" {
			io.WriteString(w, `<response status="error" code="400"><msg>bad category</msg></response>`)
			return
		}
		switch form.Get("action") {
		case "":
			io.WriteString(w, `<response status="success" code="19"><result><msg><line>Exec job enqueued with jobid 42</line></msg><job>42</job></result></response>`)
		case "status":
			if form.Get("job-id") != "42" {
				io.WriteString(w, `<response status="error" code="400"><msg>no such job</msg></response>`)
				return
			}
			if int(n.Add(1)) <= acts {
				io.WriteString(w, `<response status="success"><result><job><id>42</id><status>ACT</status><result>PEND</result><progress>50</progress></job></result></response>`)
				return
			}
			fmt.Fprintf(w, `<response status="success"><result><job><id>42</id><status>FIN</status><result>%s</result><progress>100</progress><details><line>disk full</line></details></job></result></response>`, result)
		case "get":
			if form.Get("job-id") != "42" {
				io.WriteString(w, `<response status="error" code="400"><msg>no such job</msg></response>`)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			if disposition != "" {
				w.Header().Set("Content-Disposition", disposition)
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		}
	}
	return func() int { return int(n.Load()) }
}

func fastPoll(c *Client) { c.PollInterval, c.PollMax = time.Millisecond, 2*time.Millisecond }

func TestExportTechSupport(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	body := bytes.Repeat([]byte("tgz-bytes."), 10000)
	polls := techSupport(f, 3, "OK", `attachment; filename="../../etc/ts 2026.tgz"`, body)
	c := openFake(t, f, f.target())
	fastPoll(c)
	if !c.CanExport("tech-support") || !c.CanExport("filters-pcap") || !c.CanExport("filter-pcap") || c.CanExport("debug-pcap") {
		t.Error("CanExport: want tech-support and filters-pcap (alias filter-pcap) only")
	}
	var out bytes.Buffer
	var last, total int64 = -2, -2
	calls := 0
	info, err := c.Export(context.Background(), transports.ExportRequest{Category: "tech-support",
		Progress: func(d, tot int64) { last, total = d, tot; calls++ }}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), body) || info.Size != int64(len(body)) {
		t.Errorf("wrote %d bytes (info %d), want %d", out.Len(), info.Size, len(body))
	}
	if info.Name != "ts_2026.tgz" {
		t.Errorf("Name = %q, want ts_2026.tgz", info.Name)
	}
	if last != int64(len(body)) || total != int64(len(body)) || calls < 2 {
		t.Errorf("progress last (%d, %d) after %d calls", last, total, calls)
	}
	if polls() != 4 {
		t.Errorf("polled %d times, want 4 (3 ACT + FIN)", polls())
	}
	checkNoSecret(t, f)
}

func TestExportTechSupportFail(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	techSupport(f, 1, "FAIL", "", nil)
	c := openFake(t, f, f.target())
	fastPoll(c)
	var out bytes.Buffer
	_, err := c.Export(context.Background(), transports.ExportRequest{Category: "tech-support"}, &out)
	if !errors.Is(err, ErrJobFailed) {
		t.Fatalf("Export = %v, want ErrJobFailed", err)
	}
	if want := "xmlapi fw1: export tech-support: job 42: export job failed: result FAIL: disk full"; err.Error() != want {
		t.Errorf("error\n got %s\nwant %s", err, want)
	}
	if out.Len() != 0 {
		t.Error("bytes written for a failed job")
	}
}

func TestExportCancelWhilePolling(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	polls := techSupport(f, 1<<30, "OK", "", nil)
	c := openFake(t, f, f.target())
	fastPoll(c)
	ctx, cancel := context.WithCancel(context.Background())
	serve := f.exp
	f.exp = func(w http.ResponseWriter, form url.Values) {
		if polls() == 2 {
			cancel() // the operator gives up during the third poll
		}
		serve(w, form)
	}
	_, err := c.Export(ctx, transports.ExportRequest{Category: "tech-support"}, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Export = %v, want context.Canceled", err)
	}
	if polls() != 3 {
		t.Errorf("polled %d times, want 3", polls())
	}
}

func TestExportFiltersPcap(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	pcap := []byte("\xd4\xc3\xb2\xa1pcap-data")
	f.exp = func(w http.ResponseWriter, form url.Values) {
		if form.Get("category") != "filters-pcap" {
			io.WriteString(w, `<response status="error" code="400"><msg>bad category</msg></response>`)
			return
		}
		switch form.Get("from") {
		case "rx.pcap":
			w.Header().Set("Content-Disposition", "attachment; filename=rx.pcap")
			w.Write(pcap)
		case "big.pcap":
			w.Write(bytes.Repeat([]byte{1}, 1000)) // chunked: no Content-Length
		default:
			w.Header().Set("Content-Type", "application/octet-stream")
			io.WriteString(w, `<response status="error" code="7"><msg><line>File not found</line></msg></response>`)
		}
	}
	c := openFake(t, f, f.target())
	ctx := context.Background()

	var out bytes.Buffer
	info, err := c.Export(ctx, transports.ExportRequest{Category: "filters-pcap", File: "rx.pcap"}, &out)
	if err != nil || info.Name != "rx.pcap" || !bytes.Equal(out.Bytes(), pcap) {
		t.Errorf("Export rx.pcap = %+v, %v", info, err)
	}

	_, err = c.Export(ctx, transports.ExportRequest{Category: "filters-pcap", File: "none.pcap"}, io.Discard)
	var de *transports.DeviceError
	if !errors.As(err, &de) || de.Code != "7" || de.Message != "File not found" {
		t.Errorf("missing file = %v, want a DeviceError code 7", err)
	}

	out.Reset()
	info, err = c.Export(ctx, transports.ExportRequest{Category: "filters-pcap", File: "big.pcap", MaxBytes: 999}, &out)
	if !errors.Is(err, ErrTooLarge) || out.Len() > 999 {
		t.Errorf("over the limit = %v after %d bytes, want ErrTooLarge and at most 999 bytes", err, out.Len())
	}
	info, err = c.Export(ctx, transports.ExportRequest{Category: "filters-pcap", File: "big.pcap", MaxBytes: 1000}, io.Discard)
	if err != nil || info.Size != 1000 || info.Name != "big.pcap" {
		t.Errorf("at the limit = %+v, %v", info, err)
	}
	_, err = c.Export(ctx, transports.ExportRequest{Category: "debug-pcap", File: "ikemgr.pcap"}, io.Discard)
	if !errors.Is(err, transports.ErrNotSupported) {
		t.Errorf("debug-pcap = %v, want ErrNotSupported", err)
	}
}

func TestSafeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"techsupport.tgz", "techsupport.tgz"},
		{"../../etc/passwd", "passwd"},
		{`..\..\windows\system32`, "system32"},
		{"..", "fallback.bin"},
		{"/", "fallback.bin"},
		{"", "fallback.bin"},
		{".bashrc", "bashrc"},
		{"a\x00b\nc\x1b[31m.pcap", "abc_31m.pcap"},
		{"résumé.tgz", "r_sum_.tgz"},
		{"a b;rm -rf.tgz", "a_b_rm_-rf.tgz"},
		{"///", "fallback.bin"},
		{"***", "fallback.bin"},
		{strings.Repeat("a", 300) + ".tgz", strings.Repeat("a", 124) + ".tgz"},
	}
	for _, tt := range tests {
		if got := SafeName(tt.in, "fallback.bin"); got != tt.want {
			t.Errorf("SafeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := SafeName("..", "../x"); got != "x" {
		t.Errorf("unsafe fallback not made safe: %q", got)
	}
}

// patternReader yields n bytes of a fixed pattern without allocating them.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for i := range b {
		b[i] = byte(i)
	}
	p.left -= int64(len(b))
	return len(b), nil
}

// BenchmarkExport1GiB downloads a 1 GiB file from a loopback TLS server and
// reports the peak heap in use (sampled) and the process's peak RSS: both
// stay a few MiB, independent of the file size.
func BenchmarkExport1GiB(b *testing.B) {
	const size = 1 << 30
	for _, k := range []string{"PANOS_HOSTNAME", "PANOS_API_KEY", "PANOS_USERNAME", "PANOS_PASSWORD"} {
		b.Setenv(k, "")
	}
	f := newFakeFW(b)
	f.exp = func(w http.ResponseWriter, form url.Values) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Header().Set("Content-Disposition", "attachment; filename=big.pcap")
		io.CopyBuffer(w, &patternReader{left: size}, make([]byte, 32<<10))
	}
	c, err := Open(context.Background(), f.target(), opts(io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		info, err := c.Export(context.Background(), transports.ExportRequest{Category: "filters-pcap", File: "big.pcap"}, io.Discard)
		if err != nil || info.Size != size {
			b.Fatalf("Export = %+v, %v", info, err)
		}
	}
	b.StopTimer()
	close(stop)
	<-done
	growth := int64(peak.Load()) - int64(base)
	if growth < 0 {
		growth = 0
	}
	b.ReportMetric(float64(growth)/(1<<20), "peak-heap-growth-MiB")
	b.ReportMetric(float64(peakrss.Bytes())/(1<<20), "peak-RSS-MiB")
}

// failingWriter takes limit bytes, then fails with errDiskFull.
type failingWriter struct{ limit int }

var errDiskFull = errors.New("no space left on device")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errDiskFull
	}
	w.limit -= len(p)
	return len(p), nil
}

// failingReaderFrom is a failingWriter that reads the body itself, as the
// engine's artifact writer does.
type failingReaderFrom struct{ failingWriter }

func (w *failingReaderFrom) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	buf := make([]byte, 1000)
	for {
		k, err := r.Read(buf)
		m, werr := w.Write(buf[:k])
		n += int64(m)
		if werr != nil {
			return n, werr
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// TestExportWriteAndReadErrors: a failing write is told apart from a
// failing download, whether the writer is written to or reads the body
// itself (io.ReaderFrom); progress counts the bytes that came.
func TestExportWriteAndReadErrors(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	body := bytes.Repeat([]byte("pcap"), 50000)
	f.exp = func(w http.ResponseWriter, form url.Values) {
		w.Header().Set("Content-Disposition", "attachment; filename="+form.Get("from"))
		w.Header().Set("Content-Type", "application/octet-stream")
		if form.Get("from") == "cut.pcap" {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body[:len(body)/2]) // the connection ends halfway
			return
		}
		w.Write(body)
	}
	c := openFake(t, f, f.target())
	ctx := context.Background()
	writers := map[string]func(limit int) io.Writer{
		"Write":    func(limit int) io.Writer { return &failingWriter{limit: limit} },
		"ReadFrom": func(limit int) io.Writer { return &failingReaderFrom{failingWriter{limit: limit}} },
	}
	for name, w := range writers {
		t.Run(name, func(t *testing.T) {
			_, err := c.Export(ctx, transports.ExportRequest{Category: "filters-pcap", File: "rx.pcap"}, w(70000))
			if want := "xmlapi fw1: export filters-pcap: write rx.pcap: no space left on device"; err == nil || err.Error() != want {
				t.Errorf("write error:\n got %v\nwant %s", err, want)
			}
			var ce *transports.ConnError
			if !errors.Is(err, errDiskFull) || errors.As(err, &ce) {
				t.Errorf("write error %v: want errDiskFull, not a ConnError", err)
			}

			var last, total int64
			_, err = c.Export(ctx, transports.ExportRequest{Category: "filters-pcap", File: "cut.pcap",
				Progress: func(d, tot int64) { last, total = d, tot }}, w(1<<30))
			if !errors.As(err, &ce) || errors.Is(err, errDiskFull) {
				t.Errorf("cut download = %v, want a ConnError", err)
			}
			if total != int64(len(body)) || last <= 0 || last >= total {
				t.Errorf("progress of the cut download (%d, %d), want some of %d", last, total, len(body))
			}
		})
	}
}
