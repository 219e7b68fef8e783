package parse

import (
	"fmt"
	"strings"
	"testing"
)

// bigCounters is show counter global with n rows.
func bigCounters(n int) string {
	var b strings.Builder
	b.WriteString("Global counters:\nElapsed time since last sampling: 1.000 seconds\n\n")
	b.WriteString("name                                   value     rate severity  category  aspect    description\n")
	b.WriteString(strings.Repeat("-", 80) + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%-38s %9d %8d %-9s %-9s %-9s %s\n", fmt.Sprintf("flow_counter_%d", i), i*1000, i, "drop", "flow", "parse", "Packets dropped: a reason")
	}
	return b.String()
}

// bigKeyValue is n label: value lines with some nesting.
func bigKeyValue(n int) string {
	var b strings.Builder
	b.WriteString("tunnel  t1\n")
	for i := 0; i < n; i++ {
		if i%50 == 0 {
			fmt.Fprintf(&b, "        group %d\n", i)
		}
		fmt.Fprintf(&b, "          label number %d:    %d\n", i, i)
	}
	return b.String()
}

func TestBigInputs(t *testing.T) {
	c, err := Parse("counters", bigCounters(5000), nil)
	if err != nil || c["count"] != int64(5000) || c["flow_counter_4999"] != int64(4999000) {
		t.Fatalf("counters: err %v, count %v", err, c["count"])
	}
	kv, err := Parse("keyvalue", bigKeyValue(5000), nil)
	if err != nil || kv["group_4950_label_number_4999"] != int64(4999) {
		t.Fatalf("keyvalue: err %v, %d fields", err, len(kv))
	}
}

func BenchmarkCounters(b *testing.B) {
	in := bigCounters(5000)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Parse("counters", in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyValue(b *testing.B) {
	in := bigKeyValue(5000)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Parse("keyvalue", in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// stepOutput is the output every step of report's BenchmarkReplayEndToEnd
// parses (its floorOutput): a short keyvalue answer.
const stepOutput = "tunnel  sap-sap\n        id:                     207\n        encap packets:          387833\n        decap packets:          1483008\n"

// BenchmarkKeyValueStep parses one step's short keyvalue answer, the parse
// each step of the end-to-end replay benchmark does.
func BenchmarkKeyValueStep(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("keyvalue", stepOutput, nil); err != nil {
			b.Fatal(err)
		}
	}
}
