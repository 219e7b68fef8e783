package main

import (
	"context"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/runtest"
	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports/replay"
)

// Secrets the recorded sessions use; none may appear in anything written.
const (
	recPassword = "Pw-0f-The-Lab-77"
	recAPIKey   = "LUFRPT1recordTestKey0123456789abcdef=="
	recToken    = "tok-Zx81-secret"
	peerIP      = "10.1.1.1"
)

// recPlaybook sends the peer's address and a secret param to the device.
const recPlaybook = `name: rec-check
title: recording test
params:
  tunnel: {type: string, required: true}
  peer_ip: {type: ip, required: true}
  token: {type: secret, required: true}
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - id: sa
    run: show vpn ipsec-sa tunnel ${params.tunnel}
  - id: sess
    run: show session all filter destination ${params.peer_ip}
  - id: tok
    run: show user ip-user-mapping ip ${params.token}
    on_error: continue
cleanup:
  - run: show clock
`

// startLab serves one simulated firewall over SSH (password) and the XML
// API (API key) on 127.0.0.1 and writes an inventory reaching both.
func startLab(t *testing.T, dir string) string {
	t.Helper()
	dev := sim.NewDevice(sim.Options{Hostname: "fw-lab"})
	ctx, cancel := context.WithCancel(context.Background())
	var done []chan error
	t.Cleanup(func() {
		cancel()
		for _, d := range done {
			<-d
		}
	})
	serve := func(s interface {
		Serve(context.Context, net.Listener) error
	}) *net.TCPAddr {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d := make(chan error, 1)
		done = append(done, d)
		go func() { d <- s.Serve(ctx, ln) }()
		return ln.Addr().(*net.TCPAddr)
	}
	sshSrv, err := sim.NewSSHServer(dev, sim.SSHConfig{User: "admin", Password: recPassword})
	if err != nil {
		t.Fatal(err)
	}
	sshAddr := serve(sshSrv)
	apiSrv, err := sim.NewAPIServer(dev, sim.APIConfig{APIKey: recAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	apiAddr := serve(apiSrv)
	kh := filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(sshAddr.String())}, sshSrv.HostKey())
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(dir, "inventory.yaml")
	body := "targets:\n" +
		"  fw-ssh:\n    transport: ssh\n    host: 127.0.0.1\n    port: " + strconv.Itoa(sshAddr.Port) +
		"\n    user: admin\n    password: env:LAB_PW\n    known_hosts: " + kh + "\n" +
		"  fw-api:\n    transport: xmlapi\n    host: 127.0.0.1\n    port: " + strconv.Itoa(apiAddr.Port) +
		"\n    api_key: env:LAB_KEY\n    tls:\n      fingerprint: " + apiSrv.Fingerprint() + "\n"
	if err := os.WriteFile(inv, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestRecordRedactsAndReplays records the same playbook over SSH (a
// password) and the XML API (an API key), with a secret param sent in a
// command and the peer's address redacted by a pattern, then checks that
// no secret and no address reached the cassette, the run folder or the
// output, and that the cassette replays: with its own redacted params
// (runbook test) and with the real ones (run --replay). The step sending
// the secret is refused: the run ends "done, 1 step failed" (exit 1) and
// its missing evidence, in the run folder and the output, is redacted too.
func TestRecordRedactsAndReplays(t *testing.T) {
	dir := t.TempDir()
	inv := startLab(t, dir)
	pbPath := filepath.Join(dir, "rec-check.yaml")
	if err := os.WriteFile(pbPath, []byte(recPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LAB_PW": recPassword, "LAB_KEY": recAPIKey, "LAB_TOKEN": recToken}
	secrets := []string{recPassword, recAPIKey, recToken}
	for _, target := range []string{"fw-ssh", "fw-api"} {
		t.Run(target, func(t *testing.T) {
			out := &syncBuffer{}
			ios := &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out, Getenv: func(k string) string { return env[k] }}
			cas := filepath.Join(dir, "testdata", "rec-check", target+".yaml")
			if err := os.MkdirAll(filepath.Dir(cas), 0o755); err != nil {
				t.Fatal(err)
			}
			runs := filepath.Join(dir, "runs-"+target)
			err := runRun(context.Background(), &runOptions{io: ios, Playbook: pbPath, Targets: []string{target},
				Inventory: inv, Out: runs, Yes: true, Parallel: 1, Record: cas,
				Redact: []string{`IP=\b(?:\d{1,3}\.){3}\d{1,3}\b`},
				Params: []string{"tunnel=sap-sap", "peer_ip=" + peerIP, "token=env:LAB_TOKEN"}})
			if code := exitCode(err, io.Discard); code != exitStepFailed {
				t.Fatalf("run --record: exit %d (%v), want 1\n%s", code, err, out)
			}
			if !strings.Contains(out.String(), "MISSING EVIDENCE") || !strings.Contains(out.String(), "runbook: done, 1 step failed (exit 1)") {
				t.Errorf("the output does not list the missing evidence:\n%s", out)
			}
			b, err := os.ReadFile(cas)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			for _, want := range []string{"playbook: rec-check", "token: env:LAB_TOKEN", "name: " + target,
				"show session all filter destination IP-", "hostname: fw-lab", "- name: IP"} {
				if !strings.Contains(text, want) {
					t.Errorf("cassette lacks %q:\n%s", want, text)
				}
			}
			if !regexp.MustCompile(`show user ip-user-mapping ip «redacted»`).MatchString(text) {
				t.Errorf("the secret param's command is not recorded redacted:\n%s", text)
			}
			assertAbsent(t, "cassette", text, append(secrets, peerIP)...)
			assertAbsent(t, "output", out.String(), secrets...)
			_ = filepath.WalkDir(runs, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					b, _ := os.ReadFile(p)
					assertAbsent(t, p, string(b), secrets...)
				}
				return err
			})

			// Replays with the cassette's own params (IP-N, a stand-in
			// secret), the way runbook test does.
			c := runtest.Case{Name: target, Cassette: cas, Expect: strings.TrimSuffix(cas, ".yaml") + runtest.ExpectSuffix}
			o := runtest.Update(context.Background(), c, runtest.Options{TempDir: dir})
			if o.Err != nil || o.Got == nil {
				t.Fatalf("runbook test --update: %v", o.Err)
			}
			if o.Got.ExitCode != exitStepFailed || len(o.Got.Commands) != 4 || len(o.Got.Undo) != 1 || len(o.Got.Cleanup) != 1 {
				t.Errorf("replay gave %+v (run error %v)", o.Got, o.RunErr)
			}
			if o = runtest.Run(context.Background(), c, runtest.Options{TempDir: dir}); !o.Passed() {
				t.Errorf("runbook test after --update: %v\n%s", o.Err, o.Diff)
			}

			// Replays with the real params, as `run --replay` is used.
			out = &syncBuffer{}
			ios.Out, ios.ErrOut = out, out
			err = runRun(context.Background(), &runOptions{io: ios, Playbook: pbPath, Targets: []string{target},
				Replay: cas, Out: filepath.Join(dir, "replays-"+target), Yes: true, Parallel: 1,
				Params: []string{"tunnel=sap-sap", "peer_ip=" + peerIP, "token=env:LAB_TOKEN"}})
			if code := exitCode(err, io.Discard); code != exitStepFailed {
				t.Fatalf("run --replay with the real params: exit %d (%v)\n%s", code, err, out)
			}
			if c, err := replay.Load(cas); err != nil || len(c.Exchanges) != 6 {
				t.Errorf("cassette: %v, %d exchanges", err, len(c.Exchanges))
			}
		})
	}
}

func assertAbsent(t *testing.T, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains %q", where, s)
		}
	}
}
