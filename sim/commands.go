package sim

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// dispatch runs one operational command; d.mu is held.
func (d *Device) dispatch(cli string) (string, error) {
	w, err := splitWords(cli)
	if err != nil {
		return "", err
	}
	if len(w) == 0 {
		return "", nil
	}
	switch w[0] {
	case "show":
		return d.show(w[1:])
	case "debug":
		return d.debugCmd(w[1:])
	case "test":
		return d.testCmd(w[1:])
	case "ping":
		return d.ping(w[1:])
	case "set":
		return d.setCmd(w[1:])
	case "scp":
		return "", serverErr("scp export needs an interactive session")
	case "delete":
		return d.deleteCmd(w[1:])
	}
	return "", unknownCmd(w[0])
}

// splitWords splits a command line on blanks; double quotes group words.
func splitWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQ, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQ = !inQ
			have = true
		case (r == ' ' || r == '\t') && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if inQ {
		return nil, invalidSyntax()
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}

// keyValues reads "key value" pairs in any order; each key at most once.
func keyValues(w []string, allowed ...string) (map[string]string, error) {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	m := map[string]string{}
	for i := 0; i < len(w); i += 2 {
		if !ok[w[i]] || i+1 >= len(w) {
			return nil, invalidSyntax()
		}
		if _, dup := m[w[i]]; dup {
			return nil, invalidSyntax()
		}
		m[w[i]] = w[i+1]
	}
	return m, nil
}

func is(w []string, words ...string) bool {
	if len(w) != len(words) {
		return false
	}
	for i := range w {
		if w[i] != words[i] {
			return false
		}
	}
	return true
}

func checkIP(name, v string) error {
	if _, err := netip.ParseAddr(v); err != nil {
		return validationErr(fmt.Sprintf("%s '%s' is not a valid IP address", name, v))
	}
	return nil
}

func checkNum(name, v string, max int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > max {
		return 0, validationErr(fmt.Sprintf("%s '%s' is not a valid number", name, v))
	}
	return n, nil
}

func (d *Device) show(w []string) (string, error) {
	if len(w) == 0 {
		return "", invalidSyntax()
	}
	switch {
	case is(w, "clock"):
		return d.clock().UTC().Format("Mon Jan _2 15:04:05 MST 2006") + "\n", nil
	case is(w, "system", "info"):
		return d.systemInfo(), nil
	case is(w, "system", "resources"):
		return d.systemResources(), nil
	case len(w) >= 2 && w[0] == "counter" && w[1] == "global":
		return d.counterGlobal(w[2:])
	case len(w) >= 2 && w[0] == "session" && w[1] == "all":
		return d.sessionAll(w[2:])
	case len(w) == 3 && w[0] == "session" && w[1] == "id":
		id, err := checkNum("id", w[2], 1<<31)
		if err != nil {
			return "", err
		}
		return d.sessionID(id), nil
	case len(w) >= 2 && w[0] == "vpn" && w[1] == "ike-sa":
		return d.ikeSA(w[2:])
	case len(w) >= 2 && w[0] == "vpn" && w[1] == "ipsec-sa":
		return d.ipsecSA(w[2:])
	case len(w) >= 2 && w[0] == "vpn" && w[1] == "flow":
		return d.vpnFlow(w[2:])
	case len(w) >= 2 && w[0] == "vpn" && w[1] == "tunnel":
		return d.vpnTunnel(w[2:])
	case len(w) >= 2 && w[0] == "vpn" && w[1] == "gateway":
		return d.vpnGateway(w[2:])
	case len(w) >= 2 && w[0] == "running" && w[1] == "resource-monitor":
		return d.resourceMonitor(w[2:])
	}
	switch w[0] {
	case "clock", "system", "counter", "session", "vpn", "running":
		return "", invalidSyntax()
	}
	return "", unknownCmd(w[0])
}

func (d *Device) setCmd(w []string) (string, error) {
	if len(w) < 2 || w[0] != "cli" {
		if len(w) > 0 && w[0] != "cli" {
			return "", unknownCmd(w[0])
		}
		return "", invalidSyntax()
	}
	switch {
	case len(w) == 3 && (w[1] == "pager" || w[1] == "scripting-mode" || w[1] == "op-command-xml-output" || w[1] == "confirmation-prompt") && (w[2] == "on" || w[2] == "off"):
		return "", nil
	case len(w) == 4 && w[1] == "terminal" && (w[2] == "width" || w[2] == "height"):
		if _, err := checkNum(w[2], w[3], 500); err != nil {
			return "", err
		}
		return "", nil
	case len(w) == 3 && w[1] == "config-output-format":
		switch w[2] {
		case "default", "json", "set", "xml":
			return "", nil
		}
	}
	return "", invalidSyntax()
}

var ikeLevels = map[string]bool{"debug": true, "dump": true, "error": true, "info": true, "normal": true, "warn": true}

func (d *Device) debugCmd(w []string) (string, error) {
	switch {
	case is(w, "ike", "pcap", "on"):
		d.debug[SwIKEPcap] = "on"
		d.ikePcap = true
		return "", nil
	case is(w, "ike", "pcap", "off"):
		d.debug[SwIKEPcap] = "off"
		return "", nil
	case is(w, "ike", "pcap", "delete"):
		d.ikePcap = false
		return "", nil
	case is(w, "ike", "pcap", "show"):
		return "ike pcap is " + d.debug[SwIKEPcap] + "\n", nil
	case len(w) == 4 && w[0] == "ike" && w[1] == "global" && w[2] == "on" && ikeLevels[w[3]]:
		d.debug[SwIKEGlobal] = w[3]
		return "", nil
	case is(w, "ike", "global", "off"):
		d.debug[SwIKEGlobal] = defaultIKEGlobal
		return "", nil
	case is(w, "ike", "global", "show"):
		return "sw.ikedaemon.debug.global: " + d.debug[SwIKEGlobal] + "\n", nil
	case len(w) == 3 && w[0] == "mprelay" && w[1] == "on" && ikeLevels[w[2]]:
		d.debug[SwMprelay] = w[2]
		return "", nil
	case is(w, "mprelay", "show"):
		// ours: no public source shows this answer.
		return "sw.mprelay.debug.level: " + d.debug[SwMprelay] + "\n", nil
	case is(w, "mprelay", "off"):
		d.debug[SwMprelay] = defaultMprelay
		return "", nil
	case is(w, "dataplane", "pool", "statistics"):
		return d.poolStatistics(), nil
	case is(w, "dataplane", "pow", "performance"):
		return d.powPerformance(), nil
	case len(w) >= 2 && w[0] == "dataplane" && w[1] == "packet-diag":
		return d.packetDiag(w[2:])
	}
	if len(w) > 0 {
		switch w[0] {
		case "ike", "mprelay", "dataplane":
			return "", invalidSyntax()
		}
		return "", unknownCmd(w[0])
	}
	return "", invalidSyntax()
}

func (d *Device) packetDiag(w []string) (string, error) {
	switch {
	case is(w, "clear", "all"):
		d.filters = nil
		d.stages = map[string]string{}
		d.filterOn = -1
		d.debug[SwPacketFilter] = "off"
		d.debug[SwPacketCapture] = "off"
		return "Packet diagnosis setting set to default.\n", nil
	case is(w, "clear", "filter", "all"):
		d.filters = nil
		return "", nil
	case is(w, "set", "filter", "on"):
		if d.debug[SwPacketFilter] != "on" {
			d.filterOn = d.seq
		}
		d.debug[SwPacketFilter] = "on"
		return "", nil
	case is(w, "set", "filter", "off"):
		d.debug[SwPacketFilter] = "off"
		d.filterOn = -1
		return "", nil
	case len(w) == 4 && w[0] == "clear" && w[1] == "filter" && w[2] == "index":
		// The index form of clear filter (ours: unverified, the counterpart
		// of `set filter index N match`).
		n, err := checkNum("index", w[3], maxFilters)
		if err != nil || n < 1 {
			return "", invalidSyntax()
		}
		kept := d.filters[:0]
		for _, f := range d.filters {
			if f.index != n {
				kept = append(kept, f)
			}
		}
		d.filters = kept
		return "", nil
	case len(w) == 4 && w[0] == "clear" && w[1] == "capture" && w[2] == "stage":
		// ours: unverified, the counterpart of `set capture stage S file F`.
		switch w[3] {
		case "receive", "transmit", "drop", "firewall":
			delete(d.stages, w[3])
			return "", nil
		}
		return "", invalidSyntax()
	case len(w) >= 5 && w[0] == "set" && w[1] == "filter" && w[2] == "index" && w[4] == "match",
		len(w) >= 3 && w[0] == "set" && w[1] == "filter" && w[2] == "match":
		// `set filter index N match ...` names the slot (public tools send
		// it, e.g. nautobot-app-chatops-panorama); without index the lowest
		// free slot is taken.
		index := 0
		if w[2] == "index" {
			n, err := checkNum("index", w[3], maxFilters)
			if err != nil || n < 1 {
				return "", invalidSyntax()
			}
			index = n
			w = append([]string{"set", "filter"}, w[4:]...)
		}
		kv, err := keyValues(w[3:], "source", "destination", "destination-port", "source-port", "protocol", "ingress-interface", "non-ip")
		if err != nil {
			return "", err
		}
		if len(kv) == 0 {
			return "", invalidSyntax()
		}
		for _, k := range []string{"source", "destination"} {
			if v, ok := kv[k]; ok {
				if err := checkIP(k, v); err != nil {
					return "", err
				}
			}
		}
		for _, k := range []string{"destination-port", "source-port"} {
			if v, ok := kv[k]; ok {
				if _, err := checkNum(k, v, 65535); err != nil {
					return "", err
				}
			}
		}
		if v, ok := kv["protocol"]; ok {
			if _, err := checkNum("protocol", v, 255); err != nil {
				return "", err
			}
		}
		used := map[int]bool{}
		for _, f := range d.filters {
			used[f.index] = true
		}
		if index == 0 {
			for i := 1; i <= maxFilters && index == 0; i++ {
				if !used[i] {
					index = i
				}
			}
		}
		if index == 0 {
			return "", serverErr("at most 4 packet filters can be set")
		}
		if used[index] {
			// ours: the text of a device refusing a slot in use is unknown.
			return "", serverErr(fmt.Sprintf("packet filter index %d is in use", index))
		}
		d.filters = append(d.filters, pdFilter{index: index, src: kv["source"], dst: kv["destination"], sport: kv["source-port"], dport: kv["destination-port"], prot: kv["protocol"]})
		sort.Slice(d.filters, func(i, j int) bool { return d.filters[i].index < d.filters[j].index })
		return "", nil
	case is(w, "set", "capture", "on"):
		d.debug[SwPacketCapture] = "on"
		return "", nil
	case is(w, "set", "capture", "off"):
		d.debug[SwPacketCapture] = "off"
		return "", nil
	case len(w) == 6 && w[0] == "set" && w[1] == "capture" && w[2] == "stage" && w[4] == "file":
		switch w[3] {
		case "receive", "transmit", "drop", "firewall":
			d.stages[w[3]] = w[5]
			return "", nil
		}
		return "", invalidSyntax()
	case is(w, "show", "setting"):
		return d.packetDiagSetting(), nil
	}
	return "", invalidSyntax()
}

func (d *Device) testCmd(w []string) (string, error) {
	if len(w) == 0 {
		return "", invalidSyntax()
	}
	switch {
	case w[0] == "security-policy-match":
		kv, err := keyValues(w[1:], "from", "to", "source", "destination", "protocol", "destination-port", "application", "source-user", "category")
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
		if _, ok := kv["destination"]; !ok {
			return "", invalidSyntax()
		}
		return d.policyMatch(kv), nil
	case len(w) >= 2 && w[0] == "routing" && w[1] == "fib-lookup":
		kv, err := keyValues(w[2:], "virtual-router", "ip")
		if err != nil {
			return "", err
		}
		if kv["ip"] == "" || kv["virtual-router"] == "" {
			return "", invalidSyntax()
		}
		if err := checkIP("ip", kv["ip"]); err != nil {
			return "", err
		}
		return d.fibLookup(kv["virtual-router"], kv["ip"])
	case len(w) >= 2 && w[0] == "advanced-routing" && w[1] == "fib-lookup":
		// The Advanced Routing Engine's form (a public probe sends its XML,
		// <test><advanced-routing><fib-lookup><logical-router>); its text
		// answer is ours, in the legacy layout.
		kv, err := keyValues(w[2:], "logical-router", "ip")
		if err != nil {
			return "", err
		}
		if kv["ip"] == "" || kv["logical-router"] == "" {
			return "", invalidSyntax()
		}
		if err := checkIP("ip", kv["ip"]); err != nil {
			return "", err
		}
		return d.fibLookup(kv["logical-router"], kv["ip"])
	}
	switch w[0] {
	case "routing", "vpn", "advanced-routing":
		return "", invalidSyntax()
	}
	return "", unknownCmd(w[0])
}

func (d *Device) ping(w []string) (string, error) {
	kv, err := keyValues(w, "host", "count", "source", "size", "interval", "no-resolve", "ttl")
	if err != nil {
		return "", err
	}
	host, ok := kv["host"]
	if !ok {
		return "", invalidSyntax()
	}
	if err := checkIP("host", host); err != nil {
		return "", err
	}
	count := 5
	if v, ok := kv["count"]; ok {
		if count, err = checkNum("count", v, 1000); err != nil {
			return "", err
		}
		if count == 0 {
			return "", validationErr("count '0' is not a valid number")
		}
	}
	return d.pingOutput(host, count), nil
}

// isScp reports whether cli is an scp command (it asks a password).
func isScp(cli string) bool {
	w := strings.Fields(cli)
	return len(w) > 0 && w[0] == "scp"
}

// scpExport runs `scp export ...`; d.mu is NOT held (it asks).
func (d *Device) scpExport(ctx context.Context, cli string, ask Asker) (string, error) {
	w, err := splitWords(cli)
	if err != nil {
		return "", err
	}
	if len(w) < 4 || w[1] != "export" {
		return "", invalidSyntax()
	}
	cat := w[2]
	var kv map[string]string
	switch cat {
	case "tech-support":
		kv, err = keyValues(w[3:], "to", "remote-port", "source-ip")
	case "debug-pcap", "filter-pcap", "mgmt-pcap":
		kv, err = keyValues(w[3:], "from", "to", "remote-port", "source-ip")
		if err == nil && kv["from"] == "" {
			err = invalidSyntax()
		}
	default:
		return "", invalidSyntax()
	}
	if err != nil {
		return "", err
	}
	to := kv["to"]
	at, colon := strings.Index(to, "@"), strings.Index(to, ":")
	if at <= 0 || colon < at+2 || colon == len(to)-1 {
		return "", validationErr(fmt.Sprintf("to '%s' must be user@host:path", to))
	}
	user, host, path := to[:at], to[at+1:colon], to[colon+1:]

	d.mu.Lock()
	var src string
	switch cat {
	case "debug-pcap":
		if kv["from"] != "ikemgr.pcap" || !d.ikePcap {
			d.mu.Unlock()
			return "", serverErr(fmt.Sprintf("file %s not found", kv["from"]))
		}
		src = "/opt/var.dp0/log/pan/" + kv["from"]
	case "filter-pcap":
		if d.files[kv["from"]] == nil {
			d.mu.Unlock()
			return "", serverErr(fmt.Sprintf("file %s not found", kv["from"]))
		}
		src = "/var/tmp/" + kv["from"]
	case "mgmt-pcap":
		src = "/var/tmp/" + kv["from"]
	case "tech-support":
		src = "/tmp/techsupport/techsupport_" + d.opts.Serial + "_" + d.clock().UTC().Format("20060102_1504") + ".tgz"
	}
	want := d.opts.ScpPassword
	f := d.faults
	known := d.scpKnown[host]
	d.mu.Unlock()

	if ask == nil {
		return "", serverErr("scp export needs an interactive session")
	}
	// The device runs an OpenSSH client; its questions and failure texts
	// are OpenSSH's (docs/simulator.md).
	if f.ScpFail != "" && f.ScpFailEarly {
		return "", scpErr(f.ScpFail)
	}
	pre := "" // printed before the next question
	if f.ScpNewHost && !known {
		a, err := ask(ctx, scpHostKeyQuestion(host), true)
		if err != nil {
			return "", scpAsked(err)
		}
		if strings.TrimSpace(a) != "yes" {
			return "", scpErr("Host key verification failed.\nlost connection")
		}
		d.mu.Lock()
		if d.scpKnown == nil {
			d.scpKnown = map[string]bool{}
		}
		d.scpKnown[host] = true
		d.mu.Unlock()
		pre = "Warning: Permanently added '" + host + "' (ECDSA) to the list of known hosts.\n"
	}
	for try := 1; ; try++ {
		pw, err := ask(ctx, pre+user+"@"+host+"'s password: ", false)
		if err != nil {
			return "", scpAsked(err)
		}
		if !f.ScpRefusePassword && (want == "" || pw == want) {
			break
		}
		if try == 3 {
			return "", scpErr(user + "@" + host + ": Permission denied (publickey,password).\nlost connection")
		}
		pre = "Permission denied, please try again.\n"
	}
	if f.ScpFail != "" {
		return "", scpErr(f.ScpFail)
	}
	base := src[strings.LastIndex(src, "/")+1:]
	var b strings.Builder
	if cat == "tech-support" {
		b.WriteString("Generating tech support file. This may take a few minutes...\n")
	}
	fmt.Fprintf(&b, "%-50s 100%% %5dKB %6.1fKB/s   00:00\n", base, 24+len(base), 812.4)
	fmt.Fprintf(&b, "scp: copying %s to %s@%s:%s ... done\n", src, user, host, path)
	return b.String(), nil
}

// ErrInterrupted is what an Asker returns when the operator pressed Ctrl-C
// at the question.
var ErrInterrupted = errors.New("sim: interrupted")

// scpErr is a failed copy: the lines the device's ssh or scp client
// printed, shown as they are.
func scpErr(lines string) error { return &CommandError{Kind: "scp", Msg: lines} }

// scpAsked maps an Asker's error: Ctrl-C ends the copy (the terminal shows
// ^C) and the prompt comes back.
func scpAsked(err error) error {
	if errors.Is(err, ErrInterrupted) {
		return &CommandError{Kind: "interrupted", Msg: "^C"}
	}
	return err
}

// scpHostKeyQuestion is OpenSSH's question about a host key it has not
// seen, with a fingerprint derived from the host name.
func scpHostKeyQuestion(host string) string {
	sum := sha256.Sum256([]byte("sim-scp-host-key:" + host))
	return "The authenticity of host '" + host + " (" + host + ")' can't be established.\n" +
		"ECDSA key fingerprint is SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]) + ".\n" +
		"Are you sure you want to continue connecting (yes/no)? "
}

// deleteCmd runs `delete debug-filter file NAME`, which removes a data-plane
// capture file (the form public tools send before a new capture, e.g.
// nautobot-app-chatops-panorama: `delete debug-filter file python.pcap`).
// The answer for a file that does not exist is ours: no public source shows
// it.
func (d *Device) deleteCmd(w []string) (string, error) {
	if len(w) == 0 {
		return "", invalidSyntax()
	}
	if w[0] != "debug-filter" {
		return "", unknownCmd(w[0])
	}
	if len(w) != 3 || w[1] != "file" {
		return "", invalidSyntax()
	}
	if d.files[w[2]] == nil {
		return "", serverErr(fmt.Sprintf("file %s not found", w[2]))
	}
	delete(d.files, w[2])
	return "", nil
}
