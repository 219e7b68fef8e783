// Package transports defines how the engine reaches a device: one small
// Transport interface, the optional abilities a transport may add (Exporter,
// VirtualClock, Interactive, Instant), the typed errors every transport returns, and the Target a
// transport is opened for.
//
// This package and its implementations (transports/ssh, transports/xmlapi,
// transports/replay, and transports/dual, which holds an SSH and an XML API
// transport as one) know nothing of playbooks: they must not import engine/.
// The conformance suite every transport passes lives in
// transports/transporttest.
package transports
