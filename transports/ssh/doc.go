// Package ssh is the SSH transport to the PAN-OS CLI, on
// golang.org/x/crypto/ssh: an interactive shell with a PTY, the PAN-OS
// session set-up (scripting mode, pager off, wide terminal), prompt
// detection anchored at line start (HA suffixes and configuration mode
// included), command echo removed, CLI refusals turned into
// *transports.DeviceError, declared interactive prompts answered (secret
// answers never logged), unexpected prompts failed fast, the questions of
// `scp export` (Command.Scp: the remote host key, the password, each
// answered at most once, Ctrl-C on a repeat) and its failure texts read
// into typed errors (scp.go), host keys checked
// against known_hosts (accept-new on request, changed keys always refused),
// password, keyboard-interactive (PAN-OS login banner), key-file and
// ssh-agent authentication, keepalives, and reconnection with bounded
// backoff.
//
// It imports transports and secret; it must not import engine/ or cmd/.
// Its tests run against the simulator in sim/.
package ssh
