package sim

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// This file builds the text each command prints, in the layouts of the real
// samples in testdata/ (tests pin the layouts against them).

func (d *Device) up() bool { return d.opts.Scenario != Phase1Down && d.opts.Scenario != Phase2Down }

func (d *Device) ikeUp() bool { return d.opts.Scenario != Phase1Down }

func (d *Device) systemInfo() string {
	now := d.clock().UTC()
	up := now.Sub(d.boot)
	days := int(up / (24 * time.Hour))
	rest := up - time.Duration(days)*24*time.Hour
	family := "vm"
	if !strings.HasPrefix(d.opts.Model, "PA-VM") {
		family = strings.TrimPrefix(strings.ToLower(d.opts.Model), "pa-")
		if len(family) > 1 {
			family = family[:1] + "000"
		}
	}
	var b strings.Builder
	for _, kv := range [][2]string{
		{"hostname", d.opts.Hostname},
		{"ip-address", "192.0.2.10"},
		{"netmask", "255.255.255.0"},
		{"default-gateway", "192.0.2.1"},
		{"ipv6-address", "unknown"},
		{"ipv6-link-local-address", "fe80::20c:29ff:fe6d:c67e/64"},
		{"ipv6-default-gateway", ""},
		{"mac-address", "00:0c:29:6d:c6:7e"},
		{"time", now.Format(time.ANSIC)},
		{"uptime", fmt.Sprintf("%d days, %d:%02d:%02d", days, int(rest.Hours()), int(rest.Minutes())%60, int(rest.Seconds())%60)},
		{"family", family},
		{"model", d.opts.Model},
		{"serial", d.opts.Serial},
		{"sw-version", d.opts.SWVersion},
		{"global-protect-client-package-version", "0.0.0"},
		{"app-version", "8799-8509"},
		{"app-release-date", "unknown"},
		{"av-version", "0"},
		{"av-release-date", "unknown"},
		{"threat-version", "0"},
		{"threat-release-date", "unknown"},
		{"wf-private-version", "0"},
		{"wf-private-release-date", "unknown"},
		{"url-db", "paloaltonetworks"},
		{"wildfire-version", "0"},
		{"wildfire-release-date", "unknown"},
		{"url-filtering-version", "0000.00.00.000"},
		{"global-protect-datafile-version", "0"},
		{"global-protect-datafile-release-date", "unknown"},
		{"logdb-version", d.opts.SWVersion},
		{"platform-family", family},
		{"vpn-disable-mode", "off"},
		{"multi-vsys", "off"},
		{"operational-mode", "normal"},
	} {
		fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
	}
	return b.String()
}

// counterSpec is one global counter and how fast it moves per command in
// each scenario.
type counterSpec struct {
	name, severity, category, aspect, desc string
	base                                   int64
	rate                                   map[Scenario]int64
}

var counterSpecs = []counterSpec{
	{"pkt_recv", "info", "packet", "pktproc", "Packets received", 29,
		map[Scenario]int64{Healthy: 60, Phase1Down: 0, Phase2Down: 4, NoTraffic: 3, Performance: 900, NoEncap: 33, Idle: 2}},
	{"pkt_sent", "info", "packet", "pktproc", "Packets transmitted", 21,
		map[Scenario]int64{Healthy: 60, Phase1Down: 2, Phase2Down: 4, NoTraffic: 33, Performance: 900, NoEncap: 3, Idle: 2}},
	{"session_allocated", "info", "session", "resource", "Sessions allocated", 3,
		map[Scenario]int64{Healthy: 2, Phase1Down: 1, Phase2Down: 1, NoTraffic: 2, Performance: 40, NoEncap: 2, Idle: 1}},
	{"flow_tunnel_encap_pkt", "info", "flow", "tunnel", "Packets encapsulated into IPSec tunnel", 0,
		map[Scenario]int64{Healthy: 30, NoTraffic: 30, Performance: 450}},
	{"flow_tunnel_decap_pkt", "info", "flow", "tunnel", "Packets decapsulated from IPSec tunnel", 0,
		map[Scenario]int64{Healthy: 30, Performance: 450, NoEncap: 30}},
	{"flow_tunnel_encap_resolve", "drop", "flow", "tunnel", "Packets dropped: no IPSec SA for tunnel", 0,
		map[Scenario]int64{Phase2Down: 8}},
	{"flow_host_vardata_rate_limit_reached", "drop", "flow", "pktproc", "Packets dropped: rate limit reached for packet capture", 0,
		map[Scenario]int64{Performance: 12}},
}

// tickLocked moves counters as if one command's worth of time passed.
func (d *Device) tickLocked() {
	sc := d.opts.Scenario
	for _, c := range counterSpecs {
		if r := c.rate[sc]; r > 0 {
			d.ctr[c.name] += r + d.rng.Int63n(r/4+1)
		}
	}
	var enc, dec int64
	switch sc {
	case Healthy:
		enc, dec = 30, 30
	case NoTraffic:
		enc = 30
	case Performance:
		enc, dec = 450, 450
	case NoEncap:
		dec = 30
	}
	if enc > 0 {
		enc += d.rng.Int63n(enc/4 + 1)
		d.flow.encapPkts += enc
		d.flow.encapBytes += enc * 184
	}
	if dec > 0 {
		dec += d.rng.Int63n(dec/4 + 1)
		d.flow.decapPkts += dec
		d.flow.decapBytes += dec * 1421
	}
	if d.faults.AuthErrors {
		d.flow.authErrors += 3
		d.flow.decryptErrors += 2
	}
	if d.faults.ReplayDrops {
		d.flow.replay += 4
	}
}

func (d *Device) counterGlobal(w []string) (string, error) {
	delta := false
	if len(w) > 0 {
		if w[0] != "filter" {
			return "", invalidSyntax()
		}
		kv, err := keyValues(w[1:], "delta", "packet-filter", "severity", "category", "aspect")
		if err != nil {
			return "", err
		}
		for _, k := range []string{"delta", "packet-filter"} {
			if v, ok := kv[k]; ok && v != "yes" && v != "no" {
				return "", invalidSyntax()
			}
		}
		delta = kv["delta"] == "yes"
		if sev := kv["severity"]; sev != "" {
			return d.counterTable(delta, func(c counterSpec) bool { return c.severity == sev }), nil
		}
	}
	return d.counterTable(delta, func(counterSpec) bool { return true }), nil
}

func (d *Device) counterTable(delta bool, keep func(counterSpec) bool) string {
	now := d.clock()
	elapsed := now.Sub(d.ctrLastAt).Seconds()
	rateBase := elapsed
	if rateBase < 1 {
		rateBase = 1
	}
	var b strings.Builder
	b.WriteString("Global counters:\n")
	fmt.Fprintf(&b, "Elapsed time since last sampling: %.3f seconds\n\n", elapsed)
	b.WriteString("name                                   value     rate severity  category  aspect    description\n")
	b.WriteString(strings.Repeat("-", 80) + "\n")
	n := 0
	for _, c := range counterSpecs {
		if !keep(c) {
			continue
		}
		v := d.ctr[c.name]
		if delta {
			v -= d.ctrLast[c.name]
		}
		if v == 0 {
			continue
		}
		n++
		fmt.Fprintf(&b, "%-36s %7d %8d %-9s %-9s %-9s %s\n", c.name, v, int64(float64(v)/rateBase), c.severity, c.category, c.aspect, c.desc)
	}
	b.WriteString(strings.Repeat("-", 80) + "\n")
	fmt.Fprintf(&b, "Total counters shown: %d\n", n)
	b.WriteString(strings.Repeat("-", 80) + "\n")
	if delta {
		d.ctrLast = copyCounters(d.ctr)
		d.ctrLastAt = now
	}
	return b.String()
}

// flowSession is one entry of the session table.
type flowSession struct {
	id                     int
	app, state, typ, flag  string
	src, dst               string
	sport, dport, proto    int
	srcZone, dstZone, vsys string
	natSrc                 string
	rule, ingress, egress  string
}

func (d *Device) sessions() []flowSession {
	t := d.topo
	var s []flowSession
	s = append(s, flowSession{id: t.IKESessionID, app: "ike", state: "ACTIVE", typ: "FLOW", src: t.LocalIP, sport: 500,
		dst: t.PeerIP, dport: 500, proto: 17, srcZone: t.OutsideZone, dstZone: t.OutsideZone, vsys: "vsys1",
		rule: t.Rule, ingress: t.OuterInterface, egress: t.OuterInterface})
	if d.up() {
		s = append(s, flowSession{id: t.ESPSessionID, app: "ipsec-esp", state: "ACTIVE", typ: "FLOW", src: t.LocalIP,
			dst: t.PeerIP, proto: 50, srcZone: t.OutsideZone, dstZone: t.OutsideZone, vsys: "vsys1",
			rule: t.Rule, ingress: t.OuterInterface, egress: t.OuterInterface})
		s = append(s, flowSession{id: t.TrafficSessionID, app: "ping", state: "ACTIVE", typ: "FLOW", src: t.LocalHost, sport: 1,
			dst: t.RemoteHost, dport: 2048, proto: 1, srcZone: t.InsideZone, dstZone: t.VPNZone, vsys: "vsys1",
			rule: "inside-to-vpn", ingress: "ethernet1/2", egress: t.InnerInterface})
	}
	return s
}

const sessionHeader = `--------------------------------------------------------------------------------
ID          Application    State   Type Flag  Src[Sport]/Zone/Proto (translated IP[Port])
Vsys                                          Dst[Dport]/Zone (translated IP[Port])
--------------------------------------------------------------------------------
`

func formatSessionRow(s flowSession) string {
	nat := s.natSrc
	if nat == "" {
		nat = s.src
	}
	return fmt.Sprintf("%-12s %-14s %-7s %-5s %-4s %s[%d]/%s/%d  (%s[%d])\n%-46s %s[%d]/%s  (%s[%d])\n",
		fmt.Sprint(s.id), s.app, s.state, s.typ, s.flag, s.src, s.sport, s.srcZone, s.proto, nat, s.sport,
		s.vsys, s.dst, s.dport, s.dstZone, s.dst, s.dport)
}

func (d *Device) sessionAll(w []string) (string, error) {
	var kv map[string]string
	if len(w) > 0 {
		if w[0] != "filter" || len(w) == 1 {
			return "", invalidSyntax()
		}
		var err error
		kv, err = keyValues(w[1:], "source", "destination", "application", "destination-port", "source-port", "protocol", "from", "to", "state")
		if err != nil {
			return "", err
		}
		for _, k := range []string{"source", "destination"} {
			if v, ok := kv[k]; ok {
				if err := checkIP(k, v); err != nil {
					return "", err
				}
			}
		}
	}
	var b strings.Builder
	b.WriteString(sessionHeader)
	for _, s := range d.sessions() {
		if v, ok := kv["source"]; ok && v != s.src {
			continue
		}
		if v, ok := kv["destination"]; ok && v != s.dst {
			continue
		}
		if v, ok := kv["application"]; ok && v != s.app {
			continue
		}
		if v, ok := kv["destination-port"]; ok && v != fmt.Sprint(s.dport) {
			continue
		}
		if v, ok := kv["source-port"]; ok && v != fmt.Sprint(s.sport) {
			continue
		}
		if v, ok := kv["protocol"]; ok && v != fmt.Sprint(s.proto) {
			continue
		}
		if v, ok := kv["from"]; ok && v != s.srcZone {
			continue
		}
		if v, ok := kv["to"]; ok && v != s.dstZone {
			continue
		}
		if v, ok := kv["state"]; ok && !strings.EqualFold(v, s.state) {
			continue
		}
		b.WriteString(formatSessionRow(s))
	}
	return b.String(), nil
}

func (d *Device) sessionID(id int) string {
	var s *flowSession
	for _, x := range d.sessions() {
		if x.id == id {
			s = &x
			break
		}
	}
	if s == nil {
		return fmt.Sprintf("Session %d is not found\n", id)
	}
	start := d.boot.Add(2 * time.Hour).UTC().Format(time.ANSIC)
	tunnel := "False"
	if s.egress == d.topo.InnerInterface {
		tunnel = "True"
	}
	terminate := "False"
	if s.app == "ipsec-esp" || s.app == "ike" {
		terminate = "True"
	}
	bytes := 74 * (d.seq + 1)
	return fmt.Sprintf(`
Session %12d

        c2s flow:
                source:      %s [%s]
                dst:         %s
                proto:       %d
                sport:       %-15d dport:      %d
                state:       %-15s type:       %s
                src user:    unknown
                dst user:    unknown

        s2c flow:
                source:      %s [%s]
                dst:         %s
                proto:       %d
                sport:       %-15d dport:      %d
                state:       %-15s type:       %s
                src user:    unknown
                dst user:    unknown

        start time                           : %s
        timeout                              : 3600 sec
        time to live                         : 3581 sec
        total byte count(c2s)                : %d
        total byte count(s2c)                : %d
        layer7 packet count(c2s)             : %d
        layer7 packet count(s2c)             : %d
        vsys                                 : %s
        application                          : %s
        rule                                 : %s
        service timeout override(index)      : False
        session to be logged at end          : True
        session in session ager              : True
        session updated by HA peer           : False
        layer7 processing                    : enabled
        URL filtering enabled                : False
        session via syn-cookies              : False
        session terminated on host           : %s
        session traverses tunnel             : %s
        session terminate tunnel             : %s
        captive portal session               : False
        ingress interface                    : %s
        egress interface                     : %s
        session QoS rule                     : N/A (class 4)
        tracker stage firewall               : %s
`, s.id,
		s.src, s.srcZone, s.dst, s.proto, s.sport, s.dport, s.state, s.typ,
		s.dst, s.dstZone, s.src, s.proto, s.dport, s.sport, s.state, s.typ,
		start, bytes, d.s2cBytes(s, bytes), 1+d.seq, d.s2cPkts(s, 1+d.seq), s.vsys, s.app, s.rule,
		terminate, tunnel, terminate, s.ingress, s.egress, "active")
}

func (d *Device) s2cBytes(s *flowSession, c2s int) int {
	if d.opts.Scenario == Phase1Down && s.app == "ike" {
		return 0
	}
	if d.opts.Scenario == NoTraffic && s.app != "ike" {
		return 0
	}
	return c2s
}

func (d *Device) s2cPkts(s *flowSession, c2s int) int {
	if d.s2cBytes(s, 1) == 0 {
		return 0
	}
	return c2s
}

func (d *Device) saTimes() (string, string) {
	est := d.boot.Add(50 * time.Hour).UTC()
	return est.Format("Jan.02 15:04:05"), est.Add(8 * time.Hour).Format("Jan.02 15:04:05")
}

func (d *Device) ikeSA(w []string) (string, error) {
	detail := false
	if len(w) > 0 && w[0] == "detail" {
		detail, w = true, w[1:]
	}
	gw := ""
	switch {
	case len(w) == 0:
	case len(w) == 2 && w[0] == "gateway":
		gw = w[1]
	default:
		return "", invalidSyntax()
	}
	t := d.topo
	var b strings.Builder
	b.WriteString("\nThere is no IKEv1 phase-1 SA found.\n\nThere is no IKEv1 phase-2 SA found.\n\n")
	if !d.ikeUp() || (gw != "" && gw != t.Gateway) {
		b.WriteString("There is no IKEv2 SA found.\n")
		return b.String(), nil
	}
	est, exp := d.saTimes()
	children := 0
	if d.up() {
		children = 1
	}
	b.WriteString("IKEv2 SAs\n")
	b.WriteString("Gateway ID      Peer-Address           Gateway Name           Role SN       Algorithm             Established     Expiration      Xt Child  ST\n")
	b.WriteString("----------      ------------           ------------           ---- --       ---------             -----------     ----------      -- -----  --\n")
	fmt.Fprintf(&b, "%-15d %-22s %-22s %-4s %-8d %-21s %-15s %-15s %-2d %-6d %s\n",
		t.GatewayID, t.PeerIP, t.Gateway, "Resp", 67, "PSK/DH14/A256/SHA256", est, exp, 0, children, "Established")
	if detail {
		fmt.Fprintf(&b, "\nIKEv2 SA detail, gateway %s:\n", t.Gateway)
		fmt.Fprintf(&b, "  Local  %s[500]  Peer  %s[500]\n", t.LocalIP, t.PeerIP)
		b.WriteString("  Auth: PSK  DH group 14  Encryption AES256-CBC  Integrity SHA256  PRF SHA256\n")
		b.WriteString("  Lifetime: 28800 sec  Rekey: 27360 sec  Reauth: 0 sec\n")
		b.WriteString("  Message ID: local 4 peer 7  NAT-T: no  Fragmentation: no\n")
	}
	b.WriteString("\n")
	if children > 0 {
		b.WriteString("IKEv2 IPsec Child SAs\n")
		b.WriteString("Gateway Name           TnID     Tunnel                    ID       Parent   Role SPI(in)  SPI(out) MsgID    ST\n")
		b.WriteString("------------           ----     ------                    --       ------   ---- -------  -------- -----    --\n")
		fmt.Fprintf(&b, "%-22s %-8d %-25s %-8d %-8d %-4s %-8s %-8s %-8s %s\n",
			t.Gateway, t.TunnelID, t.Tunnel, 322550, 67, "Resp", "8AE5524F", "B198C409", "000007B4", "Mature")
		b.WriteString("\n")
	} else {
		b.WriteString("There is no IKEv2 IPsec Child SA found.\n\n")
	}
	b.WriteString("Show IKEv2 SA: Total 1 gateways found. 1 ike sa found.\n")
	return b.String(), nil
}

func (d *Device) ipsecSA(w []string) (string, error) {
	tn := ""
	switch {
	case len(w) == 0:
	case len(w) == 2 && w[0] == "tunnel":
		tn = w[1]
	default:
		return "", invalidSyntax()
	}
	t := d.topo
	if tn != "" && tn != t.Tunnel {
		return "\nShow IPSec SA: Total 0 tunnels found. 0 ipsec sa found.\n", nil
	}
	var b strings.Builder
	b.WriteString("\nGwID/client IP  TnID   Peer-Address           Tunnel(Gateway)                                Algorithm     SPI(in)  SPI(out) life(Sec/KB)\n")
	b.WriteString("--------------  ----   ------------           ---------------                                ---------     -------  -------- ------------\n")
	n := 0
	if d.up() {
		n = 1
		fmt.Fprintf(&b, "%-15d %-6d %-22s %-46s %-13s %-8s %-8s %d/0\n",
			t.GatewayID, t.TunnelID, t.PeerIP, t.Tunnel+"("+t.Gateway+")", "ESP/3des/SHA1", "8AE5524F", "B198C409", d.lifeRemain()+43)
	}
	fmt.Fprintf(&b, "\nShow IPSec SA: Total 1 tunnels found. %d ipsec sa found.\n", n)
	return b.String(), nil
}

func (d *Device) lifeRemain() int {
	r := 25935 - d.seq
	if r < 60 {
		r = 60
	}
	return r
}

func (d *Device) vpnFlow(w []string) (string, error) {
	t := d.topo
	state := "init"
	if d.up() {
		state = "active"
	}
	if len(w) == 0 {
		var b strings.Builder
		b.WriteString("\ntotal tunnels configured: 1\nfilter - type IPSec, state any\n\ntotal IPSec tunnel configured: 1\ntotal IPSec tunnel shown: 1\n\n")
		b.WriteString("id    name                          state   monitor local-ip                      peer-ip                       tunnel-i/f\n")
		b.WriteString("--    ----                          -----   ------- --------                      -------                       ----------\n")
		fmt.Fprintf(&b, "%-5d %-29s %-7s %-7s %-29s %-29s %s\n", t.TunnelID, t.Tunnel, state, "off", t.LocalIP, t.PeerIP, t.InnerInterface)
		return b.String(), nil
	}
	var match bool
	switch {
	case len(w) == 2 && w[0] == "tunnel-id":
		id, err := checkNum("tunnel-id", w[1], 1<<20)
		if err != nil {
			return "", err
		}
		match = id == t.TunnelID
		if !match {
			return fmt.Sprintf("tunnel-id %d not found\n", id), nil
		}
	case len(w) == 2 && w[0] == "name":
		if w[1] != t.Tunnel {
			return fmt.Sprintf("tunnel %s not found\n", w[1]), nil
		}
	default:
		return "", invalidSyntax()
	}
	lspi, rspi, sess, ctx := "8AE5524F", "B198C409", fmt.Sprint(t.ESPSessionID), "23"
	life := fmt.Sprintf("%d sec", d.lifeRemain())
	if !d.up() {
		lspi, rspi, sess, ctx, life = "00000000", "00000000", "0", "0", "0 sec"
	}
	f := d.flow
	return fmt.Sprintf(`
tunnel  %s
        id:                     %d
        type:                   IPSec
        gateway id:             %d
        local ip:               %s
        peer ip:                %s
        inner interface:        %s
        outer interface:        %s
        state:                  %s
        session:                %s
        tunnel mtu:             1428
        lifetime remain:        %s
        latest rekey:           %d seconds ago
        monitor:                off
        monitor packets seen:   0
        monitor packets reply:  0
        en/decap context:       %s
        local spi:              %s
        remote spi:             %s
        key type:               auto key
        protocol:               ESP
        auth algorithm:         SHA1
        enc  algorithm:         3DES
        proxy-id local ip:      0.0.0.0/0
        proxy-id remote ip:     0.0.0.0/0
        proxy-id protocol:      0
        proxy-id local port:    0
        proxy-id remote port:   0
        anti replay check:      no
        copy tos:               no
        authentication errors:  %d
        decryption errors:      %d
        inner packet warnings:  0
        replay packets:         %d
        packets received
          when lifetime expired:0
          when lifesize expired:0
        sending sequence:       0
        receive sequence:       0
        encap packets:          %d
        decap packets:          %d
        encap bytes:            %d
        decap bytes:            %d
        key acquire requests:   %d
        owner state:            0
        owner cpuid:            s1dp0
        ownership:              1
`, t.Tunnel, t.TunnelID, t.GatewayID, t.LocalIP, t.PeerIP, t.InnerInterface, t.OuterInterface, state, sess,
		life, 2865+d.seq, ctx, lspi, rspi, f.authErrors, f.decryptErrors, f.replay, f.encapPkts, f.decapPkts, f.encapBytes, f.decapBytes, f.acquire), nil
}

func (d *Device) cpuLoad() int {
	if d.opts.Scenario == Performance {
		return 92
	}
	return 3
}

func (d *Device) resourceMonitor(w []string) (string, error) {
	n := 5
	unit := "second"
	if len(w) > 0 {
		switch w[0] {
		case "second", "minute", "hour", "day", "week":
			unit = w[0]
			w = w[1:]
		}
		switch {
		case len(w) == 0:
		case len(w) == 2 && w[0] == "last":
			v, err := checkNum("last", w[1], 60)
			if err != nil {
				return "", err
			}
			if v == 0 {
				return "", validationErr("last '0' is not a valid number")
			}
			n = v
		default:
			return "", invalidSyntax()
		}
	}
	load := d.cpuLoad()
	var b strings.Builder
	fmt.Fprintf(&b, "Resource monitoring sampling data (per %s):\n\n", unit)
	fmt.Fprintf(&b, "CPU load (%%) during last %d %ss:\n", n, unit)
	b.WriteString("core   0   1   2   3\n")
	for i := 0; i < n; i++ {
		l := load + int(d.rng.Int63n(5))
		fmt.Fprintf(&b, "       *  %2d  %2d  %2d\n", l, l+1, l-1)
	}
	fmt.Fprintf(&b, "\nResource utilization (%%) during last %d %ss:\n", n, unit)
	for _, name := range []string{"session", "packet buffer", "packet descriptor", "packet descriptor (on-chip)"} {
		fmt.Fprintf(&b, "%s:\n", name)
		u := 0
		if d.opts.Scenario == Performance {
			u = 71
		}
		if d.faults.ResourcePct > 0 && name != "session" {
			u = d.faults.ResourcePct
		}
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprintf("%3d", u)
		}
		b.WriteString(strings.Join(vals, " ") + "\n")
	}
	return b.String(), nil
}

func (d *Device) poolStatistics() string {
	free := int64(93401)
	if d.opts.Scenario == Performance {
		free = 2104
	}
	var b strings.Builder
	b.WriteString("\nHardware Pools\n")
	fmt.Fprintf(&b, "[ 0] Packet Buffers            : %8d/%-8d 0x8070bf3a40\n", free, 97280)
	fmt.Fprintf(&b, "[ 1] Work Queue Entries        : %8d/%-8d 0x8070200000\n", free*2+42000, 229376)
	fmt.Fprintf(&b, "[ 2] Output Buffers            : %8d/%-8d 0x8002600000\n", 1012, 1024)
	b.WriteString("\nSoftware Pools\n")
	fmt.Fprintf(&b, "[ 0] Shared Pool 24            : %8d/%-8d 0x0000000000\n", 557563, 560000)
	fmt.Fprintf(&b, "[ 1] Shared Pool 32            : %8d/%-8d 0x0000000000\n", 558841, 560000)
	fmt.Fprintf(&b, "[ 2] Shared Pool 40            : %8d/%-8d 0x0000000000\n", 69980, 70000)
	fmt.Fprintf(&b, "[ 3] Session                   : %8d/%-8d 0x0000000000\n", 262080-d.ctr["session_allocated"]%1000, 262144)
	b.WriteString("\nLow free buffer limit :    94208\n")
	return b.String()
}

func (d *Device) powPerformance() string {
	load := d.cpuLoad()
	var b strings.Builder
	b.WriteString("pow performance statistics (per data-plane core):\n\n")
	b.WriteString("core   dispatched    processed   queued   busy(%)\n")
	b.WriteString("----   ----------    ---------   ------   -------\n")
	for c := 1; c <= 3; c++ {
		p := d.ctr["pkt_recv"]/3 + int64(c)
		q := 0
		if d.opts.Scenario == Performance {
			q = 380 + c
		}
		fmt.Fprintf(&b, "%-6d %10d %12d %8d %9d\n", c, p+int64(q), p, q, load+c)
	}
	return b.String()
}

func (d *Device) packetDiagSetting() string {
	yes := func(k string) string {
		if d.debug[k] == "on" {
			return "yes"
		}
		return "no"
	}
	var b strings.Builder
	line := strings.Repeat("-", 80) + "\n"
	b.WriteString(line + "Packet diagnosis setting:\n" + line)
	b.WriteString("Packet filter\n")
	fmt.Fprintf(&b, "Enabled: %s\n", yes(SwPacketFilter))
	b.WriteString("Match pre-parsed packet: no\nFilter offload: yes\n")
	for i, f := range d.filters {
		src, dst := f.src, f.dst
		if src == "" {
			src = "0.0.0.0"
		}
		if dst == "" {
			dst = "0.0.0.0"
		}
		dport, prot := f.dport, f.prot
		if dport == "" {
			dport = "0"
		}
		if prot == "" {
			prot = "0"
		}
		fmt.Fprintf(&b, "Index %d: %s[0]->%s[%s], proto %s\n", i+1, src, dst, dport, prot)
		b.WriteString("         active: yes\n")
	}
	b.WriteString(line + "Logging\nEnabled: no\nLog-throttle: no\nSync-log-by-ticks: yes\nFeatures:\nCounters:\n")
	b.WriteString("Timeout duration: 60 seconds\nBuffer threshold: 80%\nCPU threshold: 80%\n")
	b.WriteString(line + "Packet capture\n")
	fmt.Fprintf(&b, "Enabled: %s\nSnaplen: 0\nUsername:\n", yes(SwPacketCapture))
	stages := make([]string, 0, len(d.stages))
	for s := range d.stages {
		stages = append(stages, s)
	}
	sort.Strings(stages)
	for _, s := range stages {
		fmt.Fprintf(&b, "Stage: %s\n    File: %s\n    Byte-count: 0\n    Packet-count: 0\n", s, d.stages[s])
	}
	b.WriteString(line)
	return b.String()
}

func (d *Device) policyMatch(kv map[string]string) string {
	t := d.topo
	app := kv["application"]
	okApp := app == "" || app == "ike" || app == "ipsec-esp" || app == "ipsec-esp-udp"
	okZone := (kv["from"] == "" || kv["from"] == t.OutsideZone) && (kv["to"] == "" || kv["to"] == t.OutsideZone)
	if d.opts.Scenario == Phase1Down || !okApp || !okZone {
		return "No rule matched.\n"
	}
	return fmt.Sprintf(`"%s; index: 3" {
        from %s;
        source [ %s %s ];
        source-region none;
        to %s;
        destination [ %s %s ];
        destination-region none;
        user any;
        category any;
        application/service [ ike/udp/any/500 ike/udp/any/4500 ipsec-esp/50/any/any ipsec-esp-udp/udp/any/4500 ];
        action allow;
        icmp-unreachable: no
        terminal yes;
}
`, t.Rule, t.OutsideZone, t.LocalIP, t.PeerIP, t.OutsideZone, t.LocalIP, t.PeerIP)
}

func (d *Device) fibLookup(vr, ip string) (string, error) {
	t := d.topo
	if vr != t.VirtualRouter {
		return "", serverErr(fmt.Sprintf("virtual-router %s does not exist", vr))
	}
	a := netip.MustParseAddr(ip)
	iface, src, via, metric := t.OuterInterface, t.LocalIP, "", 10
	local := netip.MustParsePrefix(t.LocalIP + "/24").Masked()
	line := strings.Repeat("-", 80) + "\n"
	if !d.routable(a) {
		return fmt.Sprintf("%sruntime route lookup\n%svirtual-router:   %s\ndestination:      %s\nresult:           no route found\n%s",
			line, line, vr, ip, line), nil
	}
	if remote, err := netip.ParsePrefix(t.RemoteNetwork); err == nil && remote.Contains(a) {
		iface, src, via = t.InnerInterface, t.LocalIP, "0.0.0.0"
	} else if local.Contains(a) {
		via, metric = "0.0.0.0", 0
	} else {
		via = local.Addr().Next().String()
		if via == t.PeerIP || via == t.LocalIP {
			via = netip.MustParseAddr(t.LocalIP).Next().String()
		}
	}
	if via == "0.0.0.0" {
		via = "on-link"
	}
	return fmt.Sprintf("%sruntime route lookup\n%svirtual-router:   %s\ndestination:      %s\nresult:\n     via %s interface %s, source %s, metric %d\n%s",
		line, line, vr, ip, via, iface, src, metric, line), nil
}

// routable reports whether the virtual router has a route to a: always,
// unless the topology has no default route.
func (d *Device) routable(a netip.Addr) bool {
	t := d.topo
	if !t.NoDefaultRoute {
		return true
	}
	if netip.MustParsePrefix(t.LocalIP + "/24").Masked().Contains(a) {
		return true
	}
	remote, err := netip.ParsePrefix(t.RemoteNetwork)
	return err == nil && remote.Contains(a)
}

func (d *Device) pingOutput(host string, count int) string {
	t := d.topo
	reachable := host == t.PeerIP || host == t.LocalIP || (d.up() && host == t.RemoteHost)
	if a, err := netip.ParseAddr(host); err == nil && !d.routable(a) {
		reachable = false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "PING %s (%s) 56(84) bytes of data.\n", host, host)
	recv := 0
	if reachable {
		for i := 1; i <= count; i++ {
			fmt.Fprintf(&b, "64 bytes from %s: icmp_seq=%d ttl=64 time=0.%03d ms\n", host, i, 350+d.rng.Intn(100))
			recv++
		}
	}
	fmt.Fprintf(&b, "\n--- %s ping statistics ---\n", host)
	loss := 100 - recv*100/count
	fmt.Fprintf(&b, "%d packets transmitted, %d received, %d%% packet loss, time %dms\n", count, recv, loss, (count-1)*1000+4)
	if recv > 0 {
		b.WriteString("rtt min/avg/max/mdev = 0.351/0.402/0.455/0.035 ms\n")
	}
	return b.String()
}
