package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/engine"
)

// TestPanoramaTargets serves `runbook sim --panorama`, lists the firewall
// it manages with `targets --panorama`, and runs a playbook against that
// firewall through it with a session log.
func TestPanoramaTargets(t *testing.T) {
	const pw = "pano-Sim-Pw-31"
	out := &syncBuffer{}
	env := map[string]string{"SIMPW": pw, "PANO_PW": pw}
	getenv := func(k string) string { return env[k] }
	ios := &IOStreams{Out: out, ErrOut: out, Getenv: getenv, In: strings.NewReader("")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runSim(ctx, ios, simOptions{Scenario: "healthy", User: "admin", PasswordEnv: "SIMPW", Hostname: "fw-east",
			API: simAPIOptions{Panorama: "127.0.0.1:0", TechSupportSize: 1000}})
	}()
	re := regexp.MustCompile(`panorama: listening on 127\.0\.0\.1:(\d+) \(.*manages serial (\d+), tls\.fingerprint: (sha256:[0-9a-f]{64})\)`)
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
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.yaml")
	src := "targets:\n" +
		"  pano: {transport: xmlapi, host: 127.0.0.1, port: " + m[1] + ", user: admin, password: env:PANO_PW, tls: {fingerprint: '" + m[3] + "'}}\n" +
		"  fw-east: {transport: xmlapi, via: pano, serial: '" + m[2] + "'}\n" +
		"  fw-gone: {transport: xmlapi, via: pano, serial: '007099999999'}\n"
	if err := os.WriteFile(inv, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}

	var tout syncBuffer
	tios := &IOStreams{Out: &tout, ErrOut: &tout, Getenv: getenv, In: strings.NewReader("")}
	if err := runPanoramaTargets(ctx, &targetsOptions{io: tios, Inventory: inv, Panorama: "pano"}); err != nil {
		t.Fatalf("targets --panorama: %v\n%s", err, tout.String())
	}
	got := tout.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`pano \(pa-panorama, Panorama 10\.2\.9\): 1 managed firewalls`),
		regexp.MustCompile(`SERIAL +HOSTNAME +ADDRESS +MODEL +VERSION +CONNECTED +TARGET`),
		regexp.MustCompile(m[2] + ` +fw-east +192\.0\.2\.10 +PA-VM +10\.2\.9 +yes +fw-east\n`),
		regexp.MustCompile(`not listed by pano: fw-gone \(serial 007099999999\)`),
	} {
		if !want.MatchString(got) {
			t.Errorf("targets --panorama output lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, pw) {
		t.Error("password printed")
	}
	for _, bad := range []struct{ name, want string }{
		{"nope", "no such target"},
		{"fw-east", "it is a firewall reached via pano"},
	} {
		err := runPanoramaTargets(ctx, &targetsOptions{io: tios, Inventory: inv, Panorama: bad.name})
		if err == nil || !strings.Contains(err.Error(), bad.want) || exitCode(err, &tout) != exitInvalid {
			t.Errorf("--panorama %s: %v, want exit 2 with %q", bad.name, err, bad.want)
		}
	}

	// A run through the Panorama, with a session log.
	pb := filepath.Join(dir, "pb.yaml")
	if err := os.WriteFile(pb, []byte("name: clock\ntitle: Clock through Panorama\nsteps:\n  - id: clock\n    run: show clock\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "session.log")
	var rout syncBuffer
	rios := &IOStreams{Out: &rout, ErrOut: &rout, Getenv: getenv, In: strings.NewReader("")}
	if err := runRun(ctx, &runOptions{io: rios, Playbook: pb, Targets: []string{"fw-east"}, Inventory: inv, Out: filepath.Join(dir, "runs"), Yes: true, Parallel: 1, SessionLog: logPath}); err != nil {
		t.Fatalf("run through Panorama: %v\n%s", err, rout.String())
	}
	runs, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "manifest.json"))
	if len(runs) != 1 {
		t.Fatalf("%d run folders", len(runs))
	}
	b, err := os.ReadFile(runs[0])
	if err != nil {
		t.Fatal(err)
	}
	var man engine.Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	if man.SessionLog != logPath || man.Target.Facts["via"] != "pano" || man.Target.Facts["serial"] != m[2] || man.Status != "ok" {
		t.Errorf("manifest: session_log %q, facts %v, status %s", man.SessionLog, man.Target.Facts, man.Status)
	}
	lb, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(lb)
	for _, want := range []string{"type=keygen\npassword=«redacted»\nuser=admin\n<<< 200 OK\n", "<key>«redacted»</key>",
		"X-PAN-KEY: «redacted»\ntype=op\ncmd=<show><clock></clock></show>\ntarget=" + m[2] + "\n<<< 200 OK\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("session log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, pw) || strings.Contains(log, "LUFRPT") {
		t.Error("session log holds the password or the key")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runSim: %v", err)
	}
}
