package fleet_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/fleet"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

const pbSrc = `name: two
title: fleet test
params:
  tunnel: {type: string, required: true}
steps:
  - run: debug ike global on debug
    undo: debug ike global on normal
  - run: show vpn ipsec-sa tunnel ${params.tunnel}
`

func load(t *testing.T, src string) *playbook.Playbook {
	t.Helper()
	pb, err := playbook.Parse("two.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// cassette answers the playbook for tunnel; broken refuses the show.
func cassette(tunnel string, broken bool) *replay.Cassette {
	show := replay.Exchange{Command: "show vpn ipsec-sa tunnel " + tunnel, Output: "Total 0 tunnels found.\n"}
	if broken {
		show = replay.Exchange{Command: show.Command, Error: &replay.Error{Kind: replay.KindDevice, Message: "Invalid syntax."}}
	}
	return &replay.Cassette{Exchanges: []replay.Exchange{
		{Command: "debug ike global on debug"}, show, {Command: "debug ike global on normal"},
	}}
}

// TestFleet: three targets, two at a time, each with its own parameter;
// one fails, so the fleet exits 1 (the worst), and every target's undo ran.
func TestFleet(t *testing.T) {
	pb := load(t, pbSrc)
	f := &fleet.Fleet{Parallel: 2}
	names := []string{"fw1", "fw2", "fw3"}
	for i, n := range names {
		tunnel := "vpn-" + n
		params, err := fleet.Bind(pb, map[string]string{"tunnel": tunnel, "unknown": "dropped"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := cassette(tunnel, i == 1)
		if _, err := f.Add(engine.Options{
			Folder:   runfolder.Create,
			Playbook: pb, Params: params, Target: n, Transport: "replay", Yes: true,
			Dir: filepath.Join(t.TempDir(), n),
			Open: func(context.Context) (transports.Transport, error) {
				return replay.New(c, replay.Options{Mode: replay.Strict}), nil
			},
		}); err != nil {
			t.Fatal(err)
		}
	}
	res := f.Run(context.Background())
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	for i, r := range res {
		want := 0
		if i == 1 {
			want = engine.ExitStepFailed
		}
		if r.ExitCode != want || r.Manifest.Target.Name != names[i] {
			t.Errorf("result %d: target %s exit %d, want %s exit %d (%v)", i, r.Manifest.Target.Name, r.ExitCode, names[i], want, r.Err)
		}
		if len(r.Pending) > 0 || len(r.Manifest.Undo) != 1 || r.Manifest.Undo[0].Status != "ok" {
			t.Errorf("%s: undo %+v pending %v", names[i], r.Manifest.Undo, r.Pending)
		}
	}
	if got := fleet.WorstExit(res); got != engine.ExitStepFailed {
		t.Errorf("worst exit %d, want 1", got)
	}
	if p, d := f.Pending(); len(p)+len(d) != 0 {
		t.Errorf("pending after the runs: %v %v", p, d)
	}
}

// TestBindGivenWins: a parameter given on the command line wins over the
// target's; a bad one names the playbook.
func TestBindGivenWins(t *testing.T) {
	pb := load(t, pbSrc)
	p, err := fleet.Bind(pb, map[string]string{"tunnel": "from-target"}, map[string]string{"tunnel": "given"})
	if err != nil || p["tunnel"] != "given" {
		t.Fatalf("params %v, err %v", p, err)
	}
	_, err = fleet.Bind(pb, nil, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "two: ") {
		t.Fatalf("err %v, want one naming the playbook", err)
	}
}

// TestAddChecksFirst: a target that cannot run (a prompt, no operator, no
// --yes) is refused by Add, with its name, before anything is sent.
func TestAddChecksFirst(t *testing.T) {
	pb := load(t, pbSrc+"  - prompt: check the peer\n")
	params, err := fleet.Bind(pb, map[string]string{"tunnel": "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet.Fleet{}
	_, err = f.Add(engine.Options{Folder: runfolder.Create, Playbook: pb, Params: params, Target: "fw9",
		Open: func(context.Context) (transports.Transport, error) {
			t.Error("opened")
			return nil, errors.New("no")
		}})
	if !errors.Is(err, engine.ErrNeedsConfirmation) || !strings.HasPrefix(err.Error(), "fw9: ") {
		t.Fatalf("err %v", err)
	}
	if res := f.Run(context.Background()); len(res) != 0 {
		t.Errorf("a refused target ran: %v", res)
	}
}

// TestWorstExit follows engine.WorseExit: 3 over 130 over 4 over 1 over 2 over 5.
func TestWorstExit(t *testing.T) {
	rs := func(codes ...int) []*engine.Result {
		var out []*engine.Result
		for _, c := range codes {
			out = append(out, &engine.Result{ExitCode: c})
		}
		return out
	}
	for _, c := range []struct {
		codes []int
		want  int
	}{{nil, 0}, {[]int{0, 5}, 5}, {[]int{5, 2}, 2}, {[]int{1, 4, 0}, 4}, {[]int{130, 4}, 130}, {[]int{3, 130, 0}, 3}} {
		if got := fleet.WorstExit(rs(c.codes...)); got != c.want {
			t.Errorf("WorstExit(%v) = %d, want %d", c.codes, got, c.want)
		}
	}
}
