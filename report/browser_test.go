package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/report"
)

var shotDir = flag.String("screenshots", "", "also copy the headless-browser screenshots of the report into this directory")

// chromium runs a headless Debian chromium on page (a file) with the given
// window size and extra flags (--screenshot=FILE or --dump-dom), and
// returns its standard output and its log. It skips the test when
// chromium is not installed (apt-get install -y chromium; .ci/run does).
func chromium(t *testing.T, page string, width, height int, extra ...string) (stdout, log string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install -y chromium): the report is not rendered in a browser")
	}
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars",
		// Nothing leaves the machine, even if the page tried.
		"--host-resolver-rules=MAP * ~NOTFOUND",
		"--user-data-dir=" + t.TempDir(),
		fmt.Sprintf("--window-size=%d,%d", width, height),
		"--enable-logging=stderr", "--v=0",
	}
	args = append(append(args, extra...), "file://"+filepath.ToSlash(abs))
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 10 * time.Second // helper processes may hold the pipe
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("chromium did not finish in time:\n%s", errb.String())
		}
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	return out.String(), errb.String()
}

// minWindow is the narrowest window headless chromium lays out: a
// narrower --window-size is laid out 500 pixels wide and cropped.
const minWindow = 500

// framed writes a page that shows page (its text, in the srcdoc of an
// iframe width×height CSS pixels, at the top left) and returns its path.
// The iframe is the phone's screen: the report inside is laid out, media
// queries included, as in a viewport that wide, however wide the window.
// probe, when given, is added at the end of the report's body.
func framed(t *testing.T, page string, width, height int, probe string) string {
	t.Helper()
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(src, []byte("</body>"))
	if i < 0 {
		t.Fatalf("%s has no </body>", page)
	}
	doc := string(src[:i]) + probe + string(src[i:])
	wrapper := fmt.Sprintf(`<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0}iframe{border:0;display:block}</style></head>`+
		`<body><iframe width="%d" height="%d" srcdoc="%s"></iframe></body></html>`, width, height, html.EscapeString(doc))
	p := filepath.Join(t.TempDir(), "framed.html")
	if err := os.WriteFile(p, []byte(wrapper), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// screenshot renders page width×height CSS pixels and returns the PNG,
// saved as name in the test's temporary directory (and in -screenshots).
func screenshot(t *testing.T, page, name string, width, height int) image.Image {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "window.png")
	_, log := chromium(t, framed(t, page, width, height, ""), max(width, minWindow), height, "--screenshot="+shot)
	if c := consoleLines(log); len(c) > 0 {
		t.Errorf("console messages from the page:\n%s", strings.Join(c, "\n"))
	}
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, log)
	}
	win, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if got := win.Bounds(); got.Dx() != max(width, minWindow) || got.Dy() != height {
		t.Fatalf("screenshot is %dx%d, want %dx%d", got.Dx(), got.Dy(), max(width, minWindow), height)
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), win, image.Point{}, draw.Src)
	var enc bytes.Buffer
	if err := png.Encode(&enc, img); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(out, enc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %dx%d: %s", width, height, out)
	if *shotDir != "" {
		if err := os.WriteFile(filepath.Join(*shotDir, name), enc.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return img
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

// assertInked fails when img looks blank: few colours, or hardly any
// pixel that is not white.
func assertInked(t *testing.T, img image.Image) {
	t.Helper()
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
}

// layoutProbe is added, for the check only, to the framed copy of the
// page (the report itself has no script): once the page is laid out it
// writes into the wrapper's DOM, which --dump-dom prints, the viewport's
// width, the document's scroll width and every element whose box reaches
// past the right edge.
const layoutProbe = `<script>(() => {
  const w = document.documentElement.clientWidth;
  const past = [];
  for (const e of document.body.querySelectorAll("*")) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 0.5) {
      const c = e.getAttribute("class");
      past.push(e.tagName.toLowerCase() + (c ? "." + c.replace(/ /g, ".") : "") + " reaches x=" + Math.round(r.right) + ": " + (e.textContent || "").trim().slice(0, 50));
    }
  }
  const p = parent.document.createElement("pre");
  p.id = "layout-probe";
  p.textContent = JSON.stringify({viewport: w, scroll: document.documentElement.scrollWidth, past: past.slice(0, 15)});
  parent.document.body.appendChild(p);
})();</script>`

type layout struct {
	Viewport int      `json:"viewport"`
	Scroll   int      `json:"scroll"`
	Past     []string `json:"past"`
}

var probeRE = regexp.MustCompile(`(?s)<pre id="layout-probe">(.*?)</pre>`)

// measure lays page out width pixels wide and reads back the probe's
// answer.
func measure(t *testing.T, page string, width int) layout {
	t.Helper()
	dom, log := chromium(t, framed(t, page, width, 900, layoutProbe), max(width, minWindow), 900, "--dump-dom")
	m := probeRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the layout probe wrote nothing; chromium log:\n%s", log)
	}
	var l layout
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &l); err != nil {
		t.Fatalf("layout probe: %v: %s", err, m[1])
	}
	if l.Viewport != width {
		t.Fatalf("the page was laid out %d pixels wide, want %d: the check would not measure the phone", l.Viewport, width)
	}
	return l
}

// assertFits fails when anything on the page is wider than the window.
func assertFits(t *testing.T, l layout, width int) {
	t.Helper()
	if l.Scroll > l.Viewport || len(l.Past) > 0 {
		t.Errorf("at %d px the page scrolls sideways (scroll width %d); past the right edge:\n%s",
			width, l.Scroll, strings.Join(l.Past, "\n"))
	}
}

// TestBrowserRendersReport renders the fixture (a failed run with a
// pending cleanup: the loud box with the long `runbook cleanup DIR`, an
// error, every severity) at a desktop and a phone width.
func TestBrowserRendersReport(t *testing.T) {
	dir := t.TempDir()
	if err := report.Write(dir, fixedManifest(t)); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, report.FileName)
	assertInked(t, screenshot(t, page, "fixture-1200.png", 1200, 1600))
	assertInked(t, screenshot(t, page, "fixture-390.png", 390, 1600))
	assertFits(t, measure(t, page, 390), 390)
}

// TestBrowserCassetteReport renders the report of a shipped cassette with
// a critical and a warning finding at a desktop and a phone width: the
// screenshots are saved (the test's log names them), and at both widths
// nothing reaches past the window's right edge.
func TestBrowserCassetteReport(t *testing.T) {
	res := cassetteRun(t, cassetteWithFindings)
	if err := report.WriteDir(res.Dir); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(res.Dir, report.FileName)
	for _, w := range []struct {
		name          string
		width, height int
	}{
		{"desktop", 1280, 2000},
		{"phone", 390, 2400},
	} {
		t.Run(w.name, func(t *testing.T) {
			assertInked(t, screenshot(t, page, fmt.Sprintf("%s-%d.png", cassetteWithFindings, w.width), w.width, w.height))
			assertFits(t, measure(t, page, w.width), w.width)
		})
	}
}

// TestBrowserLayoutCheckCanFail shows that the layout check catches a
// page wider than a phone: a wide table and an SVG of fixed width.
func TestBrowserLayoutCheckCanFail(t *testing.T) {
	page := filepath.Join(t.TempDir(), "wide.html")
	src := `<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><p>fits</p><table><tr><td><code>show_a_command_that_does_not_wrap_anywhere_at_all_on_a_phone</code></td></tr></table>
<svg width="600" height="20"></svg></body></html>`
	if err := os.WriteFile(page, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	l := measure(t, page, 390)
	if l.Scroll <= l.Viewport || len(l.Past) < 2 {
		t.Errorf("the layout check missed a page wider than the window: %+v", l)
	}
	joined := strings.Join(l.Past, "\n")
	if !strings.Contains(joined, "code reaches") || !strings.Contains(joined, "svg reaches") {
		t.Errorf("the layout check does not name what is too wide: %s", joined)
	}
}

// TestBrowserCatchesConsoleErrors shows that the console check can fail:
// a page that logs and throws is caught.
func TestBrowserCatchesConsoleErrors(t *testing.T) {
	page := filepath.Join(t.TempDir(), "bad.html")
	src := `<!DOCTYPE html><html><body><p>bad</p><script>console.error("from-the-page"); notDefined();</script></body></html>`
	if err := os.WriteFile(page, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, log := chromium(t, page, 800, 600, "--screenshot="+filepath.Join(t.TempDir(), "bad.png"))
	c := strings.Join(consoleLines(log), "\n")
	if !strings.Contains(c, "from-the-page") || !strings.Contains(c, "Uncaught ReferenceError") {
		t.Errorf("console check missed the page's errors; log:\n%s", log)
	}
}
