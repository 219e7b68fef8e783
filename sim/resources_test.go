package sim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var cpuLine = regexp.MustCompile(`(?m)^%Cpu\(s\):\s+([\d.]+) us,\s+([\d.]+) sy,\s+([\d.]+) ni,\s+([\d.]+) id,\s+([\d.]+) wa,\s+([\d.]+) hi,\s+([\d.]+) si,\s+([\d.]+) st$`)

// mgmtBusy reads the busy percent (100 - idle) of show system resources,
// checking that the Cpu(s) line adds up to 100.
func mgmtBusy(t *testing.T, out string) float64 {
	t.Helper()
	m := cpuLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %%Cpu(s) line:\n%s", out)
	}
	sum := 0
	for _, s := range m[1:] {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += int(f*10 + 0.5)
	}
	if sum != 1000 {
		t.Errorf("%%Cpu(s) adds up to %d tenths, not 100.0: %s", sum, m[0])
	}
	idle, _ := strconv.ParseFloat(m[4], 64)
	return 100 - idle
}

// procCPU reads the %CPU of a process in the table.
func procCPU(t *testing.T, out, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*\d+ root\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+ [SR]\s+([\d.]+)\s+[\d.]+\s+[\d:.]+ ` + name + `$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s row:\n%s", name, out)
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	return f
}

// TestSystemResources checks the management plane's top: its layout, low
// use on a quiet device, ikemgr and mprelay busier while their debug is
// on (the article's warning) and back down when it is off, and the
// MgmtCPU fault.
func TestSystemResources(t *testing.T) {
	d := newDev(t, Healthy)
	quiet := run(t, d, "show system resources")
	for _, re := range []string{
		`^top - 10:02:\d\d up 2 days,  4:38,  1 user,  load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d\n`,
		`(?m)^Tasks: 187 total,   1 running, 186 sleeping,   0 stopped,   0 zombie$`,
		`(?m)^MiB Mem :   7975.6 total, +\d+\.\d free, +\d+\.\d used,   2493.2 buff/cache$`,
		`(?m)^MiB Swap:   2048.0 total,   2048.0 free,      0.0 used\. +\d+\.\d avail Mem$`,
		`(?m)^\n  PID USER      PR  NI    VIRT    RES    SHR S  %CPU %MEM     TIME\+ COMMAND$`,
	} {
		if !regexp.MustCompile(re).MatchString(quiet) {
			t.Errorf("output does not match %q:\n%s", re, quiet)
		}
	}
	for _, p := range []string{"ikemgr", "mprelay", "mgmtsrvr", "logrcvr", "keymgr"} {
		procCPU(t, quiet, p)
	}
	busy0 := mgmtBusy(t, quiet)
	if busy0 > 10 {
		t.Errorf("quiet device: management CPU %.1f%% busy", busy0)
	}

	run(t, d, "debug ike global on debug")
	run(t, d, "debug mprelay on debug")
	debug := run(t, d, "show system resources")
	if b := mgmtBusy(t, debug); b <= busy0+3 {
		t.Errorf("debug on: %.1f%% busy, quiet %.1f%%: debug costs nothing", b, busy0)
	}
	if a, b := procCPU(t, quiet, "ikemgr"), procCPU(t, debug, "ikemgr"); b < a+5 {
		t.Errorf("ikemgr %.1f%% -> %.1f%% with debug on", a, b)
	}
	if a, b := procCPU(t, quiet, "mprelay"), procCPU(t, debug, "mprelay"); b < a+3 {
		t.Errorf("mprelay %.1f%% -> %.1f%% with debug on", a, b)
	}
	run(t, d, "debug ike global on normal")
	run(t, d, "debug mprelay on info")
	if b := mgmtBusy(t, run(t, d, "show system resources")); b > 10 {
		t.Errorf("debug off again: %.1f%% busy", b)
	}

	d.SetFaults(Faults{MgmtCPU: 92})
	high := run(t, d, "show system resources")
	if b := mgmtBusy(t, high); b != 92 {
		t.Errorf("MgmtCPU 92: %.1f%% busy", b)
	}
	if c := procCPU(t, high, "logrcvr"); c < 100 {
		t.Errorf("MgmtCPU 92: logrcvr %.1f%%", c)
	}
	if !strings.Contains(high, "\n 2902 root      20   0  702344 133024  12660 R ") {
		t.Errorf("logrcvr is not the first, running process:\n%s", high)
	}

	if _, err := d.Exec(t.Context(), "show system resources now"); err == nil || err.Error() != "Invalid syntax." {
		t.Errorf("extra word: %v", err)
	}
}

// TestSystemResourcesOverAPI checks that the XML API answers show system
// resources with the CLI text in CDATA, as PAN-OS does for text results.
func TestSystemResourcesOverAPI(t *testing.T) {
	dev := newDev(t, Healthy)
	api, err := NewAPIServer(dev, APIConfig{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"type": {"op"}, "cmd": {"<show><system><resources></resources></system></show>"}}
	req := httptest.NewRequest(http.MethodPost, "/api/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-PAN-KEY", "k")
	rec := httptest.NewRecorder()
	api.Handler().ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	if !regexp.MustCompile(`^<response status="success"><result><!\[CDATA\[top - 10:02:\d\d up [^\]]+ ikemgr\n[^\]]*\]\]></result></response>\n$`).Match(body) {
		t.Errorf("answer:\n%s", body)
	}
}
