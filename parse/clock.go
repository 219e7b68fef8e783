package parse

import (
	"strings"
	"time"
)

// parseClock reads show clock ("Thu Aug 27 10:00:00 UTC 2026"). Fields: raw
// (the line), local (the wall clock, "2026-08-27T10:00:00"), zone (the
// abbreviation as printed) and time: RFC 3339 when the zone is UTC or GMT,
// else "" because an abbreviation alone does not give the offset.
func parseClock(text string, _ any) (map[string]any, error) {
	out := map[string]any{"raw": "", "time": "", "local": "", "zone": ""}
	for _, l := range lines(text) {
		f := strings.Fields(l)
		if len(f) != 6 || isPrompt(l) {
			continue
		}
		t, err := time.Parse("Mon Jan 2 15:04:05 2006", strings.Join([]string{f[0], f[1], f[2], f[3], f[5]}, " "))
		if err != nil {
			continue
		}
		out["raw"] = strings.TrimSpace(l)
		out["local"] = t.Format("2006-01-02T15:04:05")
		out["zone"] = f[4]
		switch strings.ToUpper(f[4]) {
		case "UTC", "GMT", "Z":
			out["time"] = t.UTC().Format(time.RFC3339)
		}
		break
	}
	return out, nil
}
