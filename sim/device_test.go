package sim

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var fixed = time.Date(2026, 11, 27, 10, 2, 33, 0, time.UTC)

func newDev(t *testing.T, sc Scenario) *Device {
	t.Helper()
	now := fixed
	return NewDevice(Options{Scenario: sc, Clock: func() time.Time { now = now.Add(time.Second); return now }})
}

func run(t *testing.T, d *Device, cli string) string {
	t.Helper()
	out, err := d.Exec(context.Background(), cli)
	if err != nil {
		t.Fatalf("%s: %v", cli, err)
	}
	return out
}

// sampleLines returns the lines of a testdata sample without its source line.
func sampleLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	return lines[1:]
}

func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.TrimRight(l, " ") == strings.TrimRight(want, " ") {
			return true
		}
	}
	return false
}

// TestLayoutsMatchSamples pins the simulator's table layouts against real
// device output: a row built from the sample's values must equal the
// sample's row, and the header lines must be the sample's.
func TestLayoutsMatchSamples(t *testing.T) {
	t.Run("session row", func(t *testing.T) {
		s := sampleLines(t, "show_session_all_filter.txt")
		row := formatSessionRow(flowSession{id: 20, app: "ping", state: "ACTIVE", typ: "FLOW", flag: "NS", src: "192.168.1.20", sport: 1,
			srcZone: "Inside", proto: 1, natSrc: "10.2.62.150", dst: "1.1.1.1", dport: 26, dstZone: "Outside", vsys: "vsys1"})
		got := strings.Split(strings.TrimRight(row, "\n"), "\n")
		if got[0] != s[6] || got[1] != s[7] {
			t.Errorf("session row\n got %q\n     %q\nwant %q\n     %q", got[0], got[1], s[6], s[7])
		}
		for _, h := range s[2:6] {
			if !strings.Contains(sessionHeader, h+"\n") {
				t.Errorf("header line %q missing", h)
			}
		}
	})
	t.Run("ipsec-sa", func(t *testing.T) {
		s := sampleLines(t, "article_show_vpn_ipsec-sa_tunnel.txt")
		d := newDev(t, Healthy)
		out := strings.Split(run(t, d, "show vpn ipsec-sa tunnel sap-sap"), "\n")
		for _, i := range []int{2, 3, 6} {
			if !hasLine(out, s[i]) {
				t.Errorf("line %q of the sample missing from\n%s", s[i], strings.Join(out, "\n"))
			}
		}
		// The data row differs from the article's only in the remaining life.
		row := regexp.MustCompile(`\d+/0$`).ReplaceAllString(s[4], "")
		if !strings.Contains(strings.Join(out, "\n"), row) {
			t.Errorf("row %q missing", row)
		}
	})
	t.Run("ike-sa", func(t *testing.T) {
		s := sampleLines(t, "show_vpn_ike-sa_gateway_ikev2.txt")
		d := newDev(t, Healthy)
		out := strings.Split(run(t, d, "show vpn ike-sa gateway sap"), "\n")
		var headers []string
		for _, l := range s {
			if strings.HasPrefix(l, "Gateway ") || strings.HasPrefix(l, "-----") || strings.HasPrefix(l, "There is no") {
				headers = append(headers, l)
			}
		}
		if len(headers) != 6 {
			t.Fatalf("sample headers %q", headers)
		}
		for _, l := range headers {
			if !hasLine(out, l) {
				t.Errorf("sample line %q missing", l)
			}
		}
	})
	t.Run("flow labels", func(t *testing.T) {
		s := sampleLines(t, "article_show_vpn_flow_tunnel-id.txt")
		d := newDev(t, Healthy)
		out := run(t, d, "show vpn flow tunnel-id 207")
		for _, l := range s[2:] {
			label, _, ok := strings.Cut(l, ":")
			if ok && !strings.Contains(out, label+":") {
				t.Errorf("label %q missing", label)
			}
		}
	})
	t.Run("system info keys", func(t *testing.T) {
		s := sampleLines(t, "show_system_info.txt")
		out := run(t, newDev(t, Healthy), "show system info")
		for _, l := range s {
			k, _, ok := strings.Cut(l, ":")
			if ok && !strings.HasPrefix(k, "vm-") && !strings.Contains(out, k+": ") {
				t.Errorf("key %q missing", k)
			}
		}
	})
	t.Run("counter header", func(t *testing.T) {
		s := sampleLines(t, "show_counter_global.txt")
		out := strings.Split(run(t, newDev(t, Healthy), "show counter global"), "\n")
		for _, i := range []int{0, 3, 4} {
			if !hasLine(out, s[i]) {
				t.Errorf("line %q missing", s[i])
			}
		}
	})
}

func TestErrors(t *testing.T) {
	d := newDev(t, Healthy)
	for _, tc := range []struct{ cli, kind, msg string }{
		{"foo", "unknown", "Unknown command: foo"},
		{"show foo", "unknown", "Unknown command: foo"},
		{"show vpn", "invalid", "Invalid syntax."},
		{"debug ike global on loud", "invalid", "Invalid syntax."},
		{"ping count 3", "invalid", "Invalid syntax."},
		{"show session all filter source", "invalid", "Invalid syntax."},
		{"ping host 10.1.1", "validation", "Validation Error:\n host '10.1.1' is not a valid IP address"},
		{"scp export tech-support to a@b:/x", "server", "Server error : scp export needs an interactive session"},
	} {
		_, err := d.Exec(context.Background(), tc.cli)
		var ce *CommandError
		if !errors.As(err, &ce) || ce.Kind != tc.kind || ce.Msg != tc.msg {
			t.Errorf("%s: got %#v, want %s %q", tc.cli, err, tc.kind, tc.msg)
		}
	}
}

func TestClock(t *testing.T) {
	out := run(t, newDev(t, Healthy), "show clock")
	if _, err := time.Parse(time.UnixDate+"\n", out); err != nil {
		t.Fatalf("show clock %q is not UnixDate: %v", out, err)
	}
}

// procedure is every debug command of the four procedures, on then off.
var procedure = []string{
	"debug ike pcap delete",
	"debug ike pcap on",
	"debug ike global on debug",
	"debug mprelay on debug",
	"debug dataplane packet-diag clear all",
	"debug dataplane packet-diag set filter match source 10.1.1.2 destination 10.1.1.1 destination-port 500 protocol 17",
	"debug dataplane packet-diag set filter on",
	"debug dataplane packet-diag set capture stage receive file rx.pcap",
	"debug dataplane packet-diag set capture stage transmit file tx.pcap",
	"debug dataplane packet-diag set capture stage drop file drop.pcap",
	"debug dataplane packet-diag set capture stage firewall file fw.pcap",
	"debug dataplane packet-diag set capture on",
}

var undo = []string{
	"debug dataplane packet-diag set capture off",
	"debug dataplane packet-diag set filter off",
	"debug ike pcap off",
	"debug ike global on normal",
	"debug mprelay on info",
}

func TestDebugStateAndClean(t *testing.T) {
	d := newDev(t, Phase1Down)
	if ok, on := d.Clean(); !ok {
		t.Fatalf("new device not clean: %v", on)
	}
	for _, c := range procedure {
		run(t, d, c)
	}
	want := map[string]string{SwIKEPcap: "on", SwIKEGlobal: "debug", SwMprelay: "debug", SwPacketFilter: "on", SwPacketCapture: "on"}
	if got := d.DebugState(); !mapsEqual(got, want) {
		t.Fatalf("debug state %v, want %v", got, want)
	}
	if ok, on := d.Clean(); ok || len(on) != 5 {
		t.Fatalf("Clean = %v %v, want 5 switches on", ok, on)
	}
	setting := run(t, d, "debug dataplane packet-diag show setting")
	for _, s := range []string{"Index 1: 10.1.1.2[0]->10.1.1.1[500], proto 17", "Stage: firewall\n    File: fw.pcap"} {
		if !strings.Contains(setting, s) {
			t.Errorf("show setting lacks %q:\n%s", s, setting)
		}
	}
	for i, c := range undo {
		run(t, d, c)
		ok, on := d.Clean()
		if ok != (i == len(undo)-1) {
			t.Fatalf("after %q: Clean = %v %v", c, ok, on)
		}
	}
	log := d.Log()
	if len(log) != len(procedure)+1+len(undo) {
		t.Fatalf("log has %d entries", len(log))
	}
	if e := log[len(procedure)-1]; e.CLI != procedure[len(procedure)-1] || e.Debug[SwPacketCapture] != "on" || e.Seq != len(procedure) {
		t.Errorf("log entry %+v", e)
	}
	// `off` forms return to the default level too.
	run(t, d, "debug ike global on dump")
	run(t, d, "debug ike global off")
	run(t, d, "debug mprelay on debug")
	run(t, d, "debug mprelay off")
	if ok, on := d.Clean(); !ok {
		t.Errorf("off forms left %v", on)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func flowCounter(t *testing.T, out, label string) int64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + label + `:\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s in\n%s", label, out)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

func TestScenarios(t *testing.T) {
	topo := DefaultTopology()
	for _, tc := range []struct {
		sc                     Scenario
		ike                    []string // lines of the ike-sa detail
		noIKE                  bool     // no "IKE SA:" block
		ipsec                  string
		encapMoves, decapMoves bool
		policy                 string // "" for the empty answer
		espFromPeer            bool   // an ESP session peer -> local
		espFromLocal           bool
		ikeFromPeer            bool // the IKE session runs peer -> local
		ikeS2C                 bool // bytes server-to-client
	}{
		{sc: Healthy, ike: []string{"        State:      Established", "        Tunnel 207    sap-sap", "        State:      Mature"}, ipsec: "1 ipsec sa found",
			encapMoves: true, decapMoves: true, policy: `"allow-ipsec; index: 3" {`, espFromPeer: true, ikeFromPeer: true, ikeS2C: true},
		{sc: Phase1Down, noIKE: true, ipsec: "0 ipsec sa found", policy: "", ikeFromPeer: false, ikeS2C: false},
		{sc: Phase2Down, ike: []string{"        State:      Established", "        Type:       INFO"}, ipsec: "0 ipsec sa found",
			policy: `"allow-ipsec; index: 3" {`, ikeFromPeer: true, ikeS2C: true},
		{sc: NoTraffic, ike: []string{"        State:      Mature"}, ipsec: "1 ipsec sa found", encapMoves: true, policy: `"allow-ipsec; index: 3" {`,
			espFromLocal: true, ikeFromPeer: true, ikeS2C: true},
		{sc: Performance, ike: []string{"        State:      Mature"}, ipsec: "1 ipsec sa found", encapMoves: true, decapMoves: true,
			policy: `"allow-ipsec; index: 3" {`, espFromPeer: true, ikeFromPeer: true, ikeS2C: true},
		{sc: NoEncap, ike: []string{"        State:      Mature"}, ipsec: "1 ipsec sa found", decapMoves: true, policy: `"allow-ipsec; index: 3" {`,
			espFromPeer: true, ikeFromPeer: true, ikeS2C: true},
		{sc: Idle, ike: []string{"        State:      Mature"}, ipsec: "1 ipsec sa found", policy: `"allow-ipsec; index: 3" {`,
			espFromPeer: true, ikeFromPeer: true, ikeS2C: true},
	} {
		t.Run(string(tc.sc), func(t *testing.T) {
			d := newDev(t, tc.sc)
			det := run(t, d, "show vpn ike-sa detail gateway "+topo.Gateway)
			if !strings.HasPrefix(det, "IKE Gateway sap, ID 90 10.1.1.2 => 10.1.1.1\n  Current time: ") {
				t.Errorf("ike-sa detail header:\n%s", det)
			}
			if strings.Contains(det, "\nIKE SA:\n") == tc.noIKE {
				t.Errorf("ike-sa detail, IKE SA block want %v:\n%s", !tc.noIKE, det)
			}
			for _, l := range tc.ike {
				if !hasLine(strings.Split(det, "\n"), l) {
					t.Errorf("ike-sa detail lacks %q:\n%s", l, det)
				}
			}
			if esp := strings.Contains(det, "Type:       ESP"); esp != d.up() {
				t.Errorf("ESP child SA %v, want %v:\n%s", esp, d.up(), det)
			}
			if out := run(t, d, "show vpn ipsec-sa tunnel "+topo.Tunnel); !strings.Contains(out, tc.ipsec) {
				t.Errorf("ipsec-sa lacks %q:\n%s", tc.ipsec, out)
			}
			policy := run(t, d, "test security-policy-match source 10.1.1.1 destination 10.1.1.2 protocol 17 destination-port 500 application ike")
			if tc.policy == "" && policy != "" || tc.policy != "" && !strings.HasPrefix(policy, tc.policy+"\n") {
				t.Errorf("policy %q, want it to start with %q", policy, tc.policy)
			}
			f1 := run(t, d, "show vpn flow tunnel-id 207")
			run(t, d, "show clock")
			f2 := run(t, d, "show vpn flow tunnel-id 207")
			for _, c := range []struct {
				label string
				moves bool
			}{{"encap packets", tc.encapMoves}, {"decap packets", tc.decapMoves}} {
				a, b := flowCounter(t, f1, c.label), flowCounter(t, f2, c.label)
				if (b > a) != c.moves || b < a {
					t.Errorf("%s %d -> %d, moves want %v", c.label, a, b, c.moves)
				}
			}
			// Counters of the inner traffic, with a filter on it: new
			// sessions, so marked.
			run(t, d, "debug dataplane packet-diag set filter match source "+topo.LocalHost+" destination "+topo.RemoteHost)
			run(t, d, "debug dataplane packet-diag set filter on")
			run(t, d, "show counter global filter delta yes packet-filter yes")
			run(t, d, "show clock")
			delta := run(t, d, "show counter global filter packet-filter yes delta yes")
			if strings.Contains(delta, "flow_tunnel_encap_pkt") != tc.encapMoves || strings.Contains(delta, "flow_tunnel_decap_pkt") != tc.decapMoves {
				t.Errorf("delta counters:\n%s", delta)
			}
			run(t, d, "debug dataplane packet-diag clear all")
			for _, dir := range []struct {
				src, dst string
				want     bool
			}{{topo.PeerIP, topo.LocalIP, tc.espFromPeer}, {topo.LocalIP, topo.PeerIP, tc.espFromLocal}} {
				esp := run(t, d, "show session all filter source "+dir.src+" destination "+dir.dst+" application ipsec-esp")
				if strings.Contains(esp, "145372") != dir.want {
					t.Errorf("esp sessions %s -> %s, want %v:\n%s", dir.src, dir.dst, dir.want, esp)
				}
			}
			src, dst := topo.LocalIP, topo.PeerIP
			if tc.ikeFromPeer {
				src, dst = dst, src
			}
			ike := run(t, d, "show session all filter destination-port 500 source "+src+" destination "+dst)
			if !regexp.MustCompile(`(?m)^145371\s+ike\s+ACTIVE`).MatchString(ike) {
				t.Errorf("ike session %s -> %s:\n%s", src, dst, ike)
			}
			if other := run(t, d, "show session all filter destination-port 500 source "+dst+" destination "+src); strings.Contains(other, "145371") {
				t.Errorf("ike session found in the other direction too:\n%s", other)
			}
			out := run(t, d, "show session id 145371")
			if !strings.Contains(out, "application                          : ike") || !strings.Contains(out, "source:      "+src+" [untrust]") {
				t.Errorf("session id:\n%s", out)
			}
			if s2c := !strings.Contains(out, "total byte count(s2c)                : 0\n"); s2c != tc.ikeS2C {
				t.Errorf("ike s2c bytes %v, want %v:\n%s", s2c, tc.ikeS2C, out)
			}
		})
	}
}

func TestOtherNamesNotFound(t *testing.T) {
	d := newDev(t, Healthy)
	for cli, want := range map[string]string{
		"show vpn ipsec-sa tunnel other":         "Total 0 tunnels found. 0 ipsec sa found.",
		"show vpn ike-sa gateway other":          "There is no IKEv2 SA found.",
		"show vpn ike-sa detail gateway other":   "There is no IKEv2 SA found.",
		"show vpn flow tunnel-id 9":              "tunnel-id 9 not found",
		"show session id 7":                      "Session 7 is not found",
		"show session all filter source 1.2.3.4": "Dst[Dport]/Zone (translated IP[Port])\n---",
	} {
		if out := run(t, d, cli); !strings.Contains(out, want) {
			t.Errorf("%s: %q lacks %q", cli, out, want)
		}
	}
	if _, err := d.Exec(context.Background(), "test routing fib-lookup virtual-router vr9 ip 10.1.1.1"); err == nil {
		t.Error("unknown virtual router accepted")
	}
}

func TestScpExportAsks(t *testing.T) {
	d := NewDevice(Options{ScpPassword: "s3cret"})
	var asked []string
	answers := []string{"wrong", "s3cret"}
	ask := func(ctx context.Context, q string, echo bool) (string, error) {
		if echo {
			t.Error("password question asked with echo")
		}
		asked = append(asked, q)
		a := answers[0]
		answers = answers[1:]
		return a, nil
	}
	if _, err := d.ExecInteractive(context.Background(), "scp export debug-pcap from ikemgr.pcap to bob@10.0.0.5:/tmp", ask); err == nil {
		t.Fatal("export of a pcap never taken succeeded")
	}
	run(t, d, "debug ike pcap on")
	run(t, d, "debug ike pcap off")
	out, err := d.ExecInteractive(context.Background(), "scp export debug-pcap from ikemgr.pcap to bob@10.0.0.5:/tmp", ask)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || asked[0] != "bob@10.0.0.5's password: " || !strings.Contains(out, "ikemgr.pcap") {
		t.Errorf("asked %q, out %q", asked, out)
	}
	for _, e := range d.Log() {
		if strings.Contains(e.CLI, "s3cret") || strings.Contains(e.Err, "s3cret") {
			t.Errorf("password in log entry %+v", e)
		}
	}
}

func TestFaults(t *testing.T) {
	d := NewDevice(Options{Faults: Faults{DropAfter: 2, AskOn: "debug ike"}})
	sh := d.NewShell("admin", "")
	ctx := context.Background()
	if _, _, err := sh.Exec(ctx, "show clock", nil); err != nil {
		t.Fatal(err)
	}
	_, _, err := sh.Exec(ctx, "debug ike pcap on", func(ctx context.Context, q string, echo bool) (string, error) {
		if q != "Do you want to continue? (y or n) " {
			t.Errorf("question %q", q)
		}
		return "n", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.DebugState()[SwIKEPcap] != "off" {
		t.Error("answered n, yet the command ran")
	}
	if _, _, err := sh.Exec(ctx, "show clock", nil); !errors.Is(err, ErrDropConnection) {
		t.Fatalf("third command: %v, want drop", err)
	}
	if _, _, err := sh.Exec(ctx, "show clock", nil); err != nil {
		t.Fatalf("after the drop: %v", err)
	}
	d.SetFaults(Faults{SlowOn: "show clock", SlowBy: time.Hour})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := sh.Exec(cctx, "show clock", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("slow command under a cancelled ctx: %v", err)
	}
}

func TestShellModes(t *testing.T) {
	d := NewDevice(Options{Hostname: "fw1"})
	sh := d.NewShell("admin", "")
	ctx := context.Background()
	if sh.Prompt() != "admin@fw1> " || !sh.Pager() {
		t.Fatalf("prompt %q pager %v", sh.Prompt(), sh.Pager())
	}
	sh.Exec(ctx, "set cli pager off", nil)
	if sh.Pager() {
		t.Error("pager still on")
	}
	out, _, _ := sh.Exec(ctx, "configure", nil)
	if out != "Entering configuration mode\n" || sh.Prompt() != "[edit]\nadmin@fw1# " {
		t.Errorf("configure: %q %q", out, sh.Prompt())
	}
	if out, _, err := sh.Exec(ctx, "run show clock", nil); err != nil || !strings.Contains(out, "UTC") {
		t.Errorf("run in config mode: %q %v", out, err)
	}
	sh.Exec(ctx, "exit", nil)
	if _, exit, _ := sh.Exec(ctx, "exit", nil); !exit || sh.ConfigMode() {
		t.Error("exit from operational mode did not end the session")
	}
}

func TestSplitWords(t *testing.T) {
	w, err := splitWords(`show  session "a b"  c`)
	if err != nil || len(w) != 4 || w[2] != "a b" {
		t.Fatalf("%q %v", w, err)
	}
	if _, err := splitWords(`show "x`); err == nil {
		t.Fatal("unbalanced quote accepted")
	}
}

func FuzzExec(f *testing.F) {
	for _, c := range append(append([]string{}, procedure...), "show session all filter source 1.1.1.1", "test routing fib-lookup ip 1.2.3.4 virtual-router default") {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, cli string) {
		d := NewDevice(Options{})
		out, err := d.Exec(context.Background(), cli)
		var ce *CommandError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("%q: non-CLI error %v", cli, err)
		}
		if err != nil && out != "" {
			t.Fatalf("%q: output with error", cli)
		}
	})
}
