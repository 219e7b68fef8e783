package xmlapi

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestCmdXML(t *testing.T) {
	tests := []struct{ cli, want string }{
		// the forms of panos-notes §3.2, quoted as pan-python needs them
		{`show vpn ipsec-sa tunnel "foo"`, `<show><vpn><ipsec-sa><tunnel>foo</tunnel></ipsec-sa></vpn></show>`},
		{`show vpn flow tunnel-id "207"`, `<show><vpn><flow><tunnel-id>207</tunnel-id></flow></vpn></show>`},
		{`test routing fib-lookup virtual-router "default" ip "10.1.1.1"`, `<test><routing><fib-lookup><virtual-router>default</virtual-router><ip>10.1.1.1</ip></fib-lookup></routing></test>`},
		{`show session all filter source "10.0.0.1" destination "10.0.0.2" application "ike"`, `<show><session><all><filter><source>10.0.0.1</source><destination>10.0.0.2</destination><application>ike</application></filter></all></session></show>`},
		{`show session id "12345"`, `<show><session><id>12345</id></session></show>`},
		{`show counter global filter delta "yes" packet-filter "yes"`, `<show><counter><global><filter><delta>yes</delta><packet-filter>yes</packet-filter></filter></global></counter></show>`},
		{`show running resource-monitor second last "5"`, `<show><running><resource-monitor><second><last>5</last></second></resource-monitor></running></show>`},
		{`show clock`, `<show><clock></clock></show>`},
		{`show jobs id "912"`, `<show><jobs><id>912</id></jobs></show>`},
		// the same without quotes, as playbooks write them: the value table
		{`show vpn ipsec-sa tunnel sap-sap`, `<show><vpn><ipsec-sa><tunnel>sap-sap</tunnel></ipsec-sa></vpn></show>`},
		{`show vpn flow tunnel-id 207`, `<show><vpn><flow><tunnel-id>207</tunnel-id></flow></vpn></show>`},
		{`test routing fib-lookup virtual-router default ip 10.1.1.1`, `<test><routing><fib-lookup><virtual-router>default</virtual-router><ip>10.1.1.1</ip></fib-lookup></routing></test>`},
		{`show session all filter source 10.0.0.1 destination 10.0.0.2 application ipsec-esp-udp`, `<show><session><all><filter><source>10.0.0.1</source><destination>10.0.0.2</destination><application>ipsec-esp-udp</application></filter></all></session></show>`},
		{`show session all filter source 10.0.0.1 destination 10.0.0.2 destination-port 500`, `<show><session><all><filter><source>10.0.0.1</source><destination>10.0.0.2</destination><destination-port>500</destination-port></filter></all></session></show>`},
		{`show session id 12345`, `<show><session><id>12345</id></session></show>`},
		{`show counter global filter delta yes packet-filter yes`, `<show><counter><global><filter><delta>yes</delta><packet-filter>yes</packet-filter></filter></global></counter></show>`},
		{`show running resource-monitor second last 5`, `<show><running><resource-monitor><second><last>5</last></second></resource-monitor></running></show>`},
		{`show vpn ike-sa gateway gw-sap`, `<show><vpn><ike-sa><gateway>gw-sap</gateway></ike-sa></vpn></show>`},
		{`show vpn ike-sa detail gateway gw-sap`, `<show><vpn><ike-sa><detail><gateway>gw-sap</gateway></detail></ike-sa></vpn></show>`},
		{`show system info`, `<show><system><info></info></system></show>`},
		{`show vpn tunnel`, `<show><vpn><tunnel></tunnel></vpn></show>`},
		{`show running tunnel flow tunnel-id 9`, `<show><running><tunnel><flow><tunnel-id>9</tunnel-id></flow></tunnel></running></show>`},
		// debug commands: shape unverified (panos-notes §3.2), documented in docs/xmlapi.md
		{`debug ike global on debug`, `<debug><ike><global><on><debug></debug></on></global></ike></debug>`},
		{`debug ike pcap on`, `<debug><ike><pcap><on></on></pcap></ike></debug>`},
		{`debug mprelay on info`, `<debug><mprelay><on><info></info></on></mprelay></debug>`},
		{`debug dataplane packet-diag set filter match source 10.0.0.1 destination 10.1.1.1 destination-port 500 protocol 17`,
			`<debug><dataplane><packet-diag><set><filter><match><source>10.0.0.1</source><destination>10.1.1.1</destination><destination-port>500</destination-port><protocol>17</protocol></match></filter></set></packet-diag></dataplane></debug>`},
		{`debug dataplane packet-diag set capture stage receive file rx.pcap`,
			`<debug><dataplane><packet-diag><set><capture><stage><receive><file>rx.pcap</file></receive></stage></capture></set></packet-diag></dataplane></debug>`},
		// quoting, escaping, white space
		{`show vpn ipsec-sa tunnel "a b<&>'"`, `<show><vpn><ipsec-sa><tunnel>a b&lt;&amp;&gt;&apos;</tunnel></ipsec-sa></vpn></show>`},
		{"  show\tclock \n", `<show><clock></clock></show>`},
		{`show interface ethernet1/1`, `<show><interface>ethernet1/1</interface></show>`},
		{`show vpn ipsec-sa tunnel ""`, `<show><vpn><ipsec-sa><tunnel></tunnel></ipsec-sa></vpn></show>`},
	}
	for _, tt := range tests {
		t.Run(tt.cli, func(t *testing.T) {
			got, err := CmdXML(tt.cli)
			if err != nil {
				t.Fatalf("CmdXML(%q): %v", tt.cli, err)
			}
			if got != tt.want {
				t.Errorf("CmdXML(%q)\n got %s\nwant %s", tt.cli, got, tt.want)
			}
		})
	}
}

func TestCmdXMLErrors(t *testing.T) {
	tests := []struct{ cli, want string }{
		{``, `cannot convert command to XML: empty command`},
		{`show vpn ipsec-sa tunnel "foo`, `cannot convert command to XML: unterminated quote`},
		{`"foo" show`, `cannot convert command to XML: value "foo" has no keyword before it`},
		{`show clock | match x`, `cannot convert command to XML: pipes (| match, | except) exist only at the CLI`},
		{`show x 10.0.0.1 10.0.0.2`, `cannot convert command to XML: "10.0.0.2" is not a keyword and follows no keyword that takes a value`},
		{`show "a"b`, `cannot convert command to XML: closing quote must end a word`},
		{`show a"b`, `cannot convert command to XML: a quote inside the word "a\"b"`},
	}
	for _, tt := range tests {
		t.Run(tt.cli, func(t *testing.T) {
			_, err := CmdXML(tt.cli)
			if err == nil {
				t.Fatalf("CmdXML(%q) succeeded", tt.cli)
			}
			if !errors.Is(err, ErrCmdSyntax) {
				t.Errorf("error %v does not wrap ErrCmdSyntax", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

// wellFormed checks s is one XML element, nothing around it.
func wellFormed(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if depth != 0 || roots != 1 {
				return errors.New("unbalanced or not one root")
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

func FuzzCmdXML(f *testing.F) {
	for _, s := range []string{`show vpn ipsec-sa tunnel "x y"`, `show clock`, `debug ike global on debug`,
		`show session all filter source 1.2.3.4 application ike`, `a "<&>" b`, `x ""`, `"`, `a|b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cli string) {
		out, err := CmdXML(cli)
		if err != nil {
			if !errors.Is(err, ErrCmdSyntax) {
				t.Fatalf("error %v does not wrap ErrCmdSyntax", err)
			}
			return
		}
		if err := wellFormed(out); err != nil {
			t.Fatalf("CmdXML(%q) = %q: not well-formed: %v", cli, out, err)
		}
	})
}
