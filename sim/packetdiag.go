package sim

import (
	"fmt"
	"sort"
	"strings"
)

// packetDiagLine is the rule of dashes of `debug dataplane packet-diag show
// setting` (73 characters in the Tech Note's copy).
var packetDiagLine = strings.Repeat("-", 73) + "\n"

// maxFilters is the number of packet-diag filter slots (KB "Getting
// Started: Packet Capture": four filters).
const maxFilters = 4

// packetDiagSetting prints `debug dataplane packet-diag show setting` in
// the layout of the Tech Note "Packet Based Troubleshooting"
// (testdata/debug_dataplane_packet-diag_show_setting.txt): the filter
// part, logging, then the capture part. The stage lines under "Packet
// capture" are ours (the Tech Note's sample has no stage set).
func (d *Device) packetDiagSetting() string {
	yes := func(k string) string {
		if d.debug[k] == "on" {
			return "yes"
		}
		return "no"
	}
	or0 := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	var b strings.Builder
	b.WriteString(packetDiagLine + "Packet diagnosis setting:\n" + packetDiagLine)
	b.WriteString("Packet filter\n")
	fmt.Fprintf(&b, "Enabled: %s\n", yes(SwPacketFilter))
	b.WriteString("Match pre-parsed packet: no\n")
	for _, f := range d.filters {
		fmt.Fprintf(&b, "Index %d: %s[%s]->%s[%s], proto %s\n", f.index, or0(f.src, "0.0.0.0"), or0(f.sport, "0"),
			or0(f.dst, "0.0.0.0"), or0(f.dport, "0"), or0(f.prot, "0"))
		b.WriteString("ingress-interface any, egress-interface any, exclude non-IP\n")
	}
	b.WriteString(packetDiagLine + "Logging\nEnabled: no\nLog-throttle: no\nAggregate-to-single-file: yes\nFeatures:\n")
	b.WriteString(packetDiagLine + "Packet capture\n")
	fmt.Fprintf(&b, "Enabled: %s\n", yes(SwPacketCapture))
	stages := make([]string, 0, len(d.stages))
	for s := range d.stages {
		stages = append(stages, s)
	}
	sort.Strings(stages)
	for _, s := range stages {
		var pk int64
		if cf := d.files[d.stages[s]]; cf != nil && !cf.stale {
			pk = cf.packets
		}
		fmt.Fprintf(&b, "Stage: %s\n    File: %s\n    Byte-count: 0\n    Packet-count: %d\n", s, d.stages[s], pk)
	}
	b.WriteString(packetDiagLine)
	return b.String()
}
