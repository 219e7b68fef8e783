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
}

// addSimAPIFlags registers the XML API flags of `runbook sim`.
func addSimAPIFlags(f *pflag.FlagSet, o *simAPIOptions) {
	f.StringVar(&o.Addr, "api", "", "serve the XML API over HTTPS on this address (e.g. 127.0.0.1:8443)")
	f.Int64Var(&o.TechSupportSize, "tech-support-size", 8<<20, "size in bytes of the generated tech-support file the API exports")
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
	srv, err := sim.NewAPIServer(dev, sim.APIConfig{User: user, Password: password, TechSupportSize: o.TechSupportSize})
	if err != nil {
		return simServer{}, err
	}
	return simServer{name: "api", addr: o.Addr, serve: srv.Serve,
		info: fmt.Sprintf("https, keygen user %s, password %s, tls.fingerprint: %s", user, pwNote, srv.Fingerprint())}, nil
}
