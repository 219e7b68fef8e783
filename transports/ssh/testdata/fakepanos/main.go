// Command fakepanos is a fake PAN-OS login shell for the OpenSSH test
// (openssh_test.go): a real sshd runs it as its ForceCommand, on the PTY
// sshd allocated, so the SSH transport meets OpenSSH's own channel, PTY
// echo and line discipline instead of the simulator's SSH server.
//
// It prints the login noise and the `admin@PA-VM> ` prompt, reads one line
// at a time from stdin and answers with the simulated device of package
// sim (sim.Shell), so its outputs and refusals (`Unknown command: x`) are
// the simulator's. Every line received is appended to the -log file, so
// the test can check what reached the "firewall". It exits on `exit` or at
// the end of input.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/runbook-dev/runbook/sim"
)

func main() {
	os.Exit(run())
}

func run() int {
	logPath := flag.String("log", "", "append every line received to this file")
	flag.Parse()
	var logw io.Writer = io.Discard
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fakepanos:", err)
			return 1
		}
		defer f.Close()
		logw = f
	}
	dev := sim.NewDevice(sim.Options{Hostname: "PA-VM", Scenario: sim.Phase2Down})
	sh := dev.NewShell("admin", "openssh")
	in := bufio.NewReader(os.Stdin)
	out := os.Stdout
	readLine := func() (string, error) {
		l, err := in.ReadString('\n')
		if err != nil && l == "" {
			return "", err
		}
		for len(l) > 0 && (l[len(l)-1] == '\n' || l[len(l)-1] == '\r') {
			l = l[:len(l)-1]
		}
		return l, nil
	}
	ask := func(_ context.Context, q string, _ bool) (string, error) {
		fmt.Fprint(out, q)
		return readLine()
	}
	fmt.Fprint(out, "Last login: Thu Nov 26 08:00:00 2026 from 192.0.2.50\n\nWelcome admin.\n")
	ctx := context.Background()
	for {
		fmt.Fprint(out, sh.Prompt())
		line, err := readLine()
		if err != nil {
			return 0
		}
		fmt.Fprintln(logw, line)
		text, exit, err := sh.Exec(ctx, line, ask)
		if exit {
			return 0
		}
		var ce *sim.CommandError
		switch {
		case errors.As(err, &ce):
			text = ce.Msg + "\n"
		case err != nil:
			text = "Server error : " + err.Error() + "\n"
		}
		fmt.Fprint(out, text)
		if text != "" {
			fmt.Fprint(out, "\n")
		}
	}
}
