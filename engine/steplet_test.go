package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// runLets runs src with params against a strict replay of exchanges: a
// command sent that is not the next exchange fails the run, so the
// cassette pins exactly what was sent, undo included.
func runLets(t *testing.T, src string, params map[string]string, secrets *secret.Resolver, exchanges ...replay.Exchange) *engine.Result {
	t.Helper()
	pb := parsed(t, "lets.yaml", src)
	bound, err := pb.Bind(params)
	if err != nil {
		t.Fatal(err)
	}
	res, tr := runStrict(t, context.Background(), pb, bound, func(o *engine.Options) { o.Secrets = secrets }, exchanges...)
	if left := tr.Remaining(); left != 0 {
		t.Errorf("%d exchanges of the cassette not sent", left)
	}
	return res
}

// TestStepLetWhenFalse: a when that reads a let decides the step: the let
// gives no gateway, so the step is skipped and nothing is sent for it.
func TestStepLetWhenFalse(t *testing.T) {
	res := runLets(t, `name: l
title: t
params:
  tunnel: {type: string, default: t1}
steps:
  - id: sa
    run: show vpn ipsec-sa
    capture:
      gw: 'gateway (\S+) tunnel t1'
  - id: ike
    let:
      GW: 'vars.gw ?? ""'
    when: GW != ""
    run: show vpn ike-sa gateway ${GW}
`, nil, nil, replay.Exchange{Command: "show vpn ipsec-sa", Output: "gateway g0 tunnel t0\n"})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	s := step(t, written(t, res), "ike")
	if s.Status != "skipped" {
		t.Errorf("ike %s, want skipped", s.Status)
	}
	// Its record says why: the let's value.
	if want := []engine.LetValue{{Name: "GW", Value: `""`}}; !reflect.DeepEqual(s.Lets, want) {
		t.Errorf("ike's lets %+v, want %+v", s.Lets, want)
	}
	// summary.md shows them beside the step's id.
	sum, err := os.ReadFile(filepath.Join(res.Dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `| ike (let GW = "") | show vpn ike-sa gateway ${GW} | skipped |`; !strings.Contains(string(sum), want) {
		t.Errorf("summary.md has no %q:\n%s", want, sum)
	}
}

// TestStepLetCommandUntilUndo: the command, until and undo are rendered
// from the step's lets. The let reads a var a later step captures again:
// the undo still sends the value of the step's own run, as journaled
// before the step was sent, and so does runbook cleanup after a kill.
func TestStepLetCommandUntilUndo(t *testing.T) {
	src := `name: l
title: t
steps:
  - id: sa
    run: show vpn ipsec-sa
    capture:
      tid: 'tunnel-id (\d+)'
  - id: pcap
    let:
      T: 'vars.tid'
      F: '"tid" + T'
    run: debug ike pcap on tunnel ${T}
    until: output.text contains F
    retry: {max: 2, interval: 1s}
    undo: debug ike pcap off tunnel ${T}
  - run: show vpn ipsec-sa
    capture:
      tid: 'tunnel-id (\d+)'
`
	ex := []replay.Exchange{
		{Command: "show vpn ipsec-sa", Output: "tunnel-id 7\n"},
		{Command: "debug ike pcap on tunnel 7", Output: "not yet\n"},
		{Command: "debug ike pcap on tunnel 7", Output: "on for tid7\n"},
		{Command: "show vpn ipsec-sa", Output: "tunnel-id 9\n"},
		{Command: "debug ike pcap off tunnel 7"},
	}
	res := runLets(t, src, nil, nil, ex...)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	// Each record of the step holds its lets (evaluated once); the steps
	// without lets, none.
	m := written(t, res)
	var lets [][]engine.LetValue
	for _, s := range m.Steps {
		lets = append(lets, s.Lets)
	}
	pcap := []engine.LetValue{{Name: "T", Value: "7"}, {Name: "F", Value: "tid7"}}
	if want := [][]engine.LetValue{nil, pcap, pcap, nil}; !reflect.DeepEqual(lets, want) {
		t.Errorf("the records' lets %+v, want %+v", lets, want)
	}
	var undo []string
	for _, u := range res.Manifest.Undo {
		undo = append(undo, u.Command+" => "+u.Status)
	}
	if want := []string{"debug ike pcap off tunnel 7 => ok"}; !reflect.DeepEqual(undo, want) {
		t.Errorf("undo %q, want %q", undo, want)
	}
	// The journal names the undo as rendered before the command was sent.
	entries, err := engine.ReadJournal(filepath.Join(res.Dir, engine.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	intent, sent := -1, -1
	for i, e := range entries {
		switch {
		case e.Event == "undo-intent" && intent < 0:
			intent = i
			if !reflect.DeepEqual(e.Undo, []engine.Forms{{"debug ike pcap off tunnel 7"}}) {
				t.Errorf("undo-intent %+v", e.Undo)
			}
		case e.Event == "step-start" && e.Command == "debug ike pcap on tunnel 7" && sent < 0:
			sent = i
		}
	}
	if intent < 0 || sent < 0 || intent > sent {
		t.Fatalf("undo-intent at %d, the command sent at %d: want the intent first", intent, sent)
	}

	// Killed after the last step: the journal up to there, and runbook
	// cleanup sends the undo as journaled.
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(res.Dir, engine.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if strings.Contains(line, `"event":"cleanup-`) || strings.Contains(line, `"event":"run-end`) {
			break
		}
		kept = append(kept, line)
	}
	if err := os.WriteFile(filepath.Join(dir, engine.JournalFile), []byte(strings.Join(kept, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &replay.Cassette{Exchanges: []replay.Exchange{{Command: "debug ike pcap off tunnel 7"}}}
	tr := replay.New(c, replay.Options{})
	rep, err := engine.FinishCleanup(context.Background(), runfolder.Open(dir), func(context.Context) (transports.Transport, error) { return tr, nil }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Done, []string{"debug ike pcap off tunnel 7"}) || len(rep.Failed) != 0 || tr.Remaining() != 0 {
		t.Errorf("runbook cleanup: done %q failed %q, %d not sent", rep.Done, rep.Failed, tr.Remaining())
	}
}

// TestStepLetSecret: a let of a secret is sent as its value and written
// down redacted, as a secret interpolated directly is.
func TestStepLetSecret(t *testing.T) {
	const code = "zz-let-secret-4711"
	res := runLets(t, `name: l
title: t
params:
  code: {type: secret, required: true}
steps:
  - id: lic
    let:
      C: 'params.code'
      L: '[params.code, "x"]'
    run: request license fetch auth-code ${C}
    undo: request license info ${C}
`, map[string]string{"code": "env:LET_CODE"}, &secret.Resolver{Getenv: func(string) string { return code }},
		replay.Exchange{Command: "request license fetch auth-code " + code, Output: "ok\n"},
		replay.Exchange{Command: "request license info " + code, Output: "ok\n"})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	s := step(t, written(t, res), "lic")
	if s.Command != "request license fetch auth-code "+secret.Placeholder {
		t.Errorf("command written %q", s.Command)
	}
	// The lets' values are redacted as values, the list's element too.
	if want := []engine.LetValue{{Name: "C", Value: secret.Placeholder}, {Name: "L", Value: "[" + secret.Placeholder + ", x]"}}; !reflect.DeepEqual(s.Lets, want) {
		t.Errorf("lets written %+v, want %+v", s.Lets, want)
	}
	noSecretIn(t, res.Dir, code)
}

// TestStepLetFails: a let that cannot be evaluated fails the step as a
// failing when does, naming the let; the step sends nothing.
func TestStepLetFails(t *testing.T) {
	res := runLets(t, `name: l
title: t
params:
  n: {type: string, default: none}
steps:
  - id: x
    let:
      N: 'int(params.n)'
    run: show ${N}
`, nil, nil)
	if res.ExitCode != engine.ExitStepFailed || res.Err == nil || !strings.Contains(res.Err.Error(), "step x: let N: lets.yaml:8:11: int(params.n)") {
		t.Fatalf("exit %d, err %v", res.ExitCode, res.Err)
	}
}

// TestForEachSecretItem: an item of a for_each that is a secret's value
// is sent as it is and written down redacted everywhere (journal,
// records, summary, report, file names), as a secret interpolated
// directly is.
func TestForEachSecretItem(t *testing.T) {
	const code = "zz-item-secret-4711"
	res := runLets(t, `name: l
title: t
params:
  code: {type: secret, required: true}
steps:
  - id: flow
    for_each: '["a", params.code]'
    run: show item ${item}
    parse: keyvalue
    repeat: {count: 2, interval: 1ms}
`, map[string]string{"code": "env:ITEM_CODE"}, &secret.Resolver{Getenv: func(string) string { return code }},
		replay.Exchange{Command: "show item a", Output: "x: 1\n"},
		replay.Exchange{Command: "show item " + code, Output: "x: 1\n"},
		replay.Exchange{Command: "show item a", Output: "x: 2\n"},
		replay.Exchange{Command: "show item " + code, Output: "x: 2\n"})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, res.Err)
	}
	noSecretIn(t, res.Dir, code)
}

// noSecretIn fails t if a file or folder name under dir, or a file's
// bytes, hold the secret's value as it is.
func noSecretIn(t *testing.T, dir, value string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(p, value) {
			t.Errorf("%s names the secret", p)
		}
		if d.IsDir() {
			return nil
		}
		files++
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), value) {
			t.Errorf("%s holds the secret", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Fatalf("read %d files under %s, want a run folder's", files, dir)
	}
}
