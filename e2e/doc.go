// Package e2e holds the end-to-end tests of runbook: the real CLI binary
// (built once by TestMain from ./cmd/runbook) runs the four built-in
// playbooks against the PAN-OS simulator (package sim, started in the test
// process on 127.0.0.1) over both real transports, SSH and the HTTPS XML
// API, and the tests assert the simulated firewall's debug state is clean at
// the end of every path: a finished run, an interrupt (SIGINT, SIGTERM), a
// connection dropped mid-run, SIGKILL followed by `runbook cleanup`, and an
// unreachable target. They also grep every byte the run wrote and printed
// for the secrets it was given. The fault suite (faults_test.go, its harness
// in faultharness_test.go, docs/faults.md) cuts each built-in playbook at
// every step it sends (a signal, a dropped connection, a session lost
// between two steps), and covers repeated signals, timeouts, a server that
// goes away, SIGKILL then `runbook cleanup`, and output piped into a
// process that dies first.
//
// The package has no code outside its tests. The tests import sim (the
// stand-in firewall) and engine (only to read the run folder's manifest and
// journal); they must not import cmd/runbook or any transport: everything
// between the inventory and the simulator is the binary under test.
package e2e
