package replay

import (
	"errors"
	"fmt"
	"time"

	"github.com/runbook-dev/runbook/transports"
)

// Version is the cassette format version this package reads and writes.
const Version = 1

// Cassette is a recorded session with one device.
type Cassette struct {
	Header
	// Exchanges are the commands sent, in the order they were sent; nil
	// in a cassette read by Open, whose replay reads them from its file.
	Exchanges []Exchange
	// Exports are the files brought back from the device, in order.
	Exports []Export
	// Path is the file the cassette was loaded from (empty if none); export
	// paths are relative to its directory and errors name it.
	Path string

	// lazy is the file of a cassette read by Open, nil otherwise.
	lazy *lazyFile
}

// Header is everything in a cassette besides its exchanges and exports. A
// Writer writes it before the first exchange.
type Header struct {
	// Playbook is the name of the playbook that was run.
	Playbook string
	// Params are the playbook parameters the session was recorded with.
	Params map[string]string
	// Target is the device the session was recorded against.
	Target Target
	// ExportCategories are the export categories the recorded transport
	// could export; empty means it could not export files.
	ExportCategories []string
	// Redaction says what was redacted before the cassette was written.
	Redaction RedactionInfo
}

// Target is the recorded device.
type Target struct {
	// Name is the inventory name of the target.
	Name string
	// Transport is the transport the session was recorded over (ssh, xmlapi).
	Transport string
	// Facts are the device facts the transport reported.
	Facts map[string]string
}

// RedactionInfo is what a cassette says about its redaction: whether secret
// values were replaced, and which patterns were applied. The placeholder map
// (which value became which placeholder) is never stored.
type RedactionInfo struct {
	// Secrets is true when secret values, `key=` URL parameters and
	// X-PAN-KEY values were replaced by secret.Placeholder.
	Secrets bool
	// Patterns are the author patterns, applied in order; every match was
	// replaced by NAME-N, the same value always by the same N.
	Patterns []PatternInfo
}

// PatternInfo is one author pattern as stored in a cassette.
type PatternInfo struct {
	// Name is the placeholder prefix, e.g. IP for IP-1, IP-2.
	Name string
	// Regexp is the pattern, in Go regexp syntax.
	Regexp string
}

// Exchange is one command and what the device answered.
type Exchange struct {
	// Command is the command as sent (CLI text), after redaction.
	Command string
	// XML is the explicit XML API form, if the command had one.
	XML string
	// Transport is the part of a target reached several ways that carried
	// the command (ssh, xmlapi); empty when the target has one transport.
	Transport string
	// Output is the text answer.
	Output string
	// Data is the structured answer (nested map[string]any, []any,
	// string), or nil.
	Data any
	// Error is the error the transport returned, or nil.
	Error *Error
	// Duration is how long the command took.
	Duration time.Duration
	// Line is the line of the exchange in the file it was loaded from.
	Line int
}

// ErrorKind classifies a recorded error so replay can return the same
// typed error.
type ErrorKind string

// The error kinds a cassette records.
const (
	KindDevice         ErrorKind = "device"
	KindUnknownCommand ErrorKind = "unknown-command"
	// KindInvalidSyntax is a command the device's parser refused ("Invalid
	// syntax.": a device error wrapping ErrInvalidSyntax).
	KindInvalidSyntax    ErrorKind = "invalid-syntax"
	KindTimeout          ErrorKind = "timeout"
	KindClosed           ErrorKind = "closed"
	KindUnexpectedPrompt ErrorKind = "unexpected-prompt"
	// KindCopyFailed and KindHostKeyNotAccepted are a failed `scp export`
	// (device errors wrapping ErrCopyFailed, ErrHostKeyNotAccepted).
	KindCopyFailed         ErrorKind = "copy-failed"
	KindHostKeyNotAccepted ErrorKind = "host-key-not-accepted"
	// KindNotOverAPI is a command the XML API refused to its clients (a
	// device error wrapping ErrNotOverAPI).
	KindNotOverAPI ErrorKind = "not-over-api"
)

func (k ErrorKind) valid() bool {
	switch k {
	case KindDevice, KindUnknownCommand, KindInvalidSyntax, KindTimeout, KindClosed, KindUnexpectedPrompt, KindCopyFailed, KindHostKeyNotAccepted, KindNotOverAPI:
		return true
	}
	return false
}

// Error is a recorded error.
type Error struct {
	Kind    ErrorKind
	Message string
	// Code is the XML API error code, empty over SSH.
	Code string
}

// ErrorFrom classifies err (as a transport returned it for command) into a
// recorded Error; nil for nil. redact is applied to the message. Context
// errors are classified as timeout only when they wrap ErrTimeout; callers
// should not record an exchange cancelled by their own context.
func ErrorFrom(err error, redact func(string) string) *Error {
	if err == nil {
		return nil
	}
	if redact == nil {
		redact = func(s string) string { return s }
	}
	var de *transports.DeviceError
	switch {
	case errors.As(err, &de):
		k := KindDevice
		switch {
		case errors.Is(err, transports.ErrUnknownCommand):
			k = KindUnknownCommand
		case errors.Is(err, transports.ErrInvalidSyntax):
			k = KindInvalidSyntax
		case errors.Is(err, transports.ErrHostKeyNotAccepted):
			k = KindHostKeyNotAccepted
		case errors.Is(err, transports.ErrCopyFailed):
			k = KindCopyFailed
		case errors.Is(err, transports.ErrNotOverAPI):
			k = KindNotOverAPI
		}
		return &Error{Kind: k, Message: redact(de.Message), Code: de.Code}
	case errors.Is(err, transports.ErrUnknownCommand):
		return &Error{Kind: KindUnknownCommand, Message: redact(err.Error())}
	case errors.Is(err, transports.ErrTimeout):
		return &Error{Kind: KindTimeout, Message: redact(err.Error())}
	case errors.Is(err, transports.ErrUnexpectedPrompt):
		return &Error{Kind: KindUnexpectedPrompt, Message: redact(err.Error())}
	}
	// ErrClosed, a lost connection, or anything else the session did not
	// survive.
	return &Error{Kind: KindClosed, Message: redact(err.Error())}
}

// Err turns a recorded error back into the typed error a live transport
// returns for command.
func (e *Error) Err(command string) error {
	if e == nil {
		return nil
	}
	switch e.Kind {
	case KindDevice:
		return &transports.DeviceError{Command: command, Code: e.Code, Message: e.Message}
	case KindUnknownCommand:
		return &transports.DeviceError{Command: command, Code: e.Code, Message: e.Message, Err: transports.ErrUnknownCommand}
	case KindInvalidSyntax:
		return &transports.DeviceError{Command: command, Code: e.Code, Message: e.Message, Err: transports.ErrInvalidSyntax}
	case KindCopyFailed:
		return &transports.DeviceError{Command: command, Code: e.Code, Message: e.Message, Err: transports.ErrCopyFailed}
	case KindHostKeyNotAccepted:
		return &transports.DeviceError{Command: command, Code: e.Code, Message: e.Message, Err: transports.ErrHostKeyNotAccepted}
	case KindNotOverAPI:
		return &transports.DeviceError{Command: command, Code: e.Code, Message: e.Message, Err: transports.ErrNotOverAPI}
	case KindTimeout:
		return fmt.Errorf("replay: %q: %s: %w", command, e.Message, transports.ErrTimeout)
	case KindUnexpectedPrompt:
		return fmt.Errorf("replay: %q: %s: %w", command, e.Message, transports.ErrUnexpectedPrompt)
	default:
		return fmt.Errorf("replay: %q: %s: %w", command, e.Message, transports.ErrClosed)
	}
}

// Export is one file brought back from the device.
type Export struct {
	// Category and File are the request: export category and file within it.
	Category string
	File     string
	// Transport is the part of a target reached several ways that pulled
	// the file; empty when the target has one transport.
	Transport string
	// Name is the base name the file was saved under.
	Name string
	// Size is the number of bytes and SHA256 their hex digest.
	Size   int64
	SHA256 string
	// Content holds the bytes of a small file (stored inline as base64).
	Content []byte
	// Path locates a large file, relative to the cassette's directory.
	// A file with neither Content nor Path replays as ErrNotSupported.
	Path string
	// Error is the error the export failed with, or nil.
	Error *Error
	// After is the number of exchanges recorded before this export; it
	// keeps the file in session order.
	After int
	// Line is the line of the export in the file it was loaded from.
	Line int
}
