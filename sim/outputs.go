package sim

import (
	"fmt"
	"net/netip"
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
	// inner is true for the counters of the traffic through the tunnel:
	// with packet-filter yes they count only when an inner session is
	// marked; the others when any session is.
	inner bool
}

var counterSpecs = []counterSpec{
	{"pkt_recv", "info", "packet", "pktproc", "Packets received", 29,
		map[Scenario]int64{Healthy: 60, Phase1Down: 0, Phase2Down: 4, NoTraffic: 3, Performance: 900, NoEncap: 33, Idle: 2}, false},
	{"pkt_sent", "info", "packet", "pktproc", "Packets transmitted", 21,
		map[Scenario]int64{Healthy: 60, Phase1Down: 2, Phase2Down: 4, NoTraffic: 33, Performance: 900, NoEncap: 3, Idle: 2}, false},
	{"session_allocated", "info", "session", "resource", "Sessions allocated", 3,
		map[Scenario]int64{Healthy: 2, Phase1Down: 1, Phase2Down: 1, NoTraffic: 2, Performance: 40, NoEncap: 2, Idle: 1}, false},
	{"flow_tunnel_encap_pkt", "info", "flow", "tunnel", "Packets encapsulated into IPSec tunnel", 0,
		map[Scenario]int64{Healthy: 30, NoTraffic: 30, Performance: 450}, true},
	{"flow_tunnel_decap_pkt", "info", "flow", "tunnel", "Packets decapsulated from IPSec tunnel", 0,
		map[Scenario]int64{Healthy: 30, Performance: 450, NoEncap: 30}, true},
	{"flow_tunnel_encap_resolve", "drop", "flow", "tunnel", "Packets dropped: no IPSec SA for tunnel", 0,
		map[Scenario]int64{Phase2Down: 8}, true},
	{"flow_host_vardata_rate_limit_reached", "drop", "flow", "pktproc", "Packets dropped: rate limit reached for packet capture", 0,
		map[Scenario]int64{Performance: 12}, false},
	// Moved by Faults.DenyIPSec (tickLocked): the peer's IKE and ESP packets
	// denied by the deny rule. The counter is PAN-OS's; its rate is ours.
	{"flow_policy_deny", "drop", "flow", "session", "Session setup: denied by policy", 0, nil, false},
}

// tickLocked moves counters as if one command's worth of time passed, and
// writes the packets of marked sessions into the capture files while the
// capture is on.
func (d *Device) tickLocked() {
	sc := d.opts.Scenario
	for _, c := range counterSpecs {
		if r := c.rate[sc]; r > 0 {
			d.ctr[c.name] += r + d.rng.Int63n(r/4+1)
		}
	}
	if d.faults.DenyIPSec {
		d.ctr["flow_policy_deny"] += 2 + d.rng.Int63n(2)
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
	for i, sa := range d.sas() {
		f := d.flows[sa.tunnelID]
		div := int64(i + 1)
		if e := enc / div; e > 0 {
			e += d.rng.Int63n(e/4 + 1)
			f.encapPkts += e
			f.encapBytes += e * 184
		}
		if x := dec / div; x > 0 {
			x += d.rng.Int63n(x/4 + 1)
			f.decapPkts += x
			f.decapBytes += x * 1421
		}
		if d.faults.AuthErrors {
			f.authErrors += 3
			f.decryptErrors += 2
		}
		if d.faults.ReplayDrops {
			f.replay += 4
		}
	}
	if d.debug[SwPacketCapture] == "on" {
		// A capture file is written when a packet is captured: with no
		// marked session, an old file of the same name stays as it was.
		n := int64(0)
		for _, s := range d.sessions() {
			if d.markedLocked(s) {
				n += 2
			}
		}
		for _, f := range d.stages {
			if n == 0 {
				break
			}
			// A file of the same name left by an earlier capture is
			// written on: its old packets stay in it (ours: no public
			// source says whether PAN-OS appends or replaces; appending is
			// the case a procedure must guard against).
			cf := d.files[f]
			if cf == nil {
				cf = &captureFile{}
				d.files[f] = cf
			}
			cf.packets += n
		}
	}
}

func (d *Device) counterGlobal(w []string) (string, error) {
	delta, pf := false, false
	keep := func(counterSpec) bool { return true }
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
		pf = kv["packet-filter"] == "yes"
		if sev := kv["severity"]; sev != "" {
			keep = func(c counterSpec) bool { return c.severity == sev }
		}
	}
	if pf {
		// Only the packets of sessions the filter marked are counted: a
		// filter marks new sessions only (KB "Getting Started: Packet
		// Capture"), so sessions older than the filter are not counted.
		anyMarked, innerMarked := false, false
		for _, s := range d.sessions() {
			if d.markedLocked(s) {
				anyMarked = true
				innerMarked = innerMarked || s.inner
			}
		}
		sev := keep
		keep = func(c counterSpec) bool {
			if c.inner {
				return innerMarked && sev(c)
			}
			return anyMarked && sev(c)
		}
	}
	return d.counterTable(delta, keep), nil
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
	// The group loads come first on the real samples
	// (parse/testdata/show_running_resource-monitor_*.txt); here every
	// group is at the dataplane's load.
	b.WriteString("CPU load sampling by group:\n")
	for _, g := range resmonGroups {
		fmt.Fprintf(&b, "%-30s : %5d%%\n", g, load)
	}
	b.WriteString("\n")
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
		// 15 samples a line, as the real samples wrap them.
		for len(vals) > 0 {
			k := min(len(vals), 15)
			b.WriteString(strings.Join(vals[:k], " ") + "\n")
			vals = vals[k:]
		}
	}
	return b.String(), nil
}

// resmonGroups are the CPU load groups of a real resource-monitor answer
// (the PA-2050 sample, parse/testdata/show_running_resource-monitor_pa-2050.txt).
var resmonGroups = []string{"flow_lookup", "flow_fastpath", "flow_slowpath", "flow_forwarding", "flow_mgmt",
	"flow_ctrl", "nac_result", "flow_np", "dfa_result", "module_internal", "aho_result", "zip_result",
	"pktlog_forwarding", "pci", "flow_host"}

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

func (d *Device) fibLookup(vr, ip string) (string, error) {
	t := d.topo
	if vr != t.VirtualRouter {
		return "", serverErr(fmt.Sprintf("virtual-router %s does not exist", vr))
	}
	a := netip.MustParseAddr(ip)
	line := strings.Repeat("-", 80) + "\n"
	iface, via, metric, ok := d.route(a)
	if !ok {
		return fmt.Sprintf("%sruntime route lookup\n%svirtual-router:   %s\ndestination:      %s\nresult:           no route found\n%s",
			line, line, vr, ip, line), nil
	}
	return fmt.Sprintf("%sruntime route lookup\n%svirtual-router:   %s\ndestination:      %s\nresult:\n     via %s interface %s, source %s, metric %d\n%s",
		line, line, vr, ip, via, iface, t.LocalIP, metric, line), nil
}

// route is the virtual router's route to a: its egress interface, next hop
// ("on-link" for a connected or tunnel route) and metric; ok is false when
// there is none. RemoteNetwork is routed into the tunnel, unless
// Options.PBFIntoTunnel (then only a PBF rule sends the traffic there and
// the route is the default one, out of the outside interface).
func (d *Device) route(a netip.Addr) (iface, via string, metric int, ok bool) {
	t := d.topo
	if !d.routable(a) {
		return "", "", 0, false
	}
	local := netip.MustParsePrefix(t.LocalIP + "/24").Masked()
	iface, via, metric = t.OuterInterface, "", 10
	if remote, err := netip.ParsePrefix(t.RemoteNetwork); err == nil && remote.Contains(a) && !d.opts.PBFIntoTunnel {
		iface, via = t.InnerInterface, "on-link"
	} else if local.Contains(a) {
		via, metric = "on-link", 0
	} else {
		via = local.Addr().Next().String()
		if via == t.PeerIP || via == t.LocalIP {
			via = netip.MustParseAddr(t.LocalIP).Next().String()
		}
	}
	return iface, via, metric, true
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
	reachable := (host == t.PeerIP && !d.opts.PeerDropsICMP) || host == t.LocalIP || (d.up() && host == t.RemoteHost)
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
