package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/playbooks"
	"github.com/runbook-dev/runbook/sim"
)

// tripwire is a listener that reports the remote address of every
// connection it accepts, then hands it to the simulator behind it.
type tripwire struct {
	net.Listener
	accepted chan string
}

func (l *tripwire) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted <- c.RemoteAddr().String()
	}
	return c, err
}

// TestDryRunConnectsToNothing runs the dry run of every built-in against
// SSH, XML API and two-way targets whose address is a simulator's: the
// simulator must see no connection. After the dry runs the test connects
// itself; the kernel queues connections in order, so the first one the
// simulator accepts must be the test's own.
func TestDryRunConnectsToNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tw := &tripwire{Listener: ln, accepted: make(chan string, 16)}
	dev := sim.NewDevice(sim.Options{Hostname: "pa-trip", Scenario: "healthy"})
	srv, err := sim.NewSSHServer(dev, sim.SSHConfig{User: "admin", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ctx, tw)
	}()
	t.Cleanup(func() {
		cancel()
		ln.Close()
		<-served
	})

	dir := t.TempDir()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	params := "    params: {gateway: gw-sap, tunnel: sap-sap, peer_ip: 10.1.1.1, local_ip: 10.1.1.2, src: 192.168.10.10, dst: 192.168.20.10}\n"
	inv := "targets:\n" +
		"  fw1:\n    transport: ssh\n    host: 127.0.0.1\n    port: " + port + "\n    user: admin\n    password: env:TRIP_PW\n    known_hosts: " + filepath.Join(dir, "known_hosts") + "\n" + params +
		"  api1:\n    transport: xmlapi\n    host: 127.0.0.1\n    port: " + port + "\n    api_key: env:TRIP_PW\n" + params +
		"  both:\n    transport: [ssh, xmlapi]\n    host: 127.0.0.1\n    ports: {ssh: " + port + ", xmlapi: " + port + "}\n    user: admin\n    password: env:TRIP_PW\n    known_hosts: " + filepath.Join(dir, "known_hosts") + "\n" + params
	invPath := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(invPath, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "runs")
	for _, pb := range playbooks.Names() {
		for _, extra := range [][]string{nil, {"--json"}} {
			args := append([]string{"run", pb, "-t", "fw1", "-t", "api1", "-t", "both", "-t", "demo", "-i", invPath, "-o", out, "--dry-run"}, extra...)
			var stdout, stderr bytes.Buffer
			ios := &IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr,
				Getenv: func(k string) string { return map[string]string{"TRIP_PW": "pw"}[k] }}
			if code := run(args, ios); code != 0 {
				t.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
			}
			if !strings.Contains(stdout.String(), "127.0.0.1:"+port) {
				t.Errorf("%s: the plan does not name the target's address:\n%s", pb, stdout.String())
			}
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the dry runs made %s (%v)", out, err)
	}

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case got := <-tw.accepted:
		if got != c.LocalAddr().String() {
			t.Errorf("the simulator accepted a connection from %s before the test's own (%s): a dry run connected", got, c.LocalAddr())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the simulator accepted no connection, not even the test's")
	}
}
