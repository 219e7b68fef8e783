// Package sim is a simulated PAN-OS firewall for tests, demos and playbook
// authors: a Device model (debug switches, packet captures, counters that
// move, IKE and IPSec SAs up or down per Scenario, failure injection, a log
// of every command) that answers the CLI commands of the four IPSec
// procedures with the text a real device prints, and an SSH server
// (NewSSHServer) that serves it with the PAN-OS prompt, login banner and
// keyboard-interactive authentication.
//
// The HTTPS XML API server drives the same Device through Exec. This package
// imports only the standard library and golang.org/x/crypto/ssh: it must not
// import engine/, transports/ or cmd/ (it stands in for the firewall, so it
// shares no code with the clients it tests).
package sim
