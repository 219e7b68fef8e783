package sim

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// This file builds the session table (show session all, show session id)
// in the layouts of testdata/show_session_all_filter.txt and
// testdata/show_session_id.txt. A session runs from the side that sent its
// first packet (the client, c2s) to the other (s2c).

// flowSession is one entry of the session table.
type flowSession struct {
	id                     int
	app, state, typ, flag  string
	src, dst               string
	sport, dport, proto    int
	srcZone, dstZone, vsys string
	natSrc                 string
	rule, ingress, egress  string
	// c2sMoves and s2cMoves say whether bytes flow from the client and
	// from the server; a direction that never moved shows 0 bytes.
	c2sMoves, s2cMoves bool
	// inner is traffic between the hosts behind the tunnel; new inner
	// sessions keep being created, so a filter marks them. The IKE and ESP
	// sessions predate the filter unless Options.FreshSessions.
	inner bool
}

func (d *Device) sessions() []flowSession {
	t := d.topo
	f := d.faults
	sc := d.opts.Scenario
	// Outer sessions run from the side that started them.
	outer := func(localFirst bool) (src, dst string) {
		if localFirst {
			return t.LocalIP, t.PeerIP
		}
		return t.PeerIP, t.LocalIP
	}
	rule := t.Rule
	if d.opts.NoIPSecRule {
		rule = "intrazone-default" // the predefined rule that allows it
	}
	var s []flowSession
	if !f.NoIKESession {
		ike := flowSession{id: t.IKESessionID, app: "ike", state: "ACTIVE", typ: "FLOW", sport: 500, dport: 500, proto: 17,
			srcZone: t.OutsideZone, dstZone: t.OutsideZone, vsys: "vsys1", rule: rule,
			ingress: t.OuterInterface, egress: t.OuterInterface, c2sMoves: true, s2cMoves: true}
		switch {
		case f.PeerIKEUnanswered:
			// The peer's requests arrive; this firewall does not answer.
			ike.src, ike.dst = outer(false)
			ike.s2cMoves = false
		case sc == Phase1Down:
			// Nothing from the peer: this firewall's own requests, unanswered.
			ike.src, ike.dst = outer(true)
			ike.s2cMoves = false
		default:
			ike.src, ike.dst = outer(d.opts.LocalInitiates)
		}
		s = append(s, ike)
	}
	if d.up() {
		esp := flowSession{id: t.ESPSessionID, app: "ipsec-esp", state: "ACTIVE", typ: "FLOW", proto: 50,
			srcZone: t.OutsideZone, dstZone: t.OutsideZone, vsys: "vsys1", rule: rule,
			ingress: t.OuterInterface, egress: t.OuterInterface, c2sMoves: true, s2cMoves: true}
		switch sc {
		case NoTraffic:
			// Only this firewall sends ESP: the session is its own, no reply.
			esp.src, esp.dst = outer(true)
			esp.s2cMoves = false
		case NoEncap:
			// Only the peer sends ESP: its session, nothing sent back.
			esp.src, esp.dst = outer(false)
			esp.s2cMoves = false
		default:
			esp.src, esp.dst = outer(d.opts.LocalInitiates)
		}
		s = append(s, esp)
	}
	// The traffic between the hosts behind the tunnel: it keeps trying
	// when the tunnel is down (and is dropped: flow_tunnel_encap_resolve).
	// It leaves by the interface of the route to RemoteHost, or into the
	// tunnel when a PBF rule sends it there (Options.PBFIntoTunnel) or no
	// route was found.
	traffic := flowSession{id: t.TrafficSessionID, app: "ping", state: "ACTIVE", typ: "FLOW", src: t.LocalHost, sport: 1,
		dst: t.RemoteHost, dport: 2048, proto: 1, srcZone: t.InsideZone, dstZone: t.VPNZone, vsys: "vsys1",
		rule: "inside-to-vpn", ingress: "ethernet1/2", egress: t.InnerInterface,
		c2sMoves: sc != NoEncap && sc != Idle, s2cMoves: sc == Healthy || sc == Performance, inner: true}
	if a, err := netip.ParseAddr(t.RemoteHost); err == nil && !d.opts.PBFIntoTunnel {
		if iface, _, _, ok := d.route(a); ok && iface != t.InnerInterface {
			traffic.egress, traffic.dstZone = iface, t.OutsideZone
		}
	}
	if d.opts.OneWayTraffic {
		// syslog to a collector behind the tunnel: nothing comes back.
		traffic.app, traffic.sport, traffic.dport, traffic.proto, traffic.s2cMoves = "syslog", 51514, 514, 17, false
	}
	s = append(s, traffic)
	return s
}

// markedLocked reports whether the packet filter marked the session: the
// filter is on, one of its entries matches the session's first packet
// (client to server), and the session started after the filter was set.
func (d *Device) markedLocked(s flowSession) bool {
	if d.debug[SwPacketFilter] != "on" {
		return false
	}
	if !s.inner && !d.opts.FreshSessions {
		return false // older than the filter
	}
	for _, f := range d.filters {
		if (f.src == "" || f.src == s.src) && (f.dst == "" || f.dst == s.dst) &&
			(f.sport == "" || f.sport == fmt.Sprint(s.sport)) && (f.dport == "" || f.dport == fmt.Sprint(s.dport)) &&
			(f.prot == "" || f.prot == fmt.Sprint(s.proto)) {
			return true
		}
	}
	return false
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
		// The filter keys name the client-to-server flow: a session is found
		// by the direction it was started in.
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

// sessionID prints one session in the layout of testdata/show_session_id.txt
// (same labels, same order). The values of the sample's aged-out session
// that an active session has not (nat-rule, end-reason) are ours.
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
	per := 74
	if s.app == "ike" {
		per = 412
	}
	bytes := func(moves bool) int {
		if !moves {
			return 0
		}
		return per * (d.seq + 3)
	}
	pkts := func(moves bool) int {
		if !moves {
			return 0
		}
		return d.seq + 3
	}
	dstZone := s.dstZone
	return fmt.Sprintf(`
Session %15d

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
        address/port translation             : none
        nat-rule                             : none
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
        end-reason                           : unknown
`, s.id,
		s.src, s.srcZone, s.dst, s.proto, s.sport, s.dport, s.state, s.typ,
		s.dst, dstZone, s.src, s.proto, s.dport, s.sport, s.state, s.typ,
		start, bytes(s.c2sMoves), bytes(s.s2cMoves), pkts(s.c2sMoves), pkts(s.s2cMoves), s.vsys, s.app, s.rule,
		terminate, tunnel, terminate, s.ingress, s.egress, "active")
}
