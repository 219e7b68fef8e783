package main

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/xmlapi"
)

// TestRunSimServesAPI: `runbook sim --api` serves the XML API our
// client reaches, over HTTP/1.1 (the default) and, with --http2, over
// HTTP/2 only (which refuses HTTP/1.1: the client must have negotiated h2).
func TestRunSimServesAPI(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "http1.1", true: "http2"}[h2], func(t *testing.T) { testRunSimServesAPI(t, h2) })
	}
}

func testRunSimServesAPI(t *testing.T, h2 bool) {
	out := &syncBuffer{}
	env := map[string]string{"SIMPW": "sim-Api-77"}
	ios := &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runSim(ctx, ios, simOptions{Scenario: "phase2-down", User: "admin", PasswordEnv: "SIMPW", Hostname: "fw7",
			API: simAPIOptions{Addr: "127.0.0.1:0", TechSupportSize: 1000, HTTP2: h2}})
	}()
	re := regexp.MustCompile(`api: listening on (127\.0\.0\.1:\d+) \(.*tls\.fingerprint: (sha256:[0-9a-f]{64})\)`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); {
		if m = re.FindStringSubmatch(out.String()); m != nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("runSim ended early: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if m == nil {
		t.Fatalf("no listening line in %q", out.String())
	}
	if got := strings.Contains(out.String(), "HTTP/2 only"); got != h2 {
		t.Errorf("listening line says HTTP/2 only: %v, want %v\n%s", got, h2, out.String())
	}
	host, port, _ := net.SplitHostPort(m[1])
	p, _ := strconv.Atoi(port)
	tgt := transports.Target{Name: "fw7", Transport: "xmlapi", Host: host, Port: p, User: "admin",
		Password: secret.Ref{Kind: "env", Name: "SIMPW"}, TLS: transports.TLS{Fingerprint: m[2]}}
	tr, err := xmlapi.Dial(ctx, tgt, transports.DialOptions{Resolve: (&secret.Resolver{Getenv: func(k string) string { return env[k] }}).Resolve})
	if err != nil {
		t.Fatal(err)
	}
	if h := tr.Facts()["hostname"]; h != "fw7" {
		t.Errorf("hostname = %q", h)
	}
	res, err := tr.Run(ctx, transports.Command{CLI: "show vpn ipsec-sa tunnel sap-sap"})
	if err != nil || !strings.Contains(res.Text, "<nsa>0</nsa>") {
		t.Errorf("phase2-down ipsec-sa: %q %v", res.Text, err)
	}
	tr.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runSim: %v", err)
	}
	if s := out.String(); !strings.Contains(s, "api:admin") || !strings.Contains(s, "show vpn ipsec-sa tunnel sap-sap") {
		t.Errorf("log lacks the API commands:\n%s", s)
	}
	if strings.Contains(out.String(), "sim-Api-77") {
		t.Error("password printed")
	}
}
