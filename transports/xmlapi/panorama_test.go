package xmlapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/sessionlog"
)

// TestParseDevicesPublicFixture reads a real Panorama's `show devices all`.
func TestParseDevicesPublicFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/show_devices_all.xml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := ParseResponse(b, "show devices all")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseDevices(res.Data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Device{
		{Serial: "007054000543212", Hostname: "katy-fw1", IPAddress: "192.168.255.41", Model: "PA-VM", SWVersion: "10.1.4", Connected: true},
		{Serial: "007054000543213", Hostname: "lab-fw3", IPAddress: "192.168.255.13", Model: "PA-VM", SWVersion: "10.1.4", Connected: true},
		{Serial: "007054000543215", Hostname: "lab-fw4", IPAddress: "192.168.255.14", Model: "PA-VM", SWVersion: "10.1.3-h3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("devices\n got %+v\nwant %+v", got, want)
	}
	one, err := parseDevices(map[string]any{"devices": map[string]any{"entry": map[string]any{"@name": "0071", "hostname": "a"}}})
	if err != nil || len(one) != 1 || one[0].Serial != "0071" {
		t.Errorf("one entry: %+v %v", one, err)
	}
	if none, err := parseDevices(map[string]any{"devices": ""}); err != nil || len(none) != 0 {
		t.Errorf("no entry: %+v %v", none, err)
	}
	if _, err := parseDevices(map[string]any{}); err == nil {
		t.Error("no devices element: no error")
	}
}

// TestThroughPanorama: a target with a Panorama sends every request to
// the Panorama's address with target=<serial>, keygen without it.
func TestThroughPanorama(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	pano := f.target()
	pano.Name = "pano"
	pano.APIKey = secret.Ref{}
	pano.User = testUser
	pano.Password = secret.Ref{Kind: "env", Name: "FW1_PW"}
	fw := transports.Target{Name: "fw7", Transport: Name, Serial: "007054000543213", Panorama: &pano}
	c := openFake(t, f, fw)
	if got := c.Facts(); got["via"] != "pano" || got["hostname"] != "fw-test" {
		t.Errorf("facts %v", got)
	}
	if _, err := c.Run(context.Background(), transports.Command{CLI: "show system info"}); err != nil {
		t.Fatal(err)
	}
	rq := f.requests()
	if len(rq) != 3 {
		t.Fatalf("%d requests, want keygen and two op", len(rq))
	}
	if rq[0].Form.Get("type") != "keygen" || rq[0].Form.Has("target") {
		t.Errorf("keygen %v: want Panorama's own, without target", rq[0].Form)
	}
	for _, r := range rq[1:] {
		if r.Form.Get("target") != "007054000543213" {
			t.Errorf("%s request without target=serial: %v", r.Form.Get("type"), r.Form)
		}
	}
	checkNoSecret(t, f)
	fw.Serial = ""
	if _, err := Open(context.Background(), fw, opts(io.Discard)); err == nil || !strings.Contains(err.Error(), "no serial") {
		t.Errorf("no serial: %v", err)
	}
}

// TestSessionLogAPI: the log holds each request and answer; the transport
// itself writes neither the key, nor the keygen password, nor the key in
// the keygen answer (no redactor here to hide a slip), and not the bytes
// of an exported file.
func TestSessionLogAPI(t *testing.T) {
	noEnv(t)
	f := newFakeFW(t)
	f.exp = func(w http.ResponseWriter, form url.Values) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", "attachment; filename=a.pcap")
		io.WriteString(w, "PCAPBYTES-not-for-the-log")
	}
	tg := f.target()
	tg.APIKey = secret.Ref{}
	tg.User = testUser
	tg.Password = secret.Ref{Kind: "env", Name: "FW1_PW"}
	var out bytes.Buffer
	log := sessionlog.New(&out, nil)
	o := opts(io.Discard)
	o.SessionLog = log
	c, err := Open(context.Background(), tg, o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Export(context.Background(), transports.ExportRequest{Category: "filters-pcap", File: "a.pcap"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	log.Close()
	got := out.String()
	for _, want := range []string{
		">>> POST " + c.url + "\ntype=keygen\npassword=" + secret.Placeholder + "\nuser=admin\n",
		"<key>" + secret.Placeholder + "</key>",
		">>> POST " + c.url + "\nX-PAN-KEY: " + secret.Placeholder + "\ntype=op\ncmd=<show><system><info></info></system></show>\n<<< 200 OK\n",
		"<hostname>fw-test</hostname>",
		"type=export\ncategory=filters-pcap\nfrom=a.pcap\n<<< 200 OK\nContent-Type: application/octet-stream\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("session log lacks %q\n%s", want, got)
		}
	}
	for _, s := range []string{testKey, testPass, "PCAPBYTES"} {
		if strings.Contains(got, s) {
			t.Errorf("session log holds %q", s[:5])
		}
	}
}
