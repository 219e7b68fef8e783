// Package sessionlog is the session log tap: the raw transcript a
// transport writes of what it sends and receives (like netmiko's
// session_log), redacted before any byte reaches the file.
//
// A transport is given the tap as transports.DialOptions.SessionLog, an
// io.Writer, and writes its raw exchange to it; this package's Writer is
// what the program passes there. It imports secret only; never the
// engine or a transport.
package sessionlog
