package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/parse"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/sim"
	"github.com/runbook-dev/runbook/transports"
	sshtr "github.com/runbook-dev/runbook/transports/ssh"
)

// syncBuffer is a bytes.Buffer safe for the server goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunSimServesSSHAndPrintsLog(t *testing.T) {
	out := &syncBuffer{}
	env := map[string]string{"SIMPW": "sim-Pass-31"}
	ios := &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runSim(ctx, ios, simOptions{SSHAddr: "127.0.0.1:0", Scenario: "phase2-down", User: "admin", PasswordEnv: "SIMPW", Hostname: "fw9", Banner: true,
			Faults: sim.Faults{MgmtCPU: 92}})
	}()
	re := regexp.MustCompile(`ssh: listening on (127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("runSim ended early: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("no listening line in %q", out.String())
	}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	tgt := transports.Target{Name: "fw9", Host: host, Port: p, User: "admin", Password: secret.Ref{Kind: "env", Name: "SIMPW"},
		KnownHosts: filepath.Join(t.TempDir(), "known_hosts")}
	tr, err := sshtr.Dial(ctx, tgt, transports.DialOptions{AcceptNewHostKey: true,
		Resolve: (&secret.Resolver{Getenv: func(k string) string { return env[k] }}).Resolve})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	res, err := tr.Run(ctx, transports.Command{CLI: "show vpn ipsec-sa tunnel sap-sap"})
	if err != nil || !strings.Contains(res.Text, "0 ipsec sa found") {
		t.Errorf("phase2-down ipsec-sa: %q %v", res.Text, err)
	}
	// The --mgmt-cpu fault shows in show system resources.
	res, err = tr.Run(ctx, transports.Command{CLI: "show system resources"})
	if f, perr := parse.Parse("system-resources", res.Text, nil); err != nil || perr != nil || playbook.Num(f["cpu_busy"]) < 90 {
		t.Errorf("show system resources with --mgmt-cpu 92: cpu_busy %v (%v, %v)", f["cpu_busy"], err, perr)
	}
	tr.Run(ctx, transports.Command{CLI: "debug ike pcap on"})
	tr.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runSim: %v", err)
	}
	s := out.String()
	for _, want := range []string{"show vpn ipsec-sa tunnel sap-sap", "debug ike pcap on  {ike.pcap=on}", "device NOT clean: ike.pcap=on", "password from $SIMPW"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "sim-Pass-31") {
		t.Error("password printed")
	}
}

func TestRunSimUsage(t *testing.T) {
	ios := &IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	for _, o := range []simOptions{{}, {SSHAddr: "127.0.0.1:0", Scenario: "bogus"},
		{SSHAddr: "127.0.0.1:0", Faults: sim.Faults{MgmtCPU: 150}}, {SSHAddr: "127.0.0.1:0", Faults: sim.Faults{DropAfter: -1}}} {
		err := runSim(context.Background(), ios, o)
		if exitCode(err, &bytes.Buffer{}) != exitInvalid {
			t.Errorf("%+v: %v, want a usage error", o, err)
		}
	}
}
