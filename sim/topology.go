package sim

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
