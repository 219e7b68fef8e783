// Package record wraps any transport and writes the session to a cassette
// (transports/replay) as it happens: every command, its output, structured
// data, typed error and duration, and every export. Everything is redacted
// before it is written, with the replay.Redaction that replay uses for
// matching, so a recorded cassette replays.
//
// Recording never changes what is sent nor what the caller gets back.
//
// This package imports transports, transports/replay and secret. It must
// not import engine/ nor any live transport.
package record
