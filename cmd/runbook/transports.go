package main

import (
	"context"
	"strings"

	"github.com/runbook-dev/runbook/examples"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/dual"
	"github.com/runbook-dev/runbook/transports/replay"
	"github.com/runbook-dev/runbook/transports/ssh"
	"github.com/runbook-dev/runbook/transports/xmlapi"
)

// registry lists the transports, explicitly.
func registry() transports.Registry {
	return transports.Registry{
		"replay": replayDialer(replay.Strict, 0),
		"ssh":    ssh.Dial,
		"xmlapi": xmlapi.Dial,
		// A target reached both ways (transport: [ssh, xmlapi]).
		dual.Name: dual.Dialer(ssh.Dial, xmlapi.Dial),
	}
}

// builtinCassette prefixes the cassette of a demo target: a recording
// embedded in the binary rather than a file.
const builtinCassette = "builtin:"

// replayDialer opens a cassette file, or an embedded one for the demo target.
// pace > 0 replays at that multiple of the recorded durations, in real
// time; 0 replays at once, in virtual time.
func replayDialer(mode replay.Mode, pace float64) transports.Dialer {
	return func(ctx context.Context, t transports.Target, o transports.DialOptions) (transports.Transport, error) {
		var c *replay.Cassette
		var err error
		if name, ok := strings.CutPrefix(t.Cassette, builtinCassette); ok {
			c, err = examples.Cassette(name)
		} else {
			c, err = replay.Open(t.Cassette)
		}
		if err != nil {
			return nil, &transports.ConnError{Target: t.Name, Err: err}
		}
		return replay.New(c, replay.Options{Mode: mode, Redact: o.Redact, Pace: pace}), nil
	}
}

// openedDialer replays c, a cassette already opened and checked (by
// checkCassette), so a run does not open and check its file again.
func openedDialer(c *replay.Cassette, mode replay.Mode, pace float64) transports.Dialer {
	return func(_ context.Context, _ transports.Target, o transports.DialOptions) (transports.Transport, error) {
		return replay.New(c, replay.Options{Mode: mode, Redact: o.Redact, Pace: pace}), nil
	}
}
