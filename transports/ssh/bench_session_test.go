package ssh

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
)

// bareShell is the least a client can do: an x/crypto/ssh session with a
// PTY and a shell, a command written, the answer read until the prompt and
// handed back as text (echo and prompt cut off, the PTY's CRs removed).
type bareShell struct {
	in     io.Writer
	out    io.Reader
	prompt []byte
	buf    []byte
}

func dialBare(b *testing.B, f *fixture, prompt string) *bareShell {
	b.Helper()
	cfg := &xssh.ClientConfig{User: f.target.User, Auth: []xssh.AuthMethod{xssh.Password(testPassword)},
		HostKeyCallback: xssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second} // loopback simulator only
	conn, err := xssh.Dial("tcp", fmt.Sprintf("%s:%d", f.target.Host, f.target.Port), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	sess, err := conn.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	modes := xssh.TerminalModes{xssh.ECHO: 1, xssh.TTY_OP_ISPEED: 115200, xssh.TTY_OP_OSPEED: 115200}
	if err := sess.RequestPty("vt100", 1000, 500, modes); err != nil {
		b.Fatal(err)
	}
	in, _ := sess.StdinPipe()
	out, _ := sess.StdoutPipe()
	if err := sess.Shell(); err != nil {
		b.Fatal(err)
	}
	sh := &bareShell{in: in, out: out, prompt: []byte(prompt), buf: make([]byte, 0, 64<<10)}
	sh.readToPrompt(b)
	// The same session set-up as Client's, so both sessions get the same
	// bytes from the simulator.
	for _, cli := range []string{"set cli scripting-mode on", "set cli pager off", "set cli terminal width 500"} {
		sh.run(b, cli)
	}
	return sh
}

// run writes cli and returns its answer.
func (s *bareShell) run(b *testing.B, cli string) string {
	if _, err := io.WriteString(s.in, cli+"\n"); err != nil {
		b.Fatal(err)
	}
	s.readToPrompt(b)
	text := s.buf[:len(s.buf)-len(s.prompt)]
	if i := bytes.IndexByte(text, '\n'); i >= 0 {
		text = text[i+1:] // the echo
	}
	return string(bytes.ReplaceAll(text, []byte("\r"), nil))
}

// readToPrompt reads until the output ends with the prompt (at most 1 MiB).
func (s *bareShell) readToPrompt(b *testing.B) {
	s.buf = s.buf[:0]
	for !bytes.HasSuffix(s.buf, s.prompt) {
		if len(s.buf) == cap(s.buf) {
			if len(s.buf) > 1<<20 {
				b.Fatalf("no prompt in %d bytes", len(s.buf))
			}
			s.buf = append(s.buf, 0)[:len(s.buf)]
		}
		n, err := s.out.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			b.Fatalf("read: %v after %q", err, s.buf)
		}
	}
}

// BenchmarkSessionVsBare measures one SSH session against the simulator:
// the time from one answer to the next through Client.Run, against a bare
// x/crypto/ssh client writing the command and reading to the prompt in a
// loop, on the same server. Both run in turns of 10 commands, each going
// first every other time, so load on the machine falls on both. It reports the ratio (ours / bare, over the
// whole run, and the median of the turns' ratios, which a burst of load on
// a shared machine moves less; the goal is <= 1.10) and each one's time
// per command.
//
//	go test ./transports/ssh -run '^$' -bench SessionVsBare -benchtime 2000x
func BenchmarkSessionVsBare(b *testing.B) {
	for _, cli := range []string{"show clock", "show vpn flow tunnel-id 207"} {
		b.Run(cli, func(b *testing.B) {
			dev := sim.NewDevice(sim.Options{})
			f := start(b, dev, sim.SSHConfig{})
			c := f.dial(b)
			bare := dialBare(b, f, "admin@pa-sim> ")
			cmd := transports.Command{CLI: cli}
			ctx := context.Background()
			// Both do the same work: the same answer, line for line.
			res, err := c.Run(ctx, cmd)
			if err != nil {
				b.Fatal(err)
			}
			got, want := strings.TrimSpace(bare.run(b, cli)), strings.TrimSpace(res.Text)
			if strings.Count(got, "\n") != strings.Count(want, "\n") || len(want) < 10 || len(got) < 10 || got[:10] != want[:10] {
				b.Fatalf("bare client answered %q, Client.Run %q", got, want)
			}
			const turn = 10
			var ours, theirs time.Duration
			var ratios []float64 // per turn: ours / bare
			b.ResetTimer()
			for done := 0; done < b.N; done += turn {
				n := min(turn, b.N-done)
				runOurs := func() time.Duration {
					t := time.Now()
					for range n {
						if _, err := c.Run(ctx, cmd); err != nil {
							b.Fatal(err)
						}
					}
					return time.Since(t)
				}
				runBare := func() time.Duration {
					t := time.Now()
					for range n {
						if bare.run(b, cli) == "" {
							b.Fatal("bare client: no answer")
						}
					}
					return time.Since(t)
				}
				var o, t time.Duration
				if done/turn%2 == 0 { // who goes first alternates too
					o, t = runOurs(), runBare()
				} else {
					t, o = runBare(), runOurs()
				}
				ours, theirs = ours+o, theirs+t
				ratios = append(ratios, o.Seconds()/t.Seconds())
			}
			b.StopTimer()
			slices.Sort(ratios)
			b.ReportMetric(ours.Seconds()/theirs.Seconds(), "x-bare")
			b.ReportMetric(ratios[len(ratios)/2], "x-bare-median")
			b.ReportMetric(float64(ours.Microseconds())/float64(b.N), "µs/cmd")
			b.ReportMetric(float64(theirs.Microseconds())/float64(b.N), "bare-µs/cmd")
		})
	}
}
