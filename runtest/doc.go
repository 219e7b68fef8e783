// Package runtest tests playbooks against recorded sessions: it finds the
// cases (a cassette, its playbook and the expectations stored beside it),
// replays each one in-process through the engine and the replay transport,
// compares what happened with the expectations, and rewrites them on
// request. `runbook test` and `go test` use this same code, so an author and
// CI test a playbook the same way.
//
// The conventions (where cases live, how a cassette finds its playbook, the
// expectations file) are documented in docs/testing-playbooks.md.
//
// This package imports the engine, its observers (observe), the playbook model, the built-in
// playbooks, secret and transports/replay. It must not import cobra, any
// live transport, nor cmd/runbook.
package runtest
