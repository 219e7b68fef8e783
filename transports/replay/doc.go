// Package replay owns the cassette: the file a recorded session is kept in
// (its Go type, Load, Save and an append-only Writer), the replay Transport
// that plays a cassette back with virtual time, and the Redaction that
// recording and replay share so that a cassette whose secrets and customer
// details were replaced by placeholders still matches.
//
// The format is documented in docs/cassette-format.md.
//
// This package imports transports and secret only. It must not import
// engine/ (a transport knows nothing of playbooks), nor transports/record,
// which builds on it.
package replay
