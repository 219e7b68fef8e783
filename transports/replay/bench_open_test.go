package replay_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
)

// BenchmarkOpenReplay opens a cassette of 10,000 exchanges, as the report's
// end-to-end benchmark writes it, and replays it whole in Strict mode
// (Open's check, then each exchange read again and matched): the replay
// transport's part of a 10k-step run, per exchange.
func BenchmarkOpenReplay(b *testing.B) {
	const n = 10000
	p := filepath.Join(b.TempDir(), "big.cassette.yaml")
	w, err := replay.Create(p, replay.Header{Playbook: "big", Target: replay.Target{Name: "fw1", Transport: "ssh"}})
	if err != nil {
		b.Fatal(err)
	}
	out := "tunnel  sap-sap\n        id:                     207\n        encap packets:          387833\n        decap packets:          1483008\n"
	cmds := make([]transports.Command, n)
	for i := range n {
		cmd := fmt.Sprintf("show vpn flow tunnel-id %d", i)
		cmds[i] = transports.Command{CLI: cmd, Shown: cmd, Timeout: time.Minute}
		if err := w.Exchange(replay.Exchange{Command: cmd, Output: out, Duration: 50 * time.Millisecond}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, err := replay.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		tr := replay.New(c, replay.Options{})
		for _, cmd := range cmds {
			if _, err := tr.Run(ctx, cmd); err != nil {
				b.Fatal(err)
			}
		}
		tr.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N*n), "µs/exchange")
}
