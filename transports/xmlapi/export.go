package xmlapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/runbook-dev/runbook/transports"
)

// ErrTooLarge is wrapped by Export when the file exceeds MaxBytes.
var ErrTooLarge = errors.New("export larger than the size limit")

// ErrJobFailed is wrapped by Export when the device's export job ends in
// FAIL.
var ErrJobFailed = errors.New("export job failed")

// CanExport reports the categories this transport can download:
// tech-support (job flow) and filters-pcap (one file, named by File). The
// IKE debug-pcap has no documented API export (panos-notes §3.5), so it is
// not offered: the engine falls back to `scp export`.
// The CLI's name for the data-plane captures, `filter-pcap` (as in `scp
// export filter-pcap from F`), is accepted for the API's `filters-pcap`, so
// one playbook works over both transports.
func (c *Client) CanExport(category string) bool {
	category = apiCategory(category)
	return category == "tech-support" || category == "filters-pcap"
}

// apiCategory maps a CLI export category to the XML API's name.
func apiCategory(category string) string {
	if category == "filter-pcap" {
		return "filters-pcap"
	}
	return category
}

// Export streams one file from the device to w; it never holds the file in
// memory. tech-support runs the job flow (start, poll status with backoff
// until FIN, then get); filters-pcap downloads req.File. The returned Name
// is a safe base name whatever the server's Content-Disposition says.
// Cancelling ctx stops the poll or the download and wraps ctx.Err(); bytes
// already written to w stay written. Export may be retried: each call starts
// a new job.
func (c *Client) Export(ctx context.Context, req transports.ExportRequest, w io.Writer) (transports.ExportInfo, error) {
	if c.closed.Load() {
		return transports.ExportInfo{}, transports.ErrClosed
	}
	ctx, unbind := c.bind(ctx)
	defer unbind()
	var form url.Values
	var fallback string
	switch apiCategory(req.Category) {
	case "tech-support":
		id, err := c.techSupportJob(ctx)
		if err != nil {
			return transports.ExportInfo{}, fmt.Errorf("xmlapi %s: export tech-support: %w", c.target, err)
		}
		form = url.Values{"type": {"export"}, "category": {"tech-support"}, "action": {"get"}, "job-id": {id}}
		fallback = "tech-support-" + id + ".tgz"
	case "filters-pcap":
		if req.File == "" {
			return transports.ExportInfo{}, fmt.Errorf("xmlapi %s: export filters-pcap: no file named", c.target)
		}
		form = url.Values{"type": {"export"}, "category": {"filters-pcap"}, "from": {req.File}}
		fallback = SafeName(req.File, "filters.pcap")
	default:
		return transports.ExportInfo{}, fmt.Errorf("xmlapi %s: export %s: %w", c.target, req.Category, transports.ErrNotSupported)
	}
	info, err := c.download(ctx, form, req, fallback, w)
	if err != nil {
		return info, fmt.Errorf("xmlapi %s: export %s: %w", c.target, req.Category, err)
	}
	return info, nil
}

// techSupportJob starts the tech-support job and polls it until it is
// finished; it returns the job id.
func (c *Client) techSupportJob(ctx context.Context) (string, error) {
	body, err := c.post(ctx, url.Values{"type": {"export"}, "category": {"tech-support"}}, true)
	if err != nil {
		return "", err
	}
	r, err := parseResponse(body)
	if err != nil {
		return "", err
	}
	if r.failed() {
		return "", r.deviceError("export tech-support")
	}
	job := r.root.path("result", "job")
	if job == nil || strings.TrimSpace(job.text.String()) == "" {
		return "", fmt.Errorf("%w: no result/job in the answer to the export request", ErrMalformed)
	}
	id := strings.TrimSpace(job.text.String())
	wait := c.PollInterval
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("job %s: %w", id, c.netErr(ctx, ctx.Err()))
		case <-t.C:
		}
		if wait = wait * 3 / 2; wait > c.PollMax {
			wait = c.PollMax
		}
		body, err := c.post(ctx, url.Values{"type": {"export"}, "category": {"tech-support"}, "action": {"status"}, "job-id": {id}}, true)
		if err != nil {
			return "", fmt.Errorf("job %s: %w", id, err)
		}
		r, err := parseResponse(body)
		if err != nil {
			return "", fmt.Errorf("job %s: %w", id, err)
		}
		if r.failed() {
			return "", fmt.Errorf("job %s: %w", id, r.deviceError("export tech-support status"))
		}
		j := r.root.path("result", "job")
		if j == nil {
			return "", fmt.Errorf("job %s: %w: no result/job in the status answer", id, ErrMalformed)
		}
		status := text(j.child("status"))
		if status != "FIN" {
			continue // ACT, PEND
		}
		if res := text(j.child("result")); res != "OK" {
			var lines []string
			if d := j.child("details"); d != nil {
				for _, l := range d.children {
					if s := text(l); s != "" {
						lines = append(lines, s)
					}
				}
				if len(lines) == 0 && text(d) != "" {
					lines = append(lines, text(d))
				}
			}
			detail := strings.Join(lines, " | ")
			if detail == "" {
				detail = "no details given"
			}
			return "", fmt.Errorf("job %s: %w: result %s: %s", id, ErrJobFailed, res, detail)
		}
		return id, nil
	}
}

func text(n *node) string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text.String())
}

// download POSTs form and copies the file in the answer to w, reporting
// progress and enforcing req.MaxBytes. An answer that is a response
// envelope (an error) is returned as a *transports.DeviceError.
func (c *Client) download(ctx context.Context, form url.Values, req transports.ExportRequest, fallback string, w io.Writer) (transports.ExportInfo, error) {
	resp, err := c.do(ctx, form, true)
	if err != nil {
		return transports.ExportInfo{}, err
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 32<<10)
	head, _ := br.Peek(256)
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "text/xml" || ct == "application/xml" || bytes.HasPrefix(bytes.TrimSpace(head), []byte("<response")) {
		body, err := io.ReadAll(io.LimitReader(br, maxResponse))
		if err != nil {
			return transports.ExportInfo{}, c.netErr(ctx, err)
		}
		c.logResponse(form, resp, body)
		r, err := parseResponse(body)
		if err != nil {
			return transports.ExportInfo{}, err
		}
		if r.failed() {
			return transports.ExportInfo{}, r.deviceError("export " + req.Category)
		}
		return transports.ExportInfo{}, fmt.Errorf("%w: an XML answer where a file was expected", ErrMalformed)
	}
	c.logFile(resp)
	if resp.StatusCode != http.StatusOK {
		return transports.ExportInfo{}, &HTTPError{Target: c.target, StatusCode: resp.StatusCode}
	}
	name := fallback
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil && params["filename"] != "" {
		name = SafeName(params["filename"], fallback)
	}
	total := resp.ContentLength
	if req.MaxBytes > 0 && total > req.MaxBytes {
		return transports.ExportInfo{Name: name}, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, total, req.MaxBytes)
	}
	var src io.Reader = br
	if req.MaxBytes > 0 {
		src = io.LimitReader(br, req.MaxBytes)
	}
	pr := &progressReader{r: src, total: total, fn: req.Progress}
	if pr.fn != nil {
		pr.fn(0, total)
	}
	// A w that is an io.ReaderFrom reads the body into its own buffers
	// (the engine's artifact writer does: no copy through ours).
	buf := make([]byte, 32<<10)
	n, err := io.CopyBuffer(w, pr, buf)
	info := transports.ExportInfo{Name: name, Size: n}
	if err != nil {
		if pr.rerr == nil || !errors.Is(err, pr.rerr) {
			return info, fmt.Errorf("write %s: %w", name, err)
		}
		return info, c.netErr(ctx, err)
	}
	if req.MaxBytes > 0 && n == req.MaxBytes {
		if _, err := br.ReadByte(); err == nil {
			return info, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, req.MaxBytes)
		}
	}
	if total >= 0 && n != total {
		return info, &transports.ConnError{Target: c.target, Err: fmt.Errorf("download ended after %d of %d bytes", n, total)}
	}
	return info, nil
}

// progressReader counts the bytes read and reports them; it keeps the
// read error, to tell it from a write error. It has no WriteTo, so the
// copy goes through our buffer or the writer's ReadFrom.
type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
	rerr  error // the last error of r other than io.EOF
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		p.rerr = err
	}
	if n > 0 {
		p.done += int64(n)
		if p.fn != nil {
			p.fn(p.done, p.total)
		}
	}
	return n, err
}

// SafeName reduces a server-given file name to a safe base name: the part
// after the last / or \, control characters and anything outside
// [A-Za-z0-9._+-] replaced or dropped, no leading dots, at most 128 bytes.
// When nothing usable is left, it returns fallback (itself made safe).
func SafeName(name, fallback string) string {
	s := safeName(name)
	if s == "" {
		s = safeName(fallback)
	}
	if s == "" {
		s = "export.bin"
	}
	return s
}

func safeName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base("/" + name)
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError || r < 0x20 || r == 0x7f:
			// dropped
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_', r == '+':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), ".")
	if len(s) > 128 {
		s = s[len(s)-128:]
		s = strings.TrimLeft(s, ".")
	}
	if strings.Trim(s, "_") == "" {
		return ""
	}
	return s
}
