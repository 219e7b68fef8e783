package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// TestCleanupAfterTornJournal: the engine was killed mid-write, leaving a
// torn last line. runbook cleanup appends its results after it; they must
// land on lines of their own, so a second runbook cleanup can still read
// the journal and has nothing left to do.
func TestCleanupAfterTornJournal(t *testing.T) {
	dir := t.TempDir()
	journal := `{"time":"2026-01-02T03:04:05Z","event":"run-start","playbook":"basic","target":"fw1","transport":"replay","version":1}
{"time":"2026-01-02T03:04:06Z","event":"undo-intent","seq":1,"command":"debug ike global on debug","undo":["debug ike global on normal"]}
{"time":"2026-01-02T03:04:07Z","event":"undo-armed","seq":1,"undo":["debug ike global on normal"]}
{"time":"2026-01-02T03:04:08Z","eve`
	if err := os.WriteFile(filepath.Join(dir, engine.JournalFile), []byte(journal), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := replay.Load("testdata/basic-cassette.yaml")
	if err != nil {
		t.Fatal(err)
	}
	open := func(ctx context.Context) (transports.Transport, error) {
		return replay.New(c, replay.Options{Mode: replay.ByCommand}), nil
	}
	rep, err := engine.FinishCleanup(context.Background(), runfolder.Open(dir), open, nil, nil)
	if err != nil {
		t.Fatalf("first cleanup: %v", err)
	}
	if len(rep.Done) != 1 || len(rep.Failed) != 0 {
		t.Fatalf("first cleanup: done %q, failed %q; want the one undo done", rep.Done, rep.Failed)
	}
	rep, err = engine.FinishCleanup(context.Background(), runfolder.Open(dir), open, nil, nil)
	if err != nil {
		t.Fatalf("second cleanup: %v", err)
	}
	if len(rep.Done)+len(rep.Failed) != 0 {
		t.Errorf("second cleanup ran %q (failed %q), want nothing", rep.Done, rep.Failed)
	}
}

// TestSecretParamsPromptedApart: two secret parameters both given as
// prompt are two questions, each naming its parameter, not one answer used
// for both.
func TestSecretParamsPromptedApart(t *testing.T) {
	pb, err := playbook.Parse("two-secrets.yaml", []byte(`name: two-secrets
title: Two secrets
params:
  scp_password: {type: secret}
  other_password: {type: secret}
steps:
  - run: show clock
`))
	if err != nil {
		t.Fatal(err)
	}
	params, err := pb.Bind(map[string]string{"scp_password": "prompt", "other_password": "prompt"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := replay.Load("testdata/basic-cassette.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	rs := &secret.Resolver{Prompt: func(_ context.Context, label string) (string, error) {
		asked = append(asked, label)
		return fmt.Sprintf("answer-%d", len(asked)), nil
	}}
	res := engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Params: params, Target: "fw1", Transport: "replay",
		Dir: filepath.Join(t.TempDir(), "run"), Yes: true, Secrets: rs,
		Open: func(ctx context.Context) (transports.Transport, error) {
			return replay.New(c, replay.Options{Mode: replay.ByCommand}), nil
		},
	}).Run(context.Background())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	slices.Sort(asked)
	if want := []string{"param other_password", "param scp_password"}; !slices.Equal(asked, want) {
		t.Errorf("asked %q, want %q", asked, want)
	}
}

// TestSecretNotInOutputFileNames: a step without an id names its output
// file after its command, and a cleanup entry always does; a secret
// interpolated into the command must not reach the file names of the run
// folder (nor a bundle made of them).
func TestSecretNotInOutputFileNames(t *testing.T) {
	const code = "Zq7xK9wPmT" // the secret
	pb, err := playbook.Parse("license.yaml", []byte(`name: license
title: Fetch a license
params:
  code: {type: secret, required: true}
steps:
  - run: request license fetch auth-code ${params.code}
cleanup:
  - run: request license info ${params.code}
`))
	if err != nil {
		t.Fatal(err)
	}
	params, err := pb.Bind(map[string]string{"code": "env:AUTH_CODE"})
	if err != nil {
		t.Fatal(err)
	}
	c := &replay.Cassette{Exchanges: []replay.Exchange{
		{Command: "request license fetch auth-code " + code, Output: "ok\n"},
		{Command: "request license info " + code, Output: "ok\n"},
	}}
	dir := filepath.Join(t.TempDir(), "run")
	res := engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Params: params, Target: "fw1", Transport: "replay", Dir: dir, Yes: true,
		Secrets: &secret.Resolver{Getenv: func(string) string { return code }},
		Open: func(ctx context.Context) (transports.Transport, error) {
			return replay.New(c, replay.Options{}), nil
		},
	}).Run(context.Background())
	if res.Err != nil || res.ExitCode != 0 {
		t.Fatalf("run: exit %d, %v", res.ExitCode, res.Err)
	}
	n := 0
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		if strings.Contains(strings.ToLower(d.Name()), strings.ToLower(code)) {
			t.Errorf("a file name in the run folder holds the secret: %s", strings.ReplaceAll(d.Name(), code, "<SECRET>"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("walked %d entries of the run folder, want its files", n)
	}
}

// TestUnplannedCleanupLeftForRunbookCleanup: a cleanup: entry that could
// not be journaled at the start (it has a when:, or needs a value captured
// later) and then failed makes the run exit 3 telling the engineer to run
// runbook cleanup, so runbook cleanup must find it in the journal, as
// rendered when it was sent.
func TestUnplannedCleanupLeftForRunbookCleanup(t *testing.T) {
	pb, err := playbook.Parse("late.yaml", []byte(`name: late
title: Cleanup known late
steps:
  - run: show vpn ipsec-sa
    capture:
      tunnel_id: 'TnID (\d+)'
cleanup:
  - run: clear vpn ipsec-sa tunnel-id ${vars.tunnel_id}
  - run: debug ike global on normal
    when: "true"
`))
	if err != nil {
		t.Fatal(err)
	}
	failed := &replay.Error{Kind: replay.KindDevice, Message: "server busy"}
	c := &replay.Cassette{Exchanges: []replay.Exchange{
		{Command: "show vpn ipsec-sa", Output: "TnID 207\n"},
		{Command: "clear vpn ipsec-sa tunnel-id 207", Error: failed},
		{Command: "debug ike global on normal", Error: failed},
	}}
	dir := filepath.Join(t.TempDir(), "run")
	res := engine.New(engine.Options{
		Folder:   runfolder.Create,
		Playbook: pb, Params: map[string]any{}, Target: "fw1", Transport: "replay", Dir: dir, Yes: true,
		Open: func(ctx context.Context) (transports.Transport, error) {
			return replay.New(c, replay.Options{}), nil
		},
	}).Run(context.Background())
	if res.ExitCode != engine.ExitDirty {
		t.Fatalf("exit %d, want %d (cleanup failed)", res.ExitCode, engine.ExitDirty)
	}
	later := &replay.Cassette{Exchanges: []replay.Exchange{
		{Command: "clear vpn ipsec-sa tunnel-id 207", Output: "ok\n"},
		{Command: "debug ike global on normal", Output: "ok\n"},
	}}
	rep, err := engine.FinishCleanup(context.Background(), runfolder.Open(dir), func(ctx context.Context) (transports.Transport, error) {
		return replay.New(later, replay.Options{}), nil
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"clear vpn ipsec-sa tunnel-id 207", "debug ike global on normal"}
	if !slices.Equal(rep.Done, want) || len(rep.Failed) != 0 {
		t.Errorf("runbook cleanup did %q (failed %q), want %q", rep.Done, rep.Failed, want)
	}
}
