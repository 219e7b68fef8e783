package parse

import (
	"regexp"
)

// poolLine matches "[ 1] Packet Buffers            :    93401/97280    0x8070bf3a40".
var poolLine = regexp.MustCompile(`^\s*\[\s*\d+\]\s*(.*?)\s*:\s*(\d+)\s*/\s*(\d+)`)

// parsePoolStatistics reads debug dataplane pool statistics. Fields: pools
// (snake_case pool name → {free, total, used_pct}) and min_free_pct (the
// lowest free percentage of any pool with a non-zero total; 100 when none).
// A name printed twice (hardware and software pools) keeps its first line.
func parsePoolStatistics(text string, _ any) (map[string]any, error) {
	pools := map[string]any{}
	minFree := 100.0
	for _, l := range lines(text) {
		m := poolLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		name := snake(m[1])
		free, ok1 := toInt(m[2])
		total, ok2 := toInt(m[3])
		if name == "" || !ok1 || !ok2 {
			continue
		}
		if _, seen := pools[name]; seen {
			continue
		}
		used := 0.0
		if total > 0 {
			used = round2(100 * float64(total-free) / float64(total))
			if f := 100 - used; f < minFree {
				minFree = f
			}
		}
		pools[name] = map[string]any{"free": free, "total": total, "used_pct": used}
	}
	return map[string]any{"pools": pools, "min_free_pct": round2(minFree)}, nil
}

// round2 rounds to two decimals so golden files stay readable.
func round2(f float64) float64 {
	if f < 0 {
		return -round2(-f)
	}
	return float64(int64(f*100+0.5)) / 100
}
