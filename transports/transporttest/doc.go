// Package transporttest holds the conformance suite every transport passes
// (ssh, xmlapi, replay): known and unknown commands, cancel, timeout, and a
// closed session. A transport's own tests call Run with a Harness that says
// how to open a session and which commands to send.
//
// This package imports transports and the standard library's testing only.
// It must not import any transport implementation (they import it, from
// their tests) nor engine/.
package transporttest
