package main

import "testing"

func TestTemplateXML(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"show session id ${vars.session_id}", "<show><session><id>${vars.session_id}</id></session></show>"},
		{`show vpn flow tunnel-id ${vars.x != "" ? vars.x : "1"}`, "<show><vpn><flow><tunnel-id>${vars.x != &#34;&#34; ? vars.x : &#34;1&#34;}</tunnel-id></flow></vpn></show>"},
		{`debug ike global ${vars.l in ["", "normal"] ? "off" : "on " + vars.l}`, `(converted when sent: ${vars.l in ["", "normal"] ? "off" : "on " + vars.l} gives keywords)`},
		{"show clock", "<show><clock></clock></show>"},
	} {
		got, err := templateXML(c.src)
		if err != nil || got != c.want {
			t.Errorf("templateXML(%q) = %q, %v; want %q", c.src, got, err, c.want)
		}
	}
	if _, err := templateXML("show ${vars.x"); err == nil {
		t.Error("an unterminated ${ converts")
	}
}
