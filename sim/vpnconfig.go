package sim

import (
	"fmt"
	"strings"
)

// This file builds show vpn tunnel and show vpn gateway, the configured
// IPSec tunnels (proxy IDs, IPSec crypto proposal) and IKE gateways (IKE
// crypto proposal), printed whether or not the tunnel is up, in the layout
// of testdata/show_vpn_flow_gateway_tunnel_zscaler-doc.txt (a public
// Zscaler configuration example). Over the XML API show vpn tunnel answers
// the elements of the elastic/beats fixture (api_xml.go); show vpn gateway
// answers its text, as every command without a known XML shape does.

// Crypto is a crypto profile as the two commands print it: the DH groups
// (the IPSec profile's PFS group), the encryption and the authentication
// algorithms, and the lifetime in seconds.
type Crypto struct {
	DH       []string // "DH14"
	Enc      []string // "AES256", "3DES"
	Hash     []string // "SHA256"
	Lifetime int      // seconds
}

// DefaultIKECrypto is the gateway's IKE crypto profile when
// Topology.IKECrypto is zero: the proposal the IKE SA shows
// (PSK/DH14/A256/SHA256).
func DefaultIKECrypto() Crypto {
	return Crypto{DH: []string{"DH14"}, Enc: []string{"AES256"}, Hash: []string{"SHA256"}, Lifetime: 28800}
}

// DefaultIPSecCrypto is the tunnel's IPSec crypto profile when
// Topology.IPSecCrypto is zero: the algorithms the IPSec SA shows
// (ESP/3des/SHA1, PFS DH14).
func DefaultIPSecCrypto() Crypto {
	return Crypto{DH: []string{"DH14"}, Enc: []string{"3DES"}, Hash: []string{"SHA1"}, Lifetime: 28800}
}

// orDefault fills the zero fields of c from def.
func (c Crypto) orDefault(def Crypto) Crypto {
	if len(c.DH) == 0 {
		c.DH = def.DH
	}
	if len(c.Enc) == 0 {
		c.Enc = def.Enc
	}
	if len(c.Hash) == 0 {
		c.Hash = def.Hash
	}
	if c.Lifetime == 0 {
		c.Lifetime = def.Lifetime
	}
	return c
}

// brackets prints the profile's parts as "[DH14][AES256][SHA256]"; several
// values in one part are joined with commas (ours: the public sample shows
// one value per part).
func (c Crypto) brackets() string {
	return "[" + strings.Join(c.DH, ",") + "][" + strings.Join(c.Enc, ",") + "][" + strings.Join(c.Hash, ",") + "]"
}

// Mirror returns the topology of the tunnel's other end: the local and
// peer addresses swapped, the hosts behind each end swapped (and the
// networks, when LocalNetwork is set), and each proxy ID's local and
// remote networks swapped, so that both ends' selectors mirror each other.
func (t Topology) Mirror() Topology {
	m := t
	m.LocalIP, m.PeerIP = t.PeerIP, t.LocalIP
	m.LocalHost, m.RemoteHost = t.RemoteHost, t.LocalHost
	if t.LocalNetwork != "" {
		m.LocalNetwork, m.RemoteNetwork = t.RemoteNetwork, t.LocalNetwork
	}
	m.ProxyIDs = nil
	for _, p := range t.ProxyIDs {
		p.Local, p.Remote = p.Remote, p.Local
		p.TSLocal, p.TSRemote = p.TSRemote, p.TSLocal
		m.ProxyIDs = append(m.ProxyIDs, p)
	}
	return m
}

// nameFilter reads the optional `name NAME` of show vpn tunnel and show
// vpn gateway: "" for none; anything else is invalid syntax.
func nameFilter(w []string) (string, error) {
	switch {
	case len(w) == 0:
		return "", nil
	case len(w) == 2 && w[0] == "name":
		return w[1], nil
	}
	return "", invalidSyntax()
}

// configuredNamed are the configured tunnels `name NAME` picks: all
// for "", else the tunnel NAME, or every proxy ID of it (NAME:proxy).
func (d *Device) configuredNamed(name string) []saInfo {
	all := d.configured()
	if name == "" {
		return all
	}
	var out []saInfo
	for _, sa := range all {
		if sa.name == name || strings.HasPrefix(sa.name, name+":") {
			out = append(out, sa)
		}
	}
	return out
}

func (d *Device) vpnTunnel(w []string) (string, error) {
	name, err := nameFilter(w)
	if err != nil {
		return "", err
	}
	t := d.topo
	c := t.IPSecCrypto.orDefault(DefaultIPSecCrypto())
	var b strings.Builder
	b.WriteString("\nTnID    Name(Gateway)                        Local Proxy IP     Ptl:Port      Remote Proxy IP    Ptl:Port                                   Proposals\n")
	b.WriteString(strings.Repeat("-", 149) + "\n")
	n := 0
	for _, sa := range d.configuredNamed(name) {
		fmt.Fprintf(&b, "%-10d %-33s %-18s %-13s %-18s %-11s %s      %d-sec\n",
			sa.tunnelID, sa.name+"("+t.Gateway+")", sa.local, "0:0", sa.remote, "0:0", "ESP tunl "+c.brackets(), c.Lifetime)
		n++
	}
	fmt.Fprintf(&b, "\nShow IPSec tunnel config: Total %d tunnels found\n", n)
	return b.String(), nil
}

func (d *Device) vpnGateway(w []string) (string, error) {
	name, err := nameFilter(w)
	if err != nil {
		return "", err
	}
	t := d.topo
	c := t.IKECrypto.orDefault(DefaultIKECrypto())
	var b strings.Builder
	b.WriteString("\nGwID     Name                 Peer-Address/ID                Local Address/ID               Protocol    Proposals\n")
	b.WriteString("----     ----                 ---------------                ----------------               --------    ---------\n")
	n := 0
	if name == "" || name == t.Gateway {
		fmt.Fprintf(&b, "%-8d %-20s %-30s %-30s %-11s %s%d-sec\n", t.GatewayID, t.Gateway, t.PeerIP, t.LocalIP, "IKEv2", "[PSK]"+c.brackets(), c.Lifetime)
		n = 1
	}
	fmt.Fprintf(&b, "\nShow IKE gateway config: Total %d gateways found.\n", n)
	return b.String(), nil
}

// vpnTunnelXML is show vpn tunnel's XML answer (see structuredState).
func (d *Device) vpnTunnelXML(name string) string {
	t := d.topo
	c := t.IPSecCrypto.orDefault(DefaultIPSecCrypto())
	var b strings.Builder
	n := 0
	el := func(k, v string) { b.WriteString("<" + k + ">" + xmlText(v) + "</" + k + ">") }
	b.WriteString("<entries>")
	for _, sa := range d.configuredNamed(name) {
		n++
		lip, lpre, _ := strings.Cut(sa.local, "/")
		rip, rpre, _ := strings.Cut(sa.remote, "/")
		b.WriteString("<entry>")
		el("id", fmt.Sprint(sa.tunnelID))
		el("name", sa.name)
		el("gw", t.Gateway)
		el("TSi_ip", lip)
		el("TSi_prefix", lpre)
		el("TSi_proto", "0")
		el("TSi_port", "0")
		el("TSr_ip", rip)
		el("TSr_prefix", rpre)
		el("TSr_proto", "0")
		el("TSr_port", "0")
		el("proto", "ESP")
		el("mode", "tunl")
		for _, v := range c.DH {
			el("dh", v)
		}
		for _, v := range c.Enc {
			el("enc", v)
		}
		for _, v := range c.Hash {
			el("hash", v)
		}
		el("life", fmt.Sprint(c.Lifetime))
		el("kb", "0")
		b.WriteString("</entry>")
	}
	b.WriteString("</entries>")
	return fmt.Sprintf("<ntun>%d</ntun>", n) + b.String()
}
