package report_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/report"
)

var screenshot = flag.String("screenshot", "", "copy the headless-browser screenshot of the report to this file")

// chromium renders page (a file) in a headless Debian chromium and returns
// the PNG screenshot and chromium's log. It skips the test when chromium is
// not installed (apt-get install -y chromium).
func chromium(t *testing.T, page string) ([]byte, string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install -y chromium)")
	}
	tmp := t.TempDir()
	shot := filepath.Join(tmp, "shot.png")
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars",
		// Nothing leaves the machine, even if the page tried.
		"--host-resolver-rules=MAP * ~NOTFOUND",
		"--user-data-dir="+filepath.Join(tmp, "profile"),
		"--screenshot="+shot, "--window-size=1200,1600",
		"--enable-logging=stderr", "--v=0",
		"file://"+filepath.ToSlash(abs))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.WaitDelay = 10 * time.Second // helper processes may hold the pipe
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("chromium did not finish in time:\n%s", log.String())
		}
		t.Fatalf("chromium: %v\n%s", err, log.String())
	}
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, log.String())
	}
	return b, log.String()
}

// consoleLines are the lines of chromium's log that report a message or
// an uncaught error from the page's console.
func consoleLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") {
			out = append(out, l)
		}
	}
	return out
}

func TestBrowserRendersReport(t *testing.T) {
	dir := t.TempDir()
	if err := report.Write(dir, fixedManifest(t)); err != nil {
		t.Fatal(err)
	}
	shot, log := chromium(t, filepath.Join(dir, report.FileName))
	if c := consoleLines(log); len(c) > 0 {
		t.Errorf("console messages from the page:\n%s", strings.Join(c, "\n"))
	}
	if *screenshot != "" {
		if err := os.WriteFile(*screenshot, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 1600 {
		t.Errorf("screenshot is %dx%d, want 1200x1600", b.Dx(), b.Dy())
	}
	// Something was drawn: many colours, and a fair share of the page
	// not white.
	colours := map[uint32]bool{}
	inked, total := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>11)<<10|(g>>11)<<5|bl>>11] = true
			if r < 0xe000 || g < 0xe000 || bl < 0xe000 {
				inked++
			}
			total++
		}
	}
	if len(colours) < 20 || inked*100 < total {
		t.Errorf("screenshot looks blank: %d colours, %d of %d pixels inked", len(colours), inked, total)
	}
	if len(shot) < 20_000 {
		t.Errorf("screenshot is only %d bytes", len(shot))
	}
}

// TestBrowserCatchesConsoleErrors shows that the console check above can
// fail: a page that logs and throws is caught.
func TestBrowserCatchesConsoleErrors(t *testing.T) {
	page := filepath.Join(t.TempDir(), "bad.html")
	src := `<!DOCTYPE html><html><body><p>bad</p><script>console.error("from-the-page"); notDefined();</script></body></html>`
	if err := os.WriteFile(page, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, log := chromium(t, page)
	c := strings.Join(consoleLines(log), "\n")
	if !strings.Contains(c, "from-the-page") || !strings.Contains(c, "Uncaught ReferenceError") {
		t.Errorf("console check missed the page's errors; log:\n%s", log)
	}
}
