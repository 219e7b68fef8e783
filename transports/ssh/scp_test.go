package ssh

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
)

const scpPassword = "scp-Pa55-not-shown"

// scpCLI is the export every case sends; the simulator's tech-support needs
// no capture taken first.
const scpCLI = "scp export tech-support to bob@192.0.2.9:/cases"

// logins counts the sessions the device saw being prepared: one means the
// transport never reconnected.
func logins(dev *sim.Device) int {
	n := 0
	for _, e := range dev.Log() {
		if e.CLI == "set cli pager off" {
			n++
		}
	}
	return n
}

// TestScpExport sends an `scp export` over real SSH to the simulator for
// each question and failure the firewall's OpenSSH client prints, and
// checks the typed error, the device's words in it, that a question is
// answered at most once, and that the session is usable afterwards without
// a reconnect.
func TestScpExport(t *testing.T) {
	tests := []struct {
		name   string
		faults sim.Faults
		scp    transports.Scp
		want   error    // nil: the copy succeeded
		words  []string // in the error's message
		out    []string // in the output
		asked  int      // password questions the device asked
	}{
		{name: "ok", scp: transports.Scp{Password: scpPassword},
			out: []string{"bob@192.0.2.9's password:", "... done"}, asked: 1},
		{name: "new host key, not allowed", faults: sim.Faults{ScpNewHost: true}, scp: transports.Scp{Password: scpPassword},
			want:  transports.ErrHostKeyNotAccepted,
			words: []string{"The authenticity of host '192.0.2.9 (192.0.2.9)' can't be established.", "ECDSA key fingerprint is SHA256:", "answered no", "Host key verification failed.", "lost connection"}},
		{name: "new host key, allowed", faults: sim.Faults{ScpNewHost: true}, scp: transports.Scp{Password: scpPassword, AcceptNewHostKey: true},
			out: []string{"Are you sure you want to continue connecting (yes/no)?", "Warning: Permanently added '192.0.2.9' (ECDSA) to the list of known hosts.", "... done"}, asked: 1},
		{name: "password refused", faults: sim.Faults{ScpRefusePassword: true}, scp: transports.Scp{Password: scpPassword},
			want: transports.ErrCopyFailed, words: []string{"Permission denied, please try again."}, out: []string{"^C"}, asked: 2},
		{name: "no password given", scp: transports.Scp{},
			want: transports.ErrCopyFailed, words: []string{"bob@192.0.2.9's password: asked, and no scp password was given"}, asked: 1},
		{name: "failed to open file", faults: sim.Faults{ScpFail: "scp: Failed to open file /cases/techsupport.tgz\nlost connection"}, scp: transports.Scp{Password: scpPassword},
			want: transports.ErrCopyFailed, words: []string{"scp: Failed to open file /cases/techsupport.tgz", "lost connection"}, asked: 1},
		{name: "lost connection", faults: sim.Faults{ScpFail: "lost connection"}, scp: transports.Scp{Password: scpPassword},
			want: transports.ErrCopyFailed, words: []string{"lost connection"}, asked: 1},
		{name: "no such directory", faults: sim.Faults{ScpFail: "scp: /cases/nope/techsupport.tgz: No such file or directory"}, scp: transports.Scp{Password: scpPassword},
			want: transports.ErrCopyFailed, words: []string{"scp: /cases/nope/techsupport.tgz: No such file or directory"}, asked: 1},
		{name: "connection refused", faults: sim.Faults{ScpFail: "ssh: connect to host 192.0.2.9 port 22: Connection refused\nlost connection", ScpFailEarly: true},
			scp:  transports.Scp{Password: scpPassword},
			want: transports.ErrCopyFailed, words: []string{"ssh: connect to host 192.0.2.9 port 22: Connection refused", "lost connection"}},
		{name: "connection timed out", faults: sim.Faults{ScpFail: "ssh: connect to host 192.0.2.9 port 22: Connection timed out\nlost connection", ScpFailEarly: true},
			scp:  transports.Scp{Password: scpPassword},
			want: transports.ErrCopyFailed, words: []string{"ssh: connect to host 192.0.2.9 port 22: Connection timed out"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := sim.NewDevice(sim.Options{ScpPassword: scpPassword, Faults: tt.faults})
			f := start(t, dev, sim.SSHConfig{})
			c := f.dial(t)
			scp := tt.scp
			res, err := c.Run(context.Background(), transports.Command{CLI: scpCLI, Scp: &scp, Timeout: time.Minute})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			} else {
				var de *transports.DeviceError
				if !errors.Is(err, tt.want) || !errors.As(err, &de) {
					t.Fatalf("Run = %v, want a *DeviceError wrapping %v", err, tt.want)
				}
				for _, w := range tt.words {
					if !strings.Contains(de.Message, w) {
						t.Errorf("message %q lacks %q", de.Message, w)
					}
				}
			}
			for _, w := range tt.out {
				if !strings.Contains(res.Text, w) {
					t.Errorf("output %q lacks %q", res.Text, w)
				}
			}
			if strings.Contains(res.Text, scpPassword) || (err != nil && strings.Contains(err.Error(), scpPassword)) {
				t.Error("the scp password leaked")
			}
			if got := strings.Count(res.Text, "'s password:"); got != tt.asked {
				t.Errorf("the password was asked %d times, want %d; output %q", got, tt.asked, res.Text)
			}
			// The device is back at its prompt: the same session answers.
			if out, err := c.Run(context.Background(), transports.Command{CLI: "show clock"}); err != nil || !strings.Contains(out.Text, " UTC ") {
				t.Fatalf("show clock after the export: %q %v", out.Text, err)
			}
			if n := logins(dev); n != 1 {
				t.Errorf("%d logins: the session was lost", n)
			}
		})
	}
}

// TestScpHostKeyRemembered checks that a host key accepted once is not
// asked again (the device remembers it), and that a refused one is asked
// again next time.
func TestScpHostKeyRemembered(t *testing.T) {
	dev := sim.NewDevice(sim.Options{ScpPassword: scpPassword, Faults: sim.Faults{ScpNewHost: true}})
	c := start(t, dev, sim.SSHConfig{}).dial(t)
	run := func(accept bool) (string, error) {
		res, err := c.Run(context.Background(), transports.Command{CLI: scpCLI, Scp: &transports.Scp{Password: scpPassword, AcceptNewHostKey: accept}})
		return res.Text, err
	}
	for i := range 2 {
		if _, err := run(false); !errors.Is(err, transports.ErrHostKeyNotAccepted) {
			t.Fatalf("refusal %d: %v", i, err)
		}
	}
	if _, err := run(true); err != nil {
		t.Fatal(err)
	}
	out, err := run(false)
	if err != nil || strings.Contains(out, "continue connecting") {
		t.Fatalf("known host asked again: %q %v", out, err)
	}
}

// TestScpPromptDoesNotComeBack checks the bound after Ctrl-C: a device
// that ignores it (this fake shell acts only on whole lines) does not hold
// the Run for the command's whole timeout; the session is dropped and the
// error keeps the device's words.
func TestScpPromptDoesNotComeBack(t *testing.T) {
	old := scpAbortWait
	scpAbortWait = 200 * time.Millisecond
	t.Cleanup(func() { scpAbortWait = old })
	const prompt = "admin@PA-1> "
	tg, o := startScripted(t, scriptedShell{login: "Welcome admin.\r\n" + prompt, answer: func(l string, w io.Writer) {
		switch {
		case l == scpCLI:
			io.WriteString(w, "bob@192.0.2.9's password: ")
		case l == scpPassword:
			io.WriteString(w, "Permission denied, please try again.\r\nbob@192.0.2.9's password: ")
		default:
			io.WriteString(w, "\r\n"+prompt)
		}
	}})
	tr, err := Config{CommandTimeout: 30 * time.Second}.Dial(context.Background(), tg, o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, err = tr.Run(context.Background(), transports.Command{CLI: scpCLI, Scp: &transports.Scp{Password: scpPassword}, Timeout: 10 * time.Minute})
	var de *transports.DeviceError
	if !errors.Is(err, transports.ErrCopyFailed) || !errors.As(err, &de) || de.Message != "Permission denied, please try again." {
		t.Fatalf("Run = %v, want the device's words wrapping ErrCopyFailed", err)
	}
	if !strings.Contains(err.Error(), "the prompt did not come back within 200ms of Ctrl-C") {
		t.Errorf("error %q does not say the session was dropped", err)
	}
	if strings.Contains(err.Error(), scpPassword) {
		t.Error("the scp password leaked")
	}
}
