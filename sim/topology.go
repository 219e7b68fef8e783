package sim

import "fmt"

// Topology is the VPN a simulated device has: one route-based IPSec tunnel
// to one peer. Tests and the demo target pass these values as playbook
// parameters; commands naming another tunnel or gateway get the "not
// found" output.
type Topology struct {
	VirtualRouter  string // "default"
	Tunnel         string // IPSec tunnel name
	Gateway        string // IKE gateway name
	TunnelID       int
	GatewayID      int
	LocalIP        string // the firewall's outside address
	PeerIP         string // the VPN peer
	OutsideZone    string
	InsideZone     string
	VPNZone        string
	InnerInterface string // tunnel.N
	OuterInterface string // ethernet1/N
	// LocalHost and RemoteHost are two hosts behind each end; traffic
	// between them goes through the tunnel.
	LocalHost     string
	RemoteHost    string
	RemoteNetwork string // CIDR reached through the tunnel
	// LocalNetwork is the network of LocalHost (CIDR): the other end's
	// RemoteNetwork (Mirror).
	LocalNetwork string
	// Session ids of the IKE, ESP and inner traffic sessions.
	IKESessionID     int
	ESPSessionID     int
	TrafficSessionID int
	// Rule is the security rule allowing IKE and ESP.
	Rule string
	// NoDefaultRoute leaves the virtual router with only the connected
	// network of LocalIP (a /24) and RemoteNetwork: fib-lookup finds no
	// route to any other address, and ping gets no reply from it.
	NoDefaultRoute bool
	// ProxyIDs, when set, make the tunnel a proxy-ID tunnel: it has one
	// IPSec SA per proxy ID, named TUNNEL:PROXYID (sap-sap:pid1), each with
	// its own tunnel id, and none under the bare tunnel name or TunnelID.
	ProxyIDs []ProxyID
	// IKECrypto is the gateway's IKE crypto profile and IPSecCrypto the
	// tunnel's IPSec crypto profile, as show vpn gateway and show vpn
	// tunnel print them; zero fields take the values of DefaultIKECrypto
	// and DefaultIPSecCrypto. Give one end of a pair other values (or
	// other ProxyIDs than the Mirror of its peer's) to make the two ends'
	// configurations differ.
	IKECrypto, IPSecCrypto Crypto
}

// ProxyID is one proxy ID (traffic selector pair) of a proxy-ID tunnel.
type ProxyID struct {
	Name     string // "pid1"
	TunnelID int    // the SA's own tunnel id
	Local    string // local network, CIDR
	Remote   string // remote network, CIDR
	// TSLocal and TSRemote are the traffic selectors the SA was negotiated
	// with, when the IKEv2 responder narrowed the proposal to a part of
	// Local and Remote (RFC 7296 §2.9): show vpn ike-sa detail prints
	// them; "" is Local and Remote as configured. show vpn tunnel and show
	// vpn flow print the configured ones.
	TSLocal, TSRemote string
	// NoSA is a proxy ID the peer accepts no part of: it has no SA (not in
	// the SA tables, the detail or the flows) while it stays configured
	// (show vpn tunnel lists it) and the tunnel's other proxy IDs are up.
	NoSA bool
}

// DenyRule is the name of the deny rule the DenyIPSec fault adds.
const DenyRule = "deny-vpn-peer"

// ProxyIDTopology is DefaultTopology with two proxy IDs: sap-sap:pid1
// (tunnel id 208, 192.168.10.0/24 to 192.168.20.0/24) and sap-sap:pid2
// (tunnel id 209, 192.168.11.0/24 to 192.168.21.0/24).
func ProxyIDTopology() Topology {
	t := DefaultTopology()
	t.ProxyIDs = []ProxyID{
		{Name: "pid1", TunnelID: 208, Local: "192.168.10.0/24", Remote: "192.168.20.0/24"},
		{Name: "pid2", TunnelID: 209, Local: "192.168.11.0/24", Remote: "192.168.21.0/24"},
	}
	return t
}

// NarrowedTopology is DefaultTopology with one proxy ID wider than its
// peer's: sap-sap:pid1 (tunnel id 208) 192.168.8.0/21 to 192.168.16.0/20,
// which the peer (NarrowedTopology().Mirror().Narrowed(), configured
// 192.168.20.0/24 to 192.168.10.0/24) narrowed to 192.168.10.0/24 to
// 192.168.20.0/24. The SA is up on both ends and carries the hosts'
// traffic (192.168.10.10 to 192.168.20.10): a healthy IKEv2 pair whose
// proxy IDs do not mirror.
func NarrowedTopology() Topology {
	t := DefaultTopology()
	t.ProxyIDs = []ProxyID{{Name: "pid1", TunnelID: 208, Local: "192.168.8.0/21", Remote: "192.168.16.0/20",
		TSLocal: "192.168.10.0/24", TSRemote: "192.168.20.0/24"}}
	return t
}

// Narrowed returns the topology with each proxy ID configured as the
// selectors it was negotiated with (TSLocal, TSRemote): the end that
// narrowed its peer's wider proposal.
func (t Topology) Narrowed() Topology {
	m := t
	m.ProxyIDs = nil
	for _, p := range t.ProxyIDs {
		if p.TSLocal != "" && p.TSRemote != "" {
			p.Local, p.Remote = p.TSLocal, p.TSRemote
		}
		p.TSLocal, p.TSRemote = "", ""
		m.ProxyIDs = append(m.ProxyIDs, p)
	}
	return m
}

// saInfo is one IPSec SA of the topology (a pair of SPIs).
type saInfo struct {
	name              string // TUNNEL or TUNNEL:PROXYID
	tunnelID          int
	spiIn, spiOut     string
	local, remote     string // proxy-id networks, CIDR
	tsLocal, tsRemote string // negotiated traffic selectors, CIDR
	noSA              bool   // configured, no SA
}

// sas lists the tunnel's SAs: one, or one per proxy ID that has an SA.
func (d *Device) sas() []saInfo {
	var out []saInfo
	for _, sa := range d.configured() {
		if !sa.noSA {
			out = append(out, sa)
		}
	}
	return out
}

// configured lists the tunnel's configured SAs, with or without an SA:
// one, or one per proxy ID.
func (d *Device) configured() []saInfo {
	t := d.topo
	if len(t.ProxyIDs) == 0 {
		return []saInfo{{name: t.Tunnel, tunnelID: t.TunnelID, spiIn: "8AE5524F", spiOut: "B198C409", local: "0.0.0.0/0", remote: "0.0.0.0/0",
			tsLocal: "0.0.0.0/0", tsRemote: "0.0.0.0/0"}}
	}
	out := make([]saInfo, len(t.ProxyIDs))
	for i, p := range t.ProxyIDs {
		id := p.TunnelID
		if id == 0 {
			id = t.TunnelID + 1 + i
		}
		out[i] = saInfo{name: t.Tunnel + ":" + p.Name, tunnelID: id,
			spiIn: fmt.Sprintf("%08X", 0x8AE5524F+0x1111*(i+1)), spiOut: fmt.Sprintf("%08X", 0xB198C409+0x2222*(i+1)),
			local: p.Local, remote: p.Remote, tsLocal: p.Local, tsRemote: p.Remote, noSA: p.NoSA}
		if p.TSLocal != "" && p.TSRemote != "" {
			out[i].tsLocal, out[i].tsRemote = p.TSLocal, p.TSRemote
		}
	}
	return out
}

// saByID finds an SA by tunnel id.
func (d *Device) saByID(id int) (saInfo, bool) {
	for _, sa := range d.sas() {
		if sa.tunnelID == id {
			return sa, true
		}
	}
	return saInfo{}, false
}

// saByName finds an SA by its name (TUNNEL or TUNNEL:PROXYID).
func (d *Device) saByName(name string) (saInfo, bool) {
	for _, sa := range d.sas() {
		if sa.name == name {
			return sa, true
		}
	}
	return saInfo{}, false
}

// DefaultTopology is the tunnel of the article's sample: sap-sap (id 207)
// through gateway sap (id 90), 10.1.1.2 to 10.1.1.1.
func DefaultTopology() Topology {
	return Topology{
		VirtualRouter:    "default",
		Tunnel:           "sap-sap",
		Gateway:          "sap",
		TunnelID:         207,
		GatewayID:        90,
		LocalIP:          "10.1.1.2",
		PeerIP:           "10.1.1.1",
		OutsideZone:      "untrust",
		InsideZone:       "trust",
		VPNZone:          "vpn",
		InnerInterface:   "tunnel.10",
		OuterInterface:   "ethernet1/21",
		LocalHost:        "192.168.10.10",
		RemoteHost:       "192.168.20.10",
		RemoteNetwork:    "192.168.20.0/24",
		LocalNetwork:     "192.168.10.0/24",
		IKESessionID:     145371,
		ESPSessionID:     145372,
		TrafficSessionID: 145390,
		Rule:             "allow-ipsec",
	}
}

// Params returns the topology as the four playbooks' parameters name it.
func (t Topology) Params() map[string]string {
	return map[string]string{
		"tunnel":         t.Tunnel,
		"gateway":        t.Gateway,
		"peer_ip":        t.PeerIP,
		"local_ip":       t.LocalIP,
		"virtual_router": t.VirtualRouter,
		"src":            t.LocalHost,
		"dst":            t.RemoteHost,
	}
}
