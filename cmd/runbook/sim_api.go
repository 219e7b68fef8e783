package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/runbook-dev/runbook/sim"
)

// simAPIOptions are the flags of `runbook sim` that serve the XML API.
type simAPIOptions struct {
	Addr            string
	TechSupportSize int64
	// Panorama serves a Panorama managing the simulated firewall.
	Panorama string
	// HTTP2 serves the XML API over HTTP/2 only, as a management plane
	// with HTTP/2 switched on does (it refuses HTTP/1.1).
	HTTP2 bool
}

// addSimAPIFlags registers the XML API flags of `runbook sim`.
func addSimAPIFlags(f *pflag.FlagSet, o *simAPIOptions) {
	f.StringVar(&o.Addr, "api", "", "serve the XML API over HTTPS on this address (e.g. 127.0.0.1:8443)")
	f.Int64Var(&o.TechSupportSize, "tech-support-size", 8<<20, "size in bytes of the generated tech-support file the API exports")
	f.BoolVar(&o.HTTP2, "http2", false, "serve the XML API over HTTP/2 only, refusing HTTP/1.1, as a firewall with HTTP/2 switched on does (default: HTTP/1.1 only, the firewall's default)")
	f.StringVar(&o.Panorama, "panorama", "", "serve a Panorama's XML API over HTTPS on this address, managing the simulated firewall (requests with target=its serial reach it)")
}

// simPanoramaServer makes a Panorama that manages dev: keygen with the
// same user and password, its own self-signed certificate.
func simPanoramaServer(dev *sim.Device, o simAPIOptions, user, password, pwNote string) (simServer, error) {
	if o.TechSupportSize <= 0 {
		return simServer{}, usageError{fmt.Errorf("sim: --tech-support-size must be positive")}
	}
	p, err := sim.NewPanoramaServer(sim.PanoramaConfig{User: user, Password: password},
		[]sim.Managed{{Device: dev, API: sim.APIConfig{TechSupportSize: o.TechSupportSize}}})
	if err != nil {
		return simServer{}, err
	}
	return simServer{name: "panorama", addr: o.Panorama, serve: p.Serve,
		info: fmt.Sprintf("https, keygen user %s, password %s, manages serial %s, tls.fingerprint: %s", user, pwNote, dev.Options().Serial, p.Fingerprint())}, nil
}

// simAPIServer makes the XML API front end of dev: keygen with user and
// password, a fresh self-signed certificate whose fingerprint the info line
// gives as the tls.fingerprint to put in an inventory.
func simAPIServer(dev *sim.Device, o simAPIOptions, user, password, pwNote string) (simServer, error) {
	if o.TechSupportSize <= 0 {
		return simServer{}, usageError{fmt.Errorf("sim: --tech-support-size must be positive")}
	}
	srv, err := sim.NewAPIServer(dev, sim.APIConfig{User: user, Password: password, TechSupportSize: o.TechSupportSize, HTTP2Only: o.HTTP2})
	if err != nil {
		return simServer{}, err
	}
	proto := "https"
	if o.HTTP2 {
		proto = "https, HTTP/2 only"
	}
	return simServer{name: "api", addr: o.Addr, serve: srv.Serve,
		info: fmt.Sprintf("%s, keygen user %s, password %s, tls.fingerprint: %s", proto, user, pwNote, srv.Fingerprint())}, nil
}
