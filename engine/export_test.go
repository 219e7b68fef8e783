package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// TestFailedExportGoesOn: an export that fails does not stop the run by
// default (the later exports and steps still run) and the run ends
// incomplete, exit 1, as it does with on_error: continue: either way the
// file is missing evidence, listed with how to export it by hand; on_error:
// fail stops the run at once, as for any step. An export that says
// evidence: false is not missing evidence: the run ends ok.
func TestFailedExportGoesOn(t *testing.T) {
	const first = "scp export debug-pcap from ikemgr.pcap to support@192.0.2.50:/cases"
	const second = "scp export tech-support to support@192.0.2.50:/cases"
	all := []string{"debug ike pcap on", first, second, "show clock", "undo: debug ike pcap off"}
	tests := []struct {
		onError     string
		notEvidence bool
		code        int
		status      engine.Status
		sent        []string
	}{
		{"", false, engine.ExitStepFailed, engine.StatusIncomplete, all},
		{"continue", false, engine.ExitStepFailed, engine.StatusIncomplete, all},
		{"fail", false, engine.ExitStepFailed, engine.StatusFailed, []string{"debug ike pcap on", first, "undo: debug ike pcap off"}},
		{"", true, engine.ExitOK, engine.StatusOK, all},
		{"continue", true, engine.ExitOK, engine.StatusOK, all},
	}
	for _, tt := range tests {
		name := "on_error=" + tt.onError
		if tt.notEvidence {
			name += ",evidence=false"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			onError := ""
			if tt.onError != "" {
				onError = "\n    on_error: " + tt.onError
			}
			if tt.notEvidence {
				onError += "\n    evidence: false"
			}
			src := `name: exports
title: Two exports
steps:
  - run: debug ike pcap on
    undo: debug ike pcap off
  - id: ike_pcap
    export: debug-pcap
    file: ikemgr.pcap
    scp: {to: "support@192.0.2.50:/cases"}` + onError + `
  - id: tech_support
    export: tech-support
    scp: {to: "support@192.0.2.50:/cases"}
  - run: show clock
`
			path := filepath.Join(dir, "exports.yaml")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			pb, err := playbook.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			c := &replay.Cassette{
				Header: replay.Header{Playbook: "exports", Target: replay.Target{Name: "fw1", Transport: "ssh"}},
				Exchanges: []replay.Exchange{
					{Command: "debug ike pcap on"},
					{Command: first, Output: "support@192.0.2.50's password: \nlost connection\n",
						Error: &replay.Error{Kind: replay.KindCopyFailed, Message: "lost connection"}},
					{Command: second, Output: "support@192.0.2.50's password: \nscp: copying ... done\n"},
					{Command: "show clock", Output: "Fri Nov 27 10:02:18 UTC 2026\n"},
					{Command: "debug ike pcap off"},
				},
			}
			params, err := pb.Bind(nil)
			if err != nil {
				t.Fatal(err)
			}
			res := engine.New(engine.Options{
				Folder:   runfolder.Create,
				Playbook: pb, Params: params, Target: "fw1", Transport: "replay", Yes: true,
				Dir: filepath.Join(dir, "run"),
				Open: func(context.Context) (transports.Transport, error) {
					return replay.New(c, replay.Options{Mode: replay.ByCommand}), nil
				},
			}).Run(context.Background())
			if res.ExitCode != tt.code || res.Status != tt.status {
				t.Fatalf("exit %d status %s (%v), want %d %s", res.ExitCode, res.Status, res.Err, tt.code, tt.status)
			}
			if got := sent(written(t, res)); !slices.Equal(got, tt.sent) {
				t.Errorf("sent %q, want %q", got, tt.sent)
			}
			if tt.onError == "" && !tt.notEvidence && !errors.Is(res.Err, transports.ErrCopyFailed) {
				t.Errorf("run error %v does not wrap ErrCopyFailed", res.Err)
			}
			var failed []string
			for _, s := range written(t, res).Steps {
				if s.Status == "failed" {
					failed = append(failed, s.ID)
				}
			}
			if !slices.Equal(failed, []string{"ike_pcap"}) {
				t.Errorf("failed steps %q, want [ike_pcap]", failed)
			}
			ms := res.Manifest.Missing
			if tt.onError == "fail" || tt.notEvidence {
				if len(ms) != 0 {
					t.Errorf("a run the export stopped lists %+v as missing", ms)
				}
				return
			}
			const byHand = "On the firewall's CLI (SSH) run `scp export debug-pcap from ikemgr.pcap to support@192.0.2.50:/cases`, then attach the file to the case."
			if len(ms) != 1 || ms[0].Step != "ike_pcap" || ms[0].Kind != "export" || ms[0].Command != first ||
				!strings.Contains(ms[0].Error, "lost connection") || ms[0].ByHand != byHand {
				t.Errorf("missing evidence %+v", ms)
			}
		})
	}
}
