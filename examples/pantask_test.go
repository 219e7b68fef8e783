package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/transports/replay"
)

// TestMgmtCPUNotFromDataplaneTasks: mgmt-cpu-high fires on each
// *-mgmt-cpu cassette (TestFindingsProven), and not once its show system
// resources answers also list the data plane's pan_task processes, as a
// firewall whose data plane runs on the management CPUs does (the rows
// are those of the real answer show_system_resources_beats_xmlapi.txt):
// those always poll near 100%, so the Cpu(s) line is not the management
// plane's load.
func TestMgmtCPUNotFromDataplaneTasks(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "parse", "testdata", "show_system_resources_beats_xmlapi.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(strings.TrimSpace(l), " pan_task") {
			rows = append(rows, strings.TrimSpace(l))
		}
	}
	if len(rows) == 0 {
		t.Fatal("no pan_task row in the real sample")
	}
	for _, name := range []string{"phase1-down-mgmt-cpu", "phase2-down-mgmt-cpu", "performance-mgmt-cpu"} {
		t.Run(name, func(t *testing.T) {
			c, err := replay.Load(filepath.Join("cassettes", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for i := range c.Exchanges {
				e := &c.Exchanges[i]
				if e.Command != "show system resources" {
					continue
				}
				head, rest, ok := strings.Cut(e.Output, "COMMAND\n")
				if !ok || !strings.Contains(head, "PID USER") {
					t.Fatalf("exchange %d: no process table header in %q", i, e.Output)
				}
				e.Output = head + "COMMAND\n" + strings.Join(rows, "\n") + "\n" + rest
				n++
			}
			if n == 0 {
				t.Fatal("no show system resources exchange")
			}
			res, _ := replayRun(t, c)
			for _, f := range res.Manifest.Findings {
				if f.ID == "mgmt-cpu-high" {
					t.Errorf("mgmt-cpu-high fired with the data plane's pan_task on the CPUs: %s", f.Message)
				}
			}
		})
	}
}
