package sim

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// XMLToCLI turns an op command's XML (`<show><vpn><ipsec-sa><tunnel>x
// </tunnel></ipsec-sa></vpn></show>`) back into the CLI text the device
// runs (`show vpn ipsec-sa tunnel x`): an element is its name, an element
// holding text is its name and the text (quoted if it has spaces), nested
// elements follow their parent.
func XMLToCLI(cmd string) (string, error) {
	d := xml.NewDecoder(strings.NewReader(cmd))
	d.Strict = true
	var words []string
	type frame struct {
		name     string
		text     strings.Builder
		children bool
	}
	var stack []*frame
	roots := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				roots++
				if roots > 1 {
					return "", errors.New("more than one command")
				}
			} else {
				stack[len(stack)-1].children = true
			}
			if len(stack) >= 32 {
				return "", errors.New("nested too deep")
			}
			words = append(words, t.Name.Local)
			stack = append(stack, &frame{name: t.Name.Local})
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			v := strings.TrimSpace(f.text.String())
			if v != "" {
				if f.children {
					return "", fmt.Errorf("<%s> has both text and elements", f.name)
				}
				if strings.ContainsAny(v, " \t\n") {
					v = `"` + v + `"`
				}
				words = append(words, v)
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if strings.TrimSpace(string(t)) != "" {
				return "", errors.New("text outside the command")
			}
		}
	}
	if len(words) == 0 {
		return "", errors.New("empty command")
	}
	return strings.Join(words, " "), nil
}

// structured renders the XML API's structured answer for the commands that
// have one in the simulator, from the device's text output (the same state
// the SSH front end shows). Element names follow panos-notes §3.4 and the
// elastic/beats fixtures. ok is false for every other command, and when
// the text does not have the expected shape; the caller then sends the text.
func structured(cli, out string) (string, bool) {
	w := strings.Fields(cli)
	switch {
	case len(w) == 3 && w[0] == "show" && w[1] == "system" && w[2] == "info":
		return systemInfoXML(out)
	case len(w) >= 3 && w[0] == "show" && w[1] == "vpn" && w[2] == "ipsec-sa":
		return ipsecSAXML(out)
	case len(w) == 5 && w[0] == "show" && w[1] == "vpn" && w[2] == "flow" && w[3] == "tunnel-id":
		return flowXML(out)
	case len(w) >= 3 && w[0] == "show" && w[1] == "session" && w[2] == "all":
		return sessionsXML(out)
	}
	return "", false
}

var xmlName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

func systemInfoXML(out string) (string, bool) {
	var b strings.Builder
	b.WriteString("<system>")
	n := 0
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		k = strings.TrimSpace(k)
		if !ok || !xmlName.MatchString(k) {
			continue
		}
		b.WriteString("<" + k + ">" + xmlText(strings.TrimSpace(v)) + "</" + k + ">")
		n++
	}
	b.WriteString("</system>")
	return b.String(), n > 0
}

// ipsecSAXML parses the `show vpn ipsec-sa` table by its header offsets.
func ipsecSAXML(out string) (string, bool) {
	lines := strings.Split(out, "\n")
	hdr := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "GwID") {
			hdr = i
			break
		}
	}
	if hdr < 0 || hdr+1 >= len(lines) {
		return "", false
	}
	cols := []string{"GwID/client IP", "TnID", "Peer-Address", "Tunnel(Gateway)", "Algorithm", "SPI(in)", "SPI(out)", "life(Sec/KB)"}
	var offs []int
	for _, c := range cols {
		i := strings.Index(lines[hdr], c)
		if i < 0 {
			return "", false
		}
		offs = append(offs, i)
	}
	cell := func(l string, i int) string {
		start := offs[i]
		if start >= len(l) {
			return ""
		}
		end := len(l)
		if i+1 < len(offs) && offs[i+1] < end {
			end = offs[i+1]
		}
		return strings.TrimSpace(l[start:end])
	}
	var b strings.Builder
	nsa := 0
	var entries strings.Builder
	for _, l := range lines[hdr+2:] {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "Show ") {
			continue
		}
		tunnel, gw, _ := strings.Cut(strings.TrimSuffix(cell(l, 3), ")"), "(")
		life, kb, _ := strings.Cut(cell(l, 7), "/")
		fields := [][2]string{
			{"gwid", cell(l, 0)}, {"tid", cell(l, 1)}, {"peerip", cell(l, 2)}, {"name", tunnel}, {"gateway", gw},
			{"algorithm", cell(l, 4)}, {"spi-in", cell(l, 5)}, {"spi-out", cell(l, 6)},
			{"life", life}, {"kb", kb},
		}
		entries.WriteString("<entry>")
		for _, f := range fields {
			entries.WriteString("<" + f[0] + ">" + xmlText(f[1]) + "</" + f[0] + ">")
		}
		entries.WriteString("</entry>")
		nsa++
	}
	ntun := nsa
	if m := regexp.MustCompile(`(?i)Total (\d+) tunnels found`).FindStringSubmatch(out); m != nil {
		ntun = atoiOr(m[1], nsa)
	}
	fmt.Fprintf(&b, "<ntun>%d</ntun><nsa>%d</nsa><entries>%s</entries>", ntun, nsa, entries.String())
	return b.String(), true
}

func atoiOr(s string, def int) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		return def
	}
	return n
}

// flowLabels maps `show vpn flow tunnel-id` text labels to the element
// names of the XML flow record (panos-notes §3.4, beats fixture).
var flowLabels = map[string]string{
	"id": "id", "type": "type", "gateway id": "gwid", "local ip": "localip", "peer ip": "peerip",
	"inner interface": "inner-if", "outer interface": "outer-if", "state": "state", "session": "sid",
	"tunnel mtu": "mtu", "lifetime remain": "remaintime", "latest rekey": "last-rekey",
	"monitor": "mon", "monitor packets seen": "pkt-seen", "monitor packets reply": "pkt-reply",
	"en/decap context": "context", "local spi": "local-spi", "remote spi": "remote-spi",
	"key type": "keytype", "protocol": "proto", "auth algorithm": "auth", "enc  algorithm": "enc",
	"enc algorithm": "enc", "proxy-id local ip": "proxy-local-ip", "proxy-id remote ip": "proxy-remote-ip",
	"proxy-id protocol": "proxy-proto", "proxy-id local port": "proxy-local-port",
	"proxy-id remote port": "proxy-remote-port", "anti replay check": "anti-replay", "copy tos": "copy-tos",
	"authentication errors": "auth-err", "decryption errors": "dec-err", "inner packet warnings": "inner-warn",
	"replay packets": "pkt-replay", "when lifetime expired": "pkt-lifetime", "when lifesize expired": "pkt-lifesize",
	"sending sequence": "seq-send", "receive sequence": "seq-recv", "encap packets": "pkt-encap",
	"decap packets": "pkt-decap", "encap bytes": "byte-encap", "decap bytes": "byte-decap",
	"key acquire requests": "acquire", "owner state": "owner-state", "owner cpuid": "owner-cpuid",
	"ownership": "owner",
}

func flowXML(out string) (string, bool) {
	var b strings.Builder
	name := ""
	n := 0
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(t, "tunnel "); ok && name == "" {
			name = strings.TrimSpace(rest)
			continue
		}
		k, v, ok := strings.Cut(t, ":")
		if !ok {
			continue
		}
		el, ok := flowLabels[strings.TrimSpace(k)]
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		v = strings.TrimSuffix(strings.TrimSuffix(v, " sec"), " seconds ago")
		b.WriteString("<" + el + ">" + xmlText(v) + "</" + el + ">")
		n++
	}
	if name == "" || n == 0 {
		return "", false
	}
	return "<IPSec><entry><name>" + xmlText(name) + "</name>" + b.String() + "</entry></IPSec>", true
}

var (
	sessRow1 = regexp.MustCompile(`^(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(?:(\S+)\s+)?([^\s\[]+)\[(\d+)\]/([^/\s]+)/(\d+)\s+\(([^\s\[]+)\[(\d+)\]\)`)
	sessRow2 = regexp.MustCompile(`^(\S+)\s+([^\s\[]+)\[(\d+)\]/(\S+)\s+\(([^\s\[]+)\[(\d+)\]\)`)
)

// sessionsXML parses the two-line rows of `show session all` into one
// result/entry per session with the XML API's element names (idx is the
// session id).
func sessionsXML(out string) (string, bool) {
	var b strings.Builder
	lines := strings.Split(out, "\n")
	n := 0
	for i := 0; i+1 < len(lines); i++ {
		m := sessRow1.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		m2 := sessRow2.FindStringSubmatch(lines[i+1])
		if m2 == nil {
			continue
		}
		fields := [][2]string{
			{"idx", m[1]}, {"application", m[2]}, {"state", m[3]}, {"type", m[4]}, {"flags", m[5]},
			{"source", m[6]}, {"sport", m[7]}, {"from", m[8]}, {"proto", m[9]}, {"xsource", m[10]}, {"xsport", m[11]},
			{"vsys", m2[1]}, {"dst", m2[2]}, {"dport", m2[3]}, {"to", m2[4]}, {"xdst", m2[5]}, {"xdport", m2[6]},
		}
		b.WriteString("<entry>")
		for _, f := range fields {
			b.WriteString("<" + f[0] + ">" + xmlText(f[1]) + "</" + f[0] + ">")
		}
		b.WriteString("</entry>")
		n++
		i++
	}
	if n == 0 && !strings.Contains(out, "ID") {
		return "", false // not the session table: send the text
	}
	return b.String(), true
}

// structuredState answers the commands whose XML answer the simulator builds
// from the device's state rather than from its text:
//
//   - show vpn ike-sa [detail] [gateway G]: one result/entry per IKE SA with
//     name, gwid, peerip and created, the elements the Centreon plugin
//     network::paloalto::restapi::mode::listipsec reads (it takes an empty
//     created, or no entry, as phase 1 down); no entry when there is no SA
//     ("gives no output", centreon-plugins issue 2178). Which elements a
//     device adds besides these four, and whether child SAs are listed, no
//     public source shows: the simulator sends these four only.
//   - show vpn tunnel: result/ntun and result/entries/entry with id, name,
//     gw, TSi_ip, TSi_prefix, TSi_proto, TSi_port, TSr_* (the same), proto,
//     mode, dh, enc, hash, life and kb, the elements of the elastic/beats
//     fixture (show_vpn_tunnel.xml; its state element, absent on many
//     devices, is not sent). Several values of one part are sent as
//     repeated elements: ours, no public sample shows one.
//   - test security-policy-match: since PAN-OS 8.1 the CLI text in
//     result/msg/line; before 8.1 result/rules/entry holding "NAME; index:
//     N" (PaloAltoNetworks/pan-os-ansible panos_match_rule.py, which reads
//     both); result/rules empty when no rule matches (ansible-pan issue 250).
func (d *Device) structuredState(cli, out string) (string, bool) {
	w := strings.Fields(cli)
	switch {
	case len(w) >= 3 && w[0] == "show" && w[1] == "vpn" && w[2] == "tunnel":
		if strings.Contains(out, "Invalid syntax") {
			return "", false
		}
		name := ""
		if len(w) == 5 && w[3] == "name" {
			name = w[4]
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.vpnTunnelXML(name), true
	case len(w) >= 3 && w[0] == "show" && w[1] == "vpn" && w[2] == "ike-sa":
		rest := w[3:]
		if len(rest) > 0 && rest[0] == "detail" {
			rest = rest[1:]
		}
		gw := ""
		if len(rest) == 2 && rest[0] == "gateway" {
			gw = rest[1]
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		t := d.topo
		if !d.ikeUp() || (gw != "" && gw != t.Gateway) {
			return "", true
		}
		est, _ := d.saTimes()
		return "<entry><name>" + xmlText(t.Gateway) + "</name><gwid>" + fmt.Sprint(t.GatewayID) + "</gwid><peerip>" +
			xmlText(t.PeerIP) + "</peerip><created>" + xmlText(est) + "</created></entry>", true
	case len(w) >= 2 && w[0] == "test" && w[1] == "security-policy-match":
		if strings.TrimSpace(out) == "" {
			return "<rules></rules>", true
		}
		if versionAtLeast(d.opts.SWVersion, 8, 1) {
			return "<msg><line>" + cdata(out) + "</line></msg>", true
		}
		first, _, _ := strings.Cut(out, "\n")
		first = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(first), "{"))
		return "<rules><entry>" + xmlText(strings.Trim(first, `" `)) + "</entry></rules>", true
	}
	return "", false
}

// versionAtLeast compares a PAN-OS version ("10.2.9") with major.minor.
func versionAtLeast(v string, major, minor int) bool {
	var a, b int
	if _, err := fmt.Sscanf(v, "%d.%d", &a, &b); err != nil {
		return true
	}
	return a > major || (a == major && b >= minor)
}
