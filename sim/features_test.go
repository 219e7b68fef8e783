package sim

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/transports"
)

// TestProxyIDTunnel checks a proxy-ID tunnel: every SA named TUNNEL:PROXYID
// under `show vpn ipsec-sa tunnel TUNNEL`, each with its own tunnel id and
// flow record.
func TestProxyIDTunnel(t *testing.T) {
	topo := ProxyIDTopology()
	d := NewDevice(Options{Topology: &topo, Clock: func() time.Time { return fixed }})
	out := run(t, d, "show vpn ipsec-sa tunnel sap-sap")
	for _, want := range []string{"208    10.1.1.1               sap-sap:pid1(sap)", "209    10.1.1.1               sap-sap:pid2(sap)", "Total 2 tunnels found. 2 ipsec sa found."} {
		if !strings.Contains(out, want) {
			t.Errorf("ipsec-sa lacks %q:\n%s", want, out)
		}
	}
	if out := run(t, d, "show vpn ipsec-sa tunnel sap-sap:pid2"); !strings.Contains(out, "1 ipsec sa found") || strings.Contains(out, "pid1") {
		t.Errorf("ipsec-sa of one proxy ID:\n%s", out)
	}
	for id, name := range map[string]string{"208": "sap-sap:pid1", "209": "sap-sap:pid2"} {
		f := run(t, d, "show vpn flow tunnel-id "+id)
		if !strings.HasPrefix(f, "\ntunnel  "+name+"\n") || !strings.Contains(f, "        id:                     "+id+"\n") {
			t.Errorf("flow %s:\n%s", id, f)
		}
		if flowCounter(t, f, "decap packets") == 0 {
			t.Errorf("flow %s: no decap packets", id)
		}
	}
	if f := run(t, d, "show vpn flow name sap-sap:pid2"); !strings.Contains(f, "proxy-id local ip:      192.168.11.0/24") {
		t.Errorf("flow name:\n%s", f)
	}
	if f := run(t, d, "show vpn flow tunnel-id 207"); f != "tunnel-id 207 not found\n" {
		t.Errorf("the bare tunnel has no SA of its own: %q", f)
	}
	if out := run(t, d, "show vpn ike-sa gateway sap"); !strings.Contains(out, "sap-sap:pid1") || !strings.Contains(out, "sap-sap:pid2") {
		t.Errorf("ike-sa child SAs:\n%s", out)
	}
}

// TestNarrowedProxyIDs checks the two ends of a narrowed IKEv2 pair and a
// proxy ID without an SA: show vpn tunnel prints what is configured, the
// detail's TS lines what was negotiated, and a proxy ID the peer accepts no
// part of is configured but has no SA.
func TestNarrowedProxyIDs(t *testing.T) {
	wide := NarrowedTopology()
	narrow := wide.Mirror().Narrowed()
	if p := narrow.ProxyIDs[0]; p.Local != "192.168.20.0/24" || p.Remote != "192.168.10.0/24" || p.TSLocal != "" {
		t.Fatalf("narrow end's proxy ID %+v", p)
	}
	for _, c := range []struct {
		topo           Topology
		conf, ts1, ts2 string
	}{
		{wide, "192.168.8.0/21     0:0           192.168.16.0/20", "192.168.10.0-192.168.10.255", "192.168.20.0-192.168.20.255"},
		{narrow, "192.168.20.0/24    0:0           192.168.10.0/24", "192.168.20.0-192.168.20.255", "192.168.10.0-192.168.10.255"},
	} {
		d := NewDevice(Options{Topology: &c.topo, Clock: func() time.Time { return fixed }})
		if out := run(t, d, "show vpn tunnel"); !strings.Contains(out, c.conf) {
			t.Errorf("show vpn tunnel lacks %q:\n%s", c.conf, out)
		}
		det := run(t, d, "show vpn ike-sa detail gateway sap")
		for _, l := range []string{"        TS local:   Proto:any, " + c.ts1 + ", Ports:any\n", "        TS remote:  Proto:any, " + c.ts2 + ", Ports:any\n"} {
			if !strings.Contains(det, l) {
				t.Errorf("detail lacks %q:\n%s", l, det)
			}
		}
	}
	topo := ProxyIDTopology()
	topo.ProxyIDs[0].NoSA = true
	d := NewDevice(Options{Topology: &topo, Clock: func() time.Time { return fixed }})
	if out := run(t, d, "show vpn ipsec-sa tunnel sap-sap"); strings.Contains(out, "pid1") || !strings.Contains(out, "sap-sap:pid2(sap)") ||
		!strings.Contains(out, "Total 2 tunnels found. 1 ipsec sa found.") {
		t.Errorf("ipsec-sa with pid1 down:\n%s", out)
	}
	if out := run(t, d, "show vpn ipsec-sa tunnel sap-sap:pid1"); !strings.Contains(out, "Total 1 tunnels found. 0 ipsec sa found.") {
		t.Errorf("ipsec-sa of the proxy ID without SA:\n%s", out)
	}
	if out := run(t, d, "show vpn tunnel"); !strings.Contains(out, "sap-sap:pid1(sap)") {
		t.Errorf("show vpn tunnel must list the configured pid1:\n%s", out)
	}
	for _, cli := range []string{"show vpn ike-sa gateway sap", "show vpn ike-sa detail gateway sap"} {
		if out := run(t, d, cli); strings.Contains(out, "pid1") || !strings.Contains(out, "sap-sap:pid2") {
			t.Errorf("%s with pid1 down:\n%s", cli, out)
		}
	}
	if f := run(t, d, "show vpn flow tunnel-id 208"); f != "tunnel-id 208 not found\n" {
		t.Errorf("flow of the proxy ID without SA: %q", f)
	}
}

// TestSessionDirections checks who started the IKE and ESP sessions, and
// the faults that change it.
func TestSessionDirections(t *testing.T) {
	topo := DefaultTopology()
	ikeFrom := func(d *Device) (src string, s2c bool, found bool) {
		for _, s := range d.sessions() {
			if s.app == "ike" {
				return s.src, s.s2cMoves, true
			}
		}
		return "", false, false
	}
	for _, tc := range []struct {
		name  string
		o     Options
		src   string
		s2c   bool
		found bool
	}{
		{"healthy, the peer initiated", Options{}, topo.PeerIP, true, true},
		{"healthy, this firewall initiated", Options{LocalInitiates: true}, topo.LocalIP, true, true},
		{"phase1-down, nothing from the peer", Options{Scenario: Phase1Down}, topo.LocalIP, false, true},
		{"phase1-down, the peer unanswered", Options{Scenario: Phase1Down, Faults: Faults{PeerIKEUnanswered: true}}, topo.PeerIP, false, true},
		{"phase1-down, no session", Options{Scenario: Phase1Down, Faults: Faults{NoIKESession: true}}, "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDevice(tc.o)
			src, s2c, found := ikeFrom(d)
			if src != tc.src || s2c != tc.s2c || found != tc.found {
				t.Errorf("IKE session from %q s2c %v found %v, want %q %v %v", src, s2c, found, tc.src, tc.s2c, tc.found)
			}
			if !found {
				return
			}
			out := run(t, d, "show session id 145371")
			c2s := !strings.Contains(out, "total byte count(c2s)                : 0\n")
			if !c2s || strings.Contains(out, "total byte count(s2c)                : 0\n") == tc.s2c {
				t.Errorf("bytes:\n%s", out)
			}
		})
	}
}

// TestCapturesMarkNewSessions checks that a filter marks only sessions
// newer than itself: the IKE session of a healthy tunnel predates it (no
// packet-filter counters, no capture file), unless the sessions are fresh.
func TestCapturesMarkNewSessions(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		now := fixed
		d := NewDevice(Options{Scenario: Phase2Down, FreshSessions: fresh, Clock: func() time.Time { now = now.Add(time.Second); return now }})
		for _, c := range []string{
			"debug dataplane packet-diag set filter match source 10.1.1.1 destination 10.1.1.2 destination-port 500 protocol 17",
			"debug dataplane packet-diag set filter on",
			"debug dataplane packet-diag set capture stage receive file rx.pcap",
			"debug dataplane packet-diag set capture on",
			"show counter global filter delta yes packet-filter yes",
			"show clock",
		} {
			run(t, d, c)
		}
		delta := run(t, d, "show counter global filter delta yes packet-filter yes")
		run(t, d, "debug dataplane packet-diag set capture off")
		if got := strings.Contains(delta, "pkt_recv"); got != fresh {
			t.Errorf("fresh %v: counters\n%s", fresh, delta)
		}
		if got := d.hasCaptureFile("rx.pcap"); got != fresh {
			t.Errorf("fresh %v: rx.pcap written %v", fresh, got)
		}
	}
}

// TestStaleCaptures checks that old capture files stay (and are exported)
// until `delete debug-filter file NAME` removes them.
func TestStaleCaptures(t *testing.T) {
	d := NewDevice(Options{StaleCaptures: []string{"rx.pcap", "tx.pcap"}})
	ask := func(context.Context, string, bool) (string, error) { return "pw", nil }
	if _, err := d.ExecInteractive(context.Background(), "scp export filter-pcap from rx.pcap to u@10.0.0.5:/tmp", ask); err != nil {
		t.Fatalf("a stale file is exported as any other: %v", err)
	}
	run(t, d, "delete debug-filter file rx.pcap")
	if got := d.captureFiles(); len(got) != 1 || got[0] != "tx.pcap" {
		t.Errorf("files after delete: %v", got)
	}
	if _, err := d.ExecInteractive(context.Background(), "scp export filter-pcap from rx.pcap to u@10.0.0.5:/tmp", ask); err == nil {
		t.Error("a deleted file exported")
	}
	var ce *CommandError
	if _, err := d.Exec(context.Background(), "delete debug-filter file rx.pcap"); !errors.As(err, &ce) || ce.Kind != "server" {
		t.Errorf("deleting a missing file: %v", err)
	}
	for _, bad := range []string{"delete debug-filter", "delete debug-filter file", "delete foo"} {
		if _, err := d.Exec(context.Background(), bad); !errors.As(err, &ce) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestRefusals checks each refusal kind, over a direct Exec and over the
// API, and that a refused command changes nothing.
func TestRefusals(t *testing.T) {
	d := NewDevice(Options{Refuse: []Refusal{
		{Match: `^debug ike pcap delete$`, Error: RefuseInvalid},
		{Match: `^debug mprelay `, Error: RefuseUnknown, Word: "mprelay"},
		{Match: `^test routing fib-lookup virtual-router `, Error: RefuseUnknown},
		{Match: `^debug `, Error: RefuseXMLAPI},
	}})
	ctx := context.Background()
	for cli, want := range map[string]string{
		"debug ike pcap delete":  "Invalid syntax.",
		"debug mprelay on debug": "Unknown command: mprelay",
		"test routing fib-lookup virtual-router default ip 1.2.3.4": "Unknown command: 1.2.3.4",
	} {
		var ce *CommandError
		if _, err := d.Exec(ctx, cli); !errors.As(err, &ce) || ce.Msg != want {
			t.Errorf("%s: %v, want %q", cli, err, want)
		}
	}
	if d.DebugState()[SwMprelay] != "info" {
		t.Error("a refused command changed the state")
	}
	// Over SSH (or a direct Exec) the xmlapi refusal does not apply.
	run(t, d, "debug ike global on debug")
	run(t, d, "debug ike global off")
	s := startAPI(t, Options{}, APIConfig{})
	s.dev.SetRefusals([]Refusal{{Match: `^debug `, Error: RefuseXMLAPI}})
	c := s.open(t)
	_, err := c.Run(ctx, transports.Command{CLI: "debug ike global on debug"})
	var de *transports.DeviceError
	if !errors.As(err, &de) || de.Code != "17" || !strings.Contains(err.Error(), "debug not available to xmlapi client") {
		t.Errorf("over the API: %v", err)
	}
	if ok, on := s.dev.Clean(); !ok {
		t.Errorf("refused over the API, yet %v", on)
	}
}

// TestSetupAndAsFound checks a device that starts from an operator's state.
func TestSetupAndAsFound(t *testing.T) {
	d := NewDevice(Options{Setup: []string{
		"debug ike global on debug",
		"debug dataplane packet-diag set filter match source 192.0.2.7 destination 198.51.100.9",
		"debug dataplane packet-diag set filter on",
	}})
	if len(d.Log()) != 0 {
		t.Errorf("setup logged: %v", d.Log())
	}
	if ok, _, _ := d.AsFound(); !ok {
		t.Fatal("not as found at the start")
	}
	if ok, _ := d.Clean(); ok {
		t.Fatal("an operator's debug level counts as clean")
	}
	if out := run(t, d, "debug dataplane packet-diag show setting"); !strings.Contains(out, "Index 1: 192.0.2.7[0]->198.51.100.9[0], proto 0\n") {
		t.Errorf("operator filter:\n%s", out)
	}
	run(t, d, "debug ike global on normal")
	if ok, found, now := d.AsFound(); ok || !strings.Contains(found, "ike.global=debug") || !strings.Contains(now, "ike.global=normal") {
		t.Errorf("AsFound after a change: %v\n%s\n%s", ok, found, now)
	}
	run(t, d, "debug ike global on debug")
	if ok, _, _ := d.AsFound(); !ok {
		t.Error("not as found after the level was put back")
	}
}

// TestVPNConfig checks show vpn tunnel and show vpn gateway: the
// configuration is printed whatever the tunnel's state, one row per proxy
// ID; Mirror gives the other end mirrored selectors; a crypto profile set
// on one end is what that end prints.
func TestVPNConfig(t *testing.T) {
	topo := ProxyIDTopology()
	d := NewDevice(Options{Topology: &topo, Scenario: Phase1Down})
	tun := mustParse(t, "vpn-tunnel", run(t, d, "show vpn tunnel"))
	var sels []string
	for _, e := range tun["entries"].([]any) {
		sels = append(sels, e.(map[string]any)["name"].(string)+" "+e.(map[string]any)["selector"].(string))
	}
	if want := []string{"sap-sap:pid1 192.168.10.0/24 -> 192.168.20.0/24", "sap-sap:pid2 192.168.11.0/24 -> 192.168.21.0/24"}; !reflect.DeepEqual(sels, want) {
		t.Errorf("selectors %q, want %q", sels, want)
	}
	other := topo.Mirror()
	other.IPSecCrypto = Crypto{DH: []string{"DH5"}, Enc: []string{"AES256"}}
	other.IKECrypto = Crypto{Hash: []string{"SHA1"}, Lifetime: 3600}
	od := NewDevice(Options{Topology: &other})
	otun := mustParse(t, "vpn-tunnel", run(t, od, "show vpn tunnel name sap-sap"))
	e := otun["entries"].([]any)[0].(map[string]any)
	if e["selector"] != "192.168.20.0/24 -> 192.168.10.0/24" || e["proposal"] != "ESP tunl [DH5][AES256][SHA1]" || e["lifetime_sec"] != int64(28800) {
		t.Errorf("mirrored end: %v", e)
	}
	if other.LocalIP != topo.PeerIP || other.PeerIP != topo.LocalIP {
		t.Errorf("Mirror addresses: %+v", other)
	}
	if other.LocalHost != topo.RemoteHost || other.RemoteHost != topo.LocalHost ||
		other.LocalNetwork != topo.RemoteNetwork || other.RemoteNetwork != topo.LocalNetwork {
		t.Errorf("Mirror hosts and networks: %+v", other)
	}
	// The other end routes the first end's hosts into its tunnel.
	if out := run(t, od, "test routing fib-lookup virtual-router default ip "+topo.LocalHost); !strings.Contains(out, "interface "+other.InnerInterface) {
		t.Errorf("fib-lookup %s on the other end:\n%s", topo.LocalHost, out)
	}
	gw := mustParse(t, "vpn-gateway", run(t, od, "show vpn gateway"))
	g := gw["entries"].([]any)[0].(map[string]any)
	if g["name"] != "sap" || g["proposal"] != "[PSK][DH14][AES256][SHA1]" || g["lifetime_sec"] != int64(3600) || g["peer_address"] != topo.LocalIP {
		t.Errorf("gateway: %v", g)
	}
	if out := run(t, od, "show vpn gateway name other"); !strings.Contains(out, "Total 0 gateways found.") {
		t.Errorf("another gateway:\n%s", out)
	}
}

// TestTrafficEgressFollowsForwarding: the traffic's session leaves by the
// interface its route names, unless a PBF rule sends it into the tunnel.
func TestTrafficEgressFollowsForwarding(t *testing.T) {
	topo := DefaultTopology()
	fib := "test routing fib-lookup virtual-router " + topo.VirtualRouter + " ip " + topo.RemoteHost
	sess := fmt.Sprintf("show session id %d", topo.TrafficSessionID)
	for _, c := range []struct {
		name            string
		opts            Options
		route, egress   string
		traversesTunnel string
	}{
		{"route into the tunnel", Options{Scenario: Healthy}, topo.InnerInterface, topo.InnerInterface, "True"},
		{"route out of the outside interface", Options{Scenario: Healthy, Topology: func() *Topology {
			t := DefaultTopology()
			t.RemoteNetwork = "192.168.99.0/24"
			return &t
		}()}, topo.OuterInterface, topo.OuterInterface, "False"},
		{"PBF into the tunnel", Options{Scenario: Healthy, PBFIntoTunnel: true}, topo.OuterInterface, topo.InnerInterface, "True"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := NewDevice(c.opts)
			if out := run(t, d, fib); !strings.Contains(out, "interface "+c.route+",") {
				t.Errorf("route lookup does not name %s:\n%s", c.route, out)
			}
			out := run(t, d, sess)
			for _, want := range []string{
				"egress interface                     : " + c.egress + "\n",
				"session traverses tunnel             : " + c.traversesTunnel + "\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("session detail lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
