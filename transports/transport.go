package transports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/runbook-dev/runbook/secret"
)

// Transport is one open session to one device.
//
// Run sends one command and returns its complete output. It honours ctx: when
// ctx is cancelled or its deadline passes, Run returns promptly (the session
// may be closed to unblock it) with an error wrapping ctx.Err(). A Run that
// failed with ErrClosed or a *ConnError may be retried on a new Transport; a
// Run that failed with a *DeviceError must not be retried blindly, the device
// answered.
//
// Close ends the session. It is safe to call more than once; Run after Close
// returns ErrClosed.
type Transport interface {
	Run(ctx context.Context, cmd Command) (Result, error)
	Facts() Facts
	Close() error
}

// Command is one command to send to a device.
type Command struct {
	// CLI is the command as typed at the PAN-OS CLI.
	CLI string
	// Shown is CLI as it may be written down (a recording, a log): every
	// value that holds a secret replaced by secret.Placeholder, the rest
	// as written. Empty means the caller did not say; then a writer must
	// redact CLI itself.
	Shown string
	// XML is the explicit XML API op form; empty means the transport derives
	// it from CLI where it needs one.
	XML string
	// Prompts are the questions the command may ask and their answers.
	// Any other question fails the command.
	Prompts []Prompt
	// Timeout bounds this command; zero means the transport's default.
	Timeout time.Duration
	// Scp, when set, marks CLI as an `scp export ... to user@host:path`: the
	// device copies a file to a remote host and may ask that host's SSH
	// questions. The transport answers them as Scp says (and never loops on
	// a repeated one), and checks the output for the copy's failure texts:
	// a failed copy is a *DeviceError with the device's words, wrapping
	// ErrCopyFailed or ErrHostKeyNotAccepted.
	Scp *Scp
}

// Scp says how to answer the questions of an `scp export`.
type Scp struct {
	// Password answers the remote host's password question, once. It is a
	// secret: never echoed, logged or recorded. Empty: a password question
	// fails the copy.
	Password string
	// AcceptNewHostKey answers "yes" when the device has never seen the
	// remote host's key and asks whether to trust it; false answers "no"
	// and the copy fails with ErrHostKeyNotAccepted.
	AcceptNewHostKey bool
}

// Prompt is an interactive question a command may ask, and its answer.
type Prompt struct {
	// Pattern matches the question as the device prints it.
	Pattern *regexp.Regexp
	// Answer is sent, followed by a newline, when Pattern matches.
	Answer string
	// Secret marks Answer as a secret: it is never echoed, logged or recorded.
	Secret bool
}

// Result is what a device answered to one command.
type Result struct {
	// Text is the output as the CLI would show it (or, for structured
	// answers without a text form, the pretty-printed XML).
	Text string
	// Data is the structured answer where the transport has one (the XML
	// API's <result> as nested map[string]any / []any / string), else nil.
	Data any
	// Transport names the transport that answered (ssh, xmlapi) when the
	// Transport run is made of several (transports/dual) or replays one
	// that was; also set beside an error. Empty means the transport the
	// target names.
	Transport string
}

// Facts describe the device a transport is connected to. Keys are lower-case:
// hostname, model, serial, sw_version, transport.
type Facts map[string]string

// ExportRequest names a file to bring back from a device.
type ExportRequest struct {
	// Category is the PAN-OS export category: tech-support, filters-pcap,
	// debug-pcap, ...
	Category string
	// File is the file within the category, empty when the category has one.
	File string
	// MaxBytes bounds the download; zero means no bound.
	MaxBytes int64
	// Progress, if set, is called as bytes arrive; total is -1 when unknown.
	Progress func(done, total int64)
}

// ExportInfo describes a file an Exporter wrote.
type ExportInfo struct {
	// Name is a safe base name for the file (never a path).
	Name string
	// Size is the number of bytes written.
	Size int64
	// Transport names the transport that pulled the file, as
	// Result.Transport does for a command; empty means the target's.
	Transport string
}

// Exporter is implemented by transports that can pull a file from the device
// (the XML API). CanExport says whether a category is supported, so the
// engine can fall back to `scp export` or a note before it tries.
type Exporter interface {
	CanExport(category string) bool
	Export(ctx context.Context, req ExportRequest, w io.Writer) (ExportInfo, error)
}

// Interactive is implemented by transports that may answer Command.Prompts
// (a CLI session); Interactive reports whether this one can. A transport
// that does not implement it cannot (the XML API has no interactive
// prompt), so the engine does not send it a command that asks a question.
type Interactive interface {
	Interactive() bool
}

// VirtualClock is implemented by transports that replay a recording: the
// engine then does not sleep for waits, intervals or prompts.
type VirtualClock interface {
	VirtualTime() bool
}

// Instant is implemented by transports whose Run may answer at once: an
// unpaced replay. Instant reports whether this one does: its Run then
// never blocks and reads ctx only by ctx.Err() as it is called, and it
// keeps Command.Timeout itself (a replay against the recorded duration),
// so a caller may send it a command without a deadline of the command's
// timeout, which could not end a Run that is over before it fires.
type Instant interface {
	Instant() bool
}

// Errors every transport returns, matched with errors.Is.
var (
	// ErrClosed: the session is closed or was lost.
	ErrClosed = errors.New("session closed")
	// ErrNotSent: the session was found lost (or could not be re-opened)
	// before the command reached the device, so the device did not run
	// it. It comes with ErrClosed or a *ConnError; the same command may be
	// sent as is on a re-opened Transport.
	ErrNotSent = errors.New("command not sent")
	// ErrTimeout: the command did not complete within its timeout.
	ErrTimeout = errors.New("command timed out")
	// ErrStoppedReading: a write on the session (the command, an answer
	// to its question) could not finish: the device stopped reading. It
	// comes with ErrClosed (the session was dropped to end the write) and
	// ErrTimeout or the context's error; the command may have reached the
	// device in part or whole, so it is never ErrNotSent.
	ErrStoppedReading = errors.New("the device stopped reading")
	// ErrUnknownCommand: the device does not know the command.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrInvalidSyntax: the device's command parser refused the command
	// (PAN-OS: "Invalid syntax."). Wrapped by a *DeviceError. Like an
	// unknown command, it did not run: nothing it would switch on is on.
	ErrInvalidSyntax = errors.New("invalid syntax")
	// ErrUnexpectedPrompt: the command asked a question no Prompt answers.
	ErrUnexpectedPrompt = errors.New("unexpected prompt")
	// ErrNotSupported: the transport cannot do this (e.g. export a category).
	ErrNotSupported = errors.New("not supported by this transport")
	// ErrCopyFailed: an `scp export` printed a failure (refused password,
	// unreachable host, a file it could not open, a lost connection).
	ErrCopyFailed = errors.New("scp copy failed")
	// ErrHostKeyNotAccepted: an `scp export` asked whether to trust a remote
	// host key the device has not seen, and Command.Scp did not allow it.
	ErrHostKeyNotAccepted = errors.New("scp: new remote host key not accepted")
	// ErrNotOverAPI: the device refused the command because it came over
	// the XML API (PAN-OS: "debug not available to xmlapi client"); the
	// same command runs on its CLI (SSH). Wrapped by a *DeviceError: the
	// device did not run it.
	ErrNotOverAPI = errors.New("not available over the XML API: run it on the CLI (SSH)")
	// ErrDiverged: the transport has no answer for the command because
	// the session it plays went another way (a replay whose cassette
	// expected another command, or has no more). Nothing reached any
	// device, and every later answer would be out of step: the run stops
	// whatever the step's on_error says, and cleanup runs.
	ErrDiverged = errors.New("the recorded session went another way")
)

// DeviceError is a command the device refused, with the device's own words.
type DeviceError struct {
	Command string
	Code    string // API error code, empty over SSH
	Message string
	Err     error // ErrUnknownCommand, or nil
}

func (e *DeviceError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("device refused %q: %s (code %s)", e.Command, e.Message, e.Code)
	}
	return fmt.Sprintf("device refused %q: %s", e.Command, e.Message)
}

func (e *DeviceError) Unwrap() error { return e.Err }

// ConnError is a failure to connect or authenticate; nothing was sent.
type ConnError struct {
	Target string
	Err    error
}

func (e *ConnError) Error() string { return fmt.Sprintf("connect %s: %v", e.Target, e.Err) }

func (e *ConnError) Unwrap() error { return e.Err }

// Target is everything needed to open a transport to one device, as the
// inventory gives it. Secrets are references, resolved by the transport
// through DialOptions.Resolve.
type Target struct {
	Name string
	// Transport is ssh, xmlapi, replay, or ssh+xmlapi for a target reached
	// both ways (transports/dual).
	Transport string
	Host      string
	Port      int
	// Ports are the ports of each part of a target reached several ways
	// (ssh+xmlapi), by transport name; a part not listed uses its default.
	Ports map[string]int
	User  string

	Password   secret.Ref
	KeyFile    string
	Passphrase secret.Ref
	UseAgent   bool
	KnownHosts string
	APIKey     secret.Ref
	TLS        TLS

	// Serial and Panorama are set for a firewall reached through Panorama
	// (inventory via: and serial:): every XML API request goes to the
	// Panorama, with its address, TLS policy and credentials, carrying
	// Serial as the target parameter. Host, Port, User, Password, APIKey
	// and TLS of this target are then unused.
	// Via names the Panorama target in the inventory; the inventory sets
	// Panorama to it.
	Serial   string
	Via      string
	Panorama *Target

	// Cassette is the recording a replay target plays back.
	Cassette string
	// Params are the playbook parameters a demo target supplies.
	Params map[string]string

	// Jumps are the SSH jump hosts (OpenSSH's ProxyJump) the SSH part of
	// the target is reached through, first to last. Each is dialled with
	// its own Host, Port, User, credentials and KnownHosts; its own Jumps
	// are not used (the inventory flattens the chain).
	Jumps []Target
}

// TLS is the certificate policy of an HTTPS target.
type TLS struct {
	CAFile             string
	Fingerprint        string // sha256:<hex>, colons allowed
	InsecureSkipVerify bool
}

// DialOptions carry what a transport needs from its caller besides the
// target.
type DialOptions struct {
	// Resolve turns a secret reference into its value.
	Resolve func(ctx context.Context, r secret.Ref) (string, error)
	// AcceptNewHostKey adds an unknown SSH host key to known_hosts
	// (OpenSSH's accept-new); a changed key is still refused.
	AcceptNewHostKey bool
	// Warn receives warnings meant for the operator (e.g. TLS checks off).
	Warn io.Writer
	// Redact scrubs known secrets from text; a replay applies it to each
	// command before matching a redacted cassette. Nil means no redaction.
	Redact func(string) string
	// Secret, if set, registers a secret the transport obtained by itself
	// (an API key generated with keygen) so it is redacted everywhere.
	Secret func(value string)
	// SessionLog, if set, receives the raw transcript of the session: over
	// SSH every byte sent and received on the shell channel, over the XML
	// API each request and each answer (transports/sessionlog). A
	// transport writes a secret it knows (a secret prompt answer, an scp
	// password, the API key, a keygen password) as secret.Placeholder,
	// never its value; the writer redacts every registered secret besides
	// (sessionlog.Writer). A transport that sends nothing (replay) writes
	// nothing.
	SessionLog io.Writer
}

// Dialer opens a transport to a target.
type Dialer func(ctx context.Context, t Target, o DialOptions) (Transport, error)

// Registry maps a transport name (as written in the inventory) to its
// Dialer. It is built explicitly by the program, never by init functions.
type Registry map[string]Dialer

// Dial opens t with the dialer registered for t.Transport.
func (r Registry) Dial(ctx context.Context, t Target, o DialOptions) (Transport, error) {
	d, ok := r[t.Transport]
	if !ok {
		return nil, fmt.Errorf("target %s: unknown transport %q", t.Name, t.Transport)
	}
	return d(ctx, t, o)
}
