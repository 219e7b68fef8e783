package inventory

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file checks the targets reached through Panorama:
//
//	targets:
//	  pano:  {transport: xmlapi, host: panorama.example.net, api_key: env:PANO_KEY}
//	  fw7:   {transport: xmlapi, via: pano, serial: "007054000543213"}
//
// A firewall with via: has no address or credentials of its own: every
// request goes to the Panorama, carrying the serial as target=.

// ownKeys are the keys a target reached through Panorama takes from it.
var ownKeys = []string{"host", "port", "ports", "user", "password", "api_key", "tls", "key_file", "passphrase", "use_agent", "known_hosts"}

// resolveVia checks via: and serial: on every target of the targets
// mapping n, and links each target with via: to its Panorama
// (Target.Panorama). Errors name the target and the key, at its position.
func resolveVia(path string, n *yaml.Node, inv *Inventory) []*Error {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var errs []*Error
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, tn := n.Content[i].Value, n.Content[i+1]
		if tn.Kind != yaml.MappingNode {
			continue
		}
		bad := func(at *yaml.Node, format string, a ...any) {
			errs = append(errs, &Error{File: path, Line: at.Line, Col: at.Column, Msg: fmt.Sprintf("target %s: ", name) + fmt.Sprintf(format, a...)})
		}
		keys := map[string][2]*yaml.Node{}
		for j := 0; j+1 < len(tn.Content); j += 2 {
			if _, dup := keys[tn.Content[j].Value]; !dup {
				keys[tn.Content[j].Value] = [2]*yaml.Node{tn.Content[j], tn.Content[j+1]}
			}
		}
		via, hasVia := keys["via"]
		serial, hasSerial := keys["serial"]
		if !hasVia {
			if hasSerial {
				bad(serial[0], "serial: only a target reached through Panorama has a serial: add via: PANORAMA (the Panorama's target name)")
			}
			continue
		}
		t := inv.Targets[name]
		if tr, ok := keys["transport"]; ok && t.Transport != "xmlapi" {
			bad(tr[1], "transport: a target reached via %s is reached over the XML API: want transport: xmlapi, not %s", via[1].Value, describe(tr[1]))
		}
		switch {
		case !hasSerial:
			bad(via[0], "via: %s: serial is required too (the firewall's serial number, as `runbook targets --panorama %s` lists it)", via[1].Value, via[1].Value)
		case serial[1].Kind != yaml.ScalarNode || serial[1].Value == "":
			bad(serial[1], "serial: want the firewall's serial number, such as \"007054000543213\"")
		}
		for _, k := range ownKeys {
			if kv, ok := keys[k]; ok {
				bad(kv[0], "%s: a target reached via %s uses the Panorama's address, TLS settings and credentials: remove %s", k, via[1].Value, k)
			}
		}
		p, ok := inv.Targets[via[1].Value]
		switch {
		case via[1].Kind != yaml.ScalarNode || via[1].Value == "":
			bad(via[1], "via: want the name of the Panorama's target")
			continue
		case !ok:
			msg := fmt.Sprintf("via: unknown target %q: via names the Panorama's target in this inventory", via[1].Value)
			if s := closest(via[1].Value, inv.Targets); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			bad(via[1], "%s", msg)
			continue
		case p.Via != "" || via[1].Value == name:
			bad(via[1], "via: %s is itself reached through a Panorama: via names the Panorama's own target", via[1].Value)
			continue
		case p.Transport != "xmlapi":
			bad(via[1], "via: %s has transport %s: a Panorama is reached over the XML API (transport: xmlapi)", via[1].Value, p.Transport)
			continue
		}
		t.Panorama = &p
		inv.Targets[name] = t
	}
	return errs
}

// describe shows a transport value as written: a name or a list.
func describe(n *yaml.Node) string {
	if n.Kind != yaml.SequenceNode {
		return n.Value
	}
	var s []string
	for _, it := range n.Content {
		s = append(s, it.Value)
	}
	return "[" + strings.Join(s, ", ") + "]"
}
