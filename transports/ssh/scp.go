package ssh

import (
	"regexp"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/transports"
)

// This file answers the questions of an `scp export` (Command.Scp) and
// reads its verdict. The firewall runs an OpenSSH client: to a host it has
// not seen it first asks the host-key question, then `user@host's
// password:`; a refused password is followed by `Permission denied, please
// try again.` and the same question (ktbyers/nornir_netmiko issue 67,
// ktbyers/netmiko issues 2509 and 2823, OpenSSH's own client texts).

// scpHostKeyQuestion is OpenSSH's question about a host key it has not
// seen: "Are you sure you want to continue connecting (yes/no)? ", or
// since OpenSSH 8.0 "(yes/no/[fingerprint])? ".
var scpHostKeyQuestion = regexp.MustCompile(`(?i)continue connecting \(yes/no(?:/\[fingerprint\])?\)\?\s*$`)

// scpPasswordQuestion is the remote host's password question.
var scpPasswordQuestion = regexp.MustCompile(`(?i)password:\s*$`)

// scpFailure finds the lines by which the OpenSSH client (ssh, scp) on
// the device says a copy failed, at the start of a line.
var scpFailure = regexp.MustCompile(`(?m)^[ \t]*(` +
	`lost connection` +
	`|ssh: .*` +
	`|.*(?:Permission denied|Failed to open file|\bfailed to |No such file or directory|Connection refused|Connection timed out|Connection closed|Connection reset|Could not resolve hostname|Host key verification failed|No space left on device|Is a directory|Not a directory|Network is unreachable|No route to host).*` +
	`)[ \t]*$`)

// scpHostKeyLines are the lines of the host-key question that name the
// host and its key.
var scpHostKeyLines = regexp.MustCompile(`(?m)^[ \t]*(The authenticity of host .*|.*key fingerprint is .*)[ \t]*$`)

// scpAbortWait bounds the wait for the prompt after Ctrl-C; a variable for
// tests.
var scpAbortWait = 10 * time.Second

// scpState follows the questions of one `scp export`.
type scpState struct {
	opts      transports.Scp
	hostKey   int  // times the host-key question was asked
	passwords int  // times the password question was asked
	refused   bool // the host-key question was answered no
	// abort is set once Ctrl-C was sent to end the copy: it failed with
	// these words, whatever the device prints before its prompt.
	abort *transports.DeviceError
}

// answer returns what to type for the question at the end of the output
// (tail is its last line; text returns all of it, secrets redacted), or
// false when tail asks nothing it knows. A question asked a second time is never
// answered again: Ctrl-C ends the copy, so it cannot loop.
func (st *scpState) answer(cli string, text func() string, tail string) (string, bool) {
	switch {
	case scpHostKeyQuestion.MatchString(tail):
		st.hostKey++
		if st.hostKey > 1 {
			return st.interrupt(cli, text(), tail), true
		}
		if st.opts.AcceptNewHostKey {
			return "yes\n", true
		}
		// The device goes back to its prompt after "no" (OpenSSH: "Host
		// key verification failed.", scp: "lost connection").
		st.refused = true
		return "no\n", true
	case scpPasswordQuestion.MatchString(tail):
		st.passwords++
		if st.opts.Password == "" {
			st.interrupt(cli, text(), tail)
			st.abort.Message = strings.TrimSpace(tail) + " asked, and no scp password was given"
			return "\x03", true
		}
		if st.passwords > 1 {
			return st.interrupt(cli, text(), tail), true
		}
		return st.opts.Password + "\n", true
	}
	return "", false
}

// interrupt records the failure with the device's words so far and returns
// Ctrl-C, which ends the device's ssh client and brings its prompt back.
func (st *scpState) interrupt(cli, text, tail string) string {
	msg := strings.Join(failureLines(text), "; ")
	if msg == "" {
		msg = strings.TrimSpace(tail) + " asked again"
	}
	st.abort = &transports.DeviceError{Command: cli, Message: msg, Err: transports.ErrCopyFailed}
	return "\x03"
}

// verdict reads the output of a finished copy: nil when it printed no
// failure and no question was refused.
func (st *scpState) verdict(cli, out string) error {
	if st.abort != nil {
		return st.abort
	}
	lines := failureLines(out)
	if st.refused {
		var m []string
		for _, l := range scpHostKeyLines.FindAllStringSubmatch(out, -1) {
			m = append(m, strings.TrimSpace(l[1]))
		}
		m = append(m, "answered no")
		return &transports.DeviceError{Command: cli, Message: strings.Join(append(m, lines...), "; "), Err: transports.ErrHostKeyNotAccepted}
	}
	if len(lines) == 0 {
		return nil
	}
	return &transports.DeviceError{Command: cli, Message: strings.Join(lines, "; "), Err: transports.ErrCopyFailed}
}

// failureLines returns the failure lines of out, in order, each once.
func failureLines(out string) []string {
	var lines []string
	seen := map[string]bool{}
	for _, m := range scpFailure.FindAllStringSubmatch(out, -1) {
		l := strings.TrimSpace(m[1])
		if !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	return lines
}
