package examples_test

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
	"github.com/runbook-dev/runbook/transports/xmlapi"
)

// xmlResult parses a hand-written XML API response the way the xmlapi
// transport does.
func xmlResult(t *testing.T, file, cli string) transports.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "xmlapi", file))
	if err != nil {
		t.Fatal(err)
	}
	res, err := xmlapi.ParseResponse(b, cli)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestPhase2OverXMLAPI replays phase2-down as the XML API answers it: the
// IPSec SA and the ESP session come back as structured data whose text is
// not the CLI's table, the tech-support file is pulled by the transport
// and the IKE capture (no API export) is skipped with a note. The tunnel
// id and session id must still be captured and used.
func TestPhase2OverXMLAPI(t *testing.T) {
	c, err := replay.Load(filepath.Join("cassettes", "phase2-down.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c.Params = maps.Clone(c.Params)
	delete(c.Params, "scp_to")
	c.Target.Transport = "xmlapi"
	c.ExportCategories = []string{"tech-support", "filters-pcap"}
	var xs []replay.Exchange
	for _, x := range c.Exchanges {
		var r transports.Result
		switch {
		case strings.HasPrefix(x.Command, "scp export "):
			continue
		case x.Command == "show vpn ipsec-sa tunnel sap-sap":
			r = xmlResult(t, "ipsec-sa.xml", x.Command)
		case x.Command == "show session all filter source 10.1.1.1 destination 10.1.1.2 application ipsec-esp":
			// The peer started the ESP traffic: its session is the one.
			r = xmlResult(t, "session-esp.xml", x.Command)
		case strings.HasPrefix(x.Command, "show session all filter "):
			r = xmlResult(t, "empty.xml", x.Command)
		default:
			xs = append(xs, x)
			continue
		}
		x.Output, x.Data = r.Text, r.Data
		xs = append(xs, x)
	}
	c.Exchanges = xs
	body := []byte("tech support bundle\n")
	sum := sha256.Sum256(body)
	c.Exports = []replay.Export{{Category: "tech-support", Name: "techsupport_013201009999.tgz",
		Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), Content: body, After: len(xs)}}

	// The CLI regexes cannot read these answers: only the expr captures
	// over output.fields can.
	pb, err := playbooks.Load("phase2-down")
	if err != nil {
		t.Fatal(err)
	}
	playbook.Walk(pb.Steps, func(s *playbook.Step) {
		for _, cp := range s.Captures {
			if cp.Regex == nil {
				continue
			}
			for _, x := range xs {
				if x.Data != nil && cp.Regex.MatchString(x.Output) {
					t.Errorf("capture %s's regex matches the XML answer of %q: the test proves nothing", cp.Name, x.Command)
				}
			}
		}
	})

	res, tr := replayRun(t, c)
	if res.ExitCode != 0 {
		t.Fatalf("exit code %d (status %s, err %v)", res.ExitCode, res.Status, res.Err)
	}
	if n := tr.Remaining(); n != 0 {
		t.Errorf("%d recorded exchanges not replayed", n)
	}
	for _, want := range []string{"show session id 145372", "show vpn flow tunnel-id 207", "export tech-support"} {
		if !slices.Contains(tr.cmds, want) {
			t.Errorf("%q not sent; sent:\n%s", want, strings.Join(tr.cmds, "\n"))
		}
	}
	if len(res.Manifest.Artifacts) != 1 || res.Manifest.Artifacts[0].Category != "tech-support" {
		t.Errorf("artifacts %+v, want the tech-support file", res.Manifest.Artifacts)
	}
	note := false
	for _, n := range res.Manifest.Notes {
		note = note || strings.Contains(n, "scp export debug-pcap from ikemgr.pcap to USER@HOST:PATH")
	}
	if !note {
		t.Errorf("no note tells how to attach ikemgr.pcap by hand: %q", res.Manifest.Notes)
	}
	checkFindings(t, res.Manifest, nil)
}
