package sim

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// This file builds show vpn ike-sa (tables and the detail blocks), show vpn
// ipsec-sa and show vpn flow, in the layouts of the real samples in
// testdata/ (show_vpn_ike-sa_gateway_ikev2.txt,
// show_vpn_ike-sa_detail_gateway_ikev2.txt, article_show_vpn_ipsec-sa_tunnel.txt,
// article_show_vpn_flow_tunnel-id.txt, show_vpn_none_ikev2.txt).

// ikeSN is the serial number of the gateway's IKE SA.
const ikeSN = 67

// ikeEstablished is when the IKE SA (and its child SAs) were negotiated.
func (d *Device) ikeEstablished() time.Time { return d.boot.Add(50 * time.Hour).UTC() }

func (d *Device) saTimes() (string, string) {
	est := d.ikeEstablished()
	return est.Format("Jan.02 15:04:05"), est.Add(8 * time.Hour).Format("Jan.02 15:04:05")
}

// role is the IKE role of this firewall: Init when it started the exchange.
func (d *Device) role() string {
	if d.opts.LocalInitiates {
		return "Init"
	}
	return "Resp"
}

const noIKESA = "\nThere is no IKEv1 phase-1 SA found.\n\nThere is no IKEv1 phase-2 SA found.\n\nThere is no IKEv2 SA found.\n"

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
	if gw != "" && gw != t.Gateway {
		return noIKESA, nil
	}
	if detail {
		return d.ikeSADetail(), nil
	}
	if !d.ikeUp() {
		return noIKESA, nil
	}
	est, exp := d.saTimes()
	var children []saInfo
	if d.up() {
		children = d.sas()
	}
	var b strings.Builder
	b.WriteString("\nThere is no IKEv1 phase-1 SA found.\n\nThere is no IKEv1 phase-2 SA found.\n\n")
	b.WriteString("IKEv2 SAs\n")
	b.WriteString("Gateway ID      Peer-Address           Gateway Name           Role SN       Algorithm             Established     Expiration      Xt Child  ST\n")
	b.WriteString("----------      ------------           ------------           ---- --       ---------             -----------     ----------      -- -----  --\n")
	fmt.Fprintf(&b, "%-15d %-22s %-22s %-4s %-8d %-21s %-15s %-15s %-2d %-6d %s\n",
		t.GatewayID, t.PeerIP, t.Gateway, d.role(), ikeSN, "PSK/DH14/A256/SHA256", est, exp, 0, len(children), "Established")
	b.WriteString("\n")
	if len(children) > 0 {
		b.WriteString("IKEv2 IPsec Child SAs\n")
		b.WriteString("Gateway Name           TnID     Tunnel                    ID       Parent   Role SPI(in)  SPI(out) MsgID    ST\n")
		b.WriteString("------------           ----     ------                    --       ------   ---- -------  -------- -----    --\n")
		for i, sa := range children {
			fmt.Fprintf(&b, "%-22s %-8d %-25s %-8d %-8d %-4s %-8s %-8s %-8s %s\n",
				t.Gateway, sa.tunnelID, sa.name, 322550+i, ikeSN, d.role(), sa.spiIn, sa.spiOut, fmt.Sprintf("%08X", 0x7B4+i), "Mature")
		}
		b.WriteString("\n")
	}
	b.WriteString("Show IKEv2 SA: Total 1 gateways found. 1 ike sa found.\n")
	return b.String(), nil
}

// ago prints a duration as the detail form does: "11 minutes 43 seconds",
// "6 hours 24 minutes 53 seconds".
func ago(dur time.Duration) string {
	s := int(dur / time.Second)
	if s < 0 {
		s = 0
	}
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d hours %d minutes %d seconds", h, m, sec)
	}
	return fmt.Sprintf("%d minutes %d seconds", m, sec)
}

// tsRange turns a CIDR into the detail form's address range
// ("0.0.0.0-255.255.255.255").
func tsRange(cidr string) string {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return "0.0.0.0-255.255.255.255"
	}
	first := p.Masked().Addr()
	last := first.As4()
	bits := p.Bits()
	for i := 0; i < 4; i++ {
		for b := 0; b < 8; b++ {
			if i*8+b >= bits {
				last[i] |= 0x80 >> b
			}
		}
	}
	return fmt.Sprintf("%s-%d.%d.%d.%d", first, last[0], last[1], last[2], last[3])
}

// ikeSADetail is `show vpn ike-sa detail gateway G` in the layout of
// testdata/show_vpn_ike-sa_detail_gateway_ikev2.txt: the gateway line, the
// IKE SA block, one Child SA block per ESP SA and an expired INFO
// exchange. Without an IKE SA only the gateway lines are printed (ours: no
// public sample shows that case).
func (d *Device) ikeSADetail() string {
	t := d.topo
	now := d.clock().UTC()
	var b strings.Builder
	fmt.Fprintf(&b, "IKE Gateway %s, ID %d %s => %s\n", t.Gateway, t.GatewayID, t.LocalIP, t.PeerIP)
	fmt.Fprintf(&b, "  Current time: %s\n", now.Format("Jan.02 15:04:05"))
	if !d.ikeUp() {
		return b.String()
	}
	est := d.ikeEstablished()
	idI, idR := t.PeerIP, t.LocalIP
	msg := "rx 142, tx 0"
	if d.opts.LocalInitiates {
		idI, idR = t.LocalIP, t.PeerIP
		msg = "rx 0, tx 142"
	}
	life := est.Add(8 * time.Hour)
	b.WriteString("IKE SA:\n")
	fmt.Fprintf(&b, "  SPI:  %s:%s  %s\n", "57D57B99A1063996", "B53D13349D134568", d.role())
	b.WriteString("        State:      Established\n")
	fmt.Fprintf(&b, "        SN:         %d\n", ikeSN)
	b.WriteString("        Authentication:  PSK, peer PSK\n")
	b.WriteString("        Proposal:   AES256-CBC/SHA256/DH14\n")
	fmt.Fprintf(&b, "        ID local:   ipaddr:%s\n", t.LocalIP)
	fmt.Fprintf(&b, "           remote:  ipaddr:%s\n", t.PeerIP)
	fmt.Fprintf(&b, "        ID_i:       IPv4_address:%s\n", idI)
	fmt.Fprintf(&b, "        ID_r:       IPv4_address:%s\n", idR)
	b.WriteString("        NAT:        none\n")
	fmt.Fprintf(&b, "        Message ID: %s\n", msg)
	b.WriteString("        Liveness check: sending informational packet after idle 5 seconds\n")
	fmt.Fprintf(&b, "        Created:    %s, %s ago\n", est.Format("Jan.02 15:04:05"), ago(now.Sub(est)))
	fmt.Fprintf(&b, "        Expires:    %s, rekey in %s (%d sec)\n", life.Format("Jan.02 15:04:05"), ago(life.Sub(now)-48*time.Minute), int((life.Sub(now) - 48*time.Minute).Seconds()))
	n := 1
	if d.up() {
		for _, sa := range d.sas() {
			cexp := est.Add(8 * time.Hour)
			rekey := time.Duration(d.lifeRemain()) * time.Second
			fmt.Fprintf(&b, "  Child SA %d:\n", n)
			fmt.Fprintf(&b, "        Tunnel %d    %s\n", sa.tunnelID, sa.name)
			fmt.Fprintf(&b, "        Type:       ESP       %s\n", d.role())
			b.WriteString("        State:      Mature\n")
			fmt.Fprintf(&b, "        Message ID: %08X\n", n)
			fmt.Fprintf(&b, "        Parent SN:  %d\n", ikeSN)
			fmt.Fprintf(&b, "        SPI:        %s : %s \n", sa.spiIn, sa.spiOut)
			b.WriteString("        Algorithm:  3DES-CBC/SHA1/DH14\n")
			fmt.Fprintf(&b, "        TS local:   Proto:any, %s, Ports:any\n", tsRange(sa.tsLocal))
			fmt.Fprintf(&b, "        TS remote:  Proto:any, %s, Ports:any\n", tsRange(sa.tsRemote))
			fmt.Fprintf(&b, "        Created:    %s, %s ago\n", est.Format("Jan.02 15:04:05"), ago(now.Sub(est)))
			fmt.Fprintf(&b, "        Expires:    %s, rekey in %s (%d sec)\n", cexp.Format("Jan.02 15:04:05"), ago(rekey), int(rekey.Seconds()))
			n++
		}
	}
	// The last informational exchange (liveness check), expired.
	fmt.Fprintf(&b, "  Child SA %d:\n", 141)
	b.WriteString("        Type:       INFO\n")
	b.WriteString("        State:      Expired\n")
	b.WriteString("        Message ID: 0000008D\n")
	fmt.Fprintf(&b, "        Parent SN:  %d\n", ikeSN)
	return b.String()
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
	var sas []saInfo
	conf := 0
	for _, sa := range d.configured() {
		// tunnel T finds T's SA, or every T:PROXYID SA of a proxy-ID tunnel.
		if tn == "" || sa.name == tn || strings.HasPrefix(sa.name, tn+":") {
			conf++
			if !sa.noSA {
				sas = append(sas, sa)
			}
		}
	}
	if conf == 0 {
		return "\nShow IPSec SA: Total 0 tunnels found. 0 ipsec sa found.\n", nil
	}
	if !d.up() && tn == "" {
		// PAN-OS 11 (public NGFW integration guide, show_vpn_none_ikev2.txt).
		return "\nThere is no IPSec SA found.\n", nil
	}
	var b strings.Builder
	b.WriteString("\nGwID/client IP  TnID   Peer-Address           Tunnel(Gateway)                                Algorithm     SPI(in)  SPI(out) life(Sec/KB)\n")
	b.WriteString("--------------  ----   ------------           ---------------                                ---------     -------  -------- ------------\n")
	if !d.up() || len(sas) == 0 {
		// The tunnel form without an SA (header, no row, 0 SAs): ours, no
		// public sample shows it.
		fmt.Fprintf(&b, "\nShow IPSec SA: Total %d tunnels found. 0 ipsec sa found.\n", conf)
		return b.String(), nil
	}
	for _, sa := range sas {
		fmt.Fprintf(&b, "%-15d %-6d %-22s %-46s %-13s %-8s %-8s %d/0\n",
			t.GatewayID, sa.tunnelID, t.PeerIP, sa.name+"("+t.Gateway+")", "ESP/3des/SHA1", sa.spiIn, sa.spiOut, d.lifeRemain()+43)
	}
	// Tunnels counts the configured ones, SAs those up (Zscaler sample:
	// "Total 2 tunnels found. 1 ipsec sa found.").
	fmt.Fprintf(&b, "\nShow IPSec SA: Total %d tunnels found. %d ipsec sa found.\n", conf, len(sas))
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
		n := len(d.configured())
		fmt.Fprintf(&b, "\ntotal tunnels configured: %d\nfilter - type IPSec, state any\n\ntotal IPSec tunnel configured: %d\ntotal IPSec tunnel shown: %d\n\n", n, n, n)
		b.WriteString("id    name                          state   monitor local-ip                      peer-ip                       tunnel-i/f\n")
		b.WriteString("--    ----                          -----   ------- --------                      -------                       ----------\n")
		for _, sa := range d.configured() {
			st := state
			if sa.noSA {
				st = "init"
			}
			fmt.Fprintf(&b, "%-5d %-29s %-7s %-7s %-29s %-29s %s\n", sa.tunnelID, sa.name, st, "off", t.LocalIP, t.PeerIP, t.InnerInterface)
		}
		return b.String(), nil
	}
	var sa saInfo
	switch {
	case len(w) == 2 && w[0] == "tunnel-id":
		id, err := checkNum("tunnel-id", w[1], 1<<20)
		if err != nil {
			return "", err
		}
		var ok bool
		if sa, ok = d.saByID(id); !ok {
			return fmt.Sprintf("tunnel-id %d not found\n", id), nil
		}
	case len(w) == 2 && w[0] == "name":
		var ok bool
		if sa, ok = d.saByName(w[1]); !ok {
			return fmt.Sprintf("tunnel %s not found\n", w[1]), nil
		}
	default:
		return "", invalidSyntax()
	}
	lspi, rspi, sess, ctx := sa.spiIn, sa.spiOut, fmt.Sprint(t.ESPSessionID), "23"
	life := fmt.Sprintf("%d sec", d.lifeRemain())
	if !d.up() {
		lspi, rspi, sess, ctx, life = "00000000", "00000000", "0", "0", "0 sec"
	}
	pl, pr := sa.local, sa.remote
	f := *d.flows[sa.tunnelID]
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
        proxy-id local ip:      %s
        proxy-id remote ip:     %s
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
`, sa.name, sa.tunnelID, t.GatewayID, t.LocalIP, t.PeerIP, t.InnerInterface, t.OuterInterface, state, sess,
		life, 2865+d.seq, ctx, lspi, rspi, pl, pr, f.authErrors, f.decryptErrors, f.replay, f.encapPkts, f.decapPkts, f.encapBytes, f.decapBytes, f.acquire), nil
}
