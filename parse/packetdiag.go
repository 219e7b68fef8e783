package parse

import (
	"regexp"
	"strconv"
	"strings"
)

// maxFilters is the number of packet-diag filter slots PAN-OS has (KB
// "Getting Started: Packet Capture": "Four packet filters can be added").
const maxFilters = 4

var (
	// Index 1: 1.1.1.50[0]->0.0.0.0[0], proto 0 (Tech Note "Packet Based
	// Troubleshooting", section "Viewing the packet filter").
	pdIndex   = regexp.MustCompile(`(?i)^\s*Index\s+(\d+)\s*:\s*([0-9A-Fa-f.:/]+)\[(\d+)\]\s*->\s*([0-9A-Fa-f.:/]+)\[(\d+)\]\s*,\s*proto\s+(\d+)`)
	pdEnabled = regexp.MustCompile(`(?i)^\s*Enabled\s*:\s*(yes|no)\b`)
	// Stage: receive / File: rx.pcap (ours: the Tech Note's sample sets no
	// stage, see docs/parsers.md).
	pdStage = regexp.MustCompile(`(?i)^\s*Stage\s*:\s*(\S+)`)
	pdFile  = regexp.MustCompile(`(?i)^\s*File\s*:\s*(\S+)`)
)

// parsePacketDiagSetting reads debug dataplane packet-diag show setting:
// the "Packet filter" part (Enabled, one "Index N: SRC[SPORT]->DST[DPORT],
// proto P" line per filter), then "Logging", then "Packet capture"
// (Enabled, and a Stage/File pair per capture stage). Fields: known (the
// "Packet diagnosis setting" header was seen), filter_enabled,
// capture_enabled, filters ({index, source, source_port, destination,
// destination_port, protocol}), filter_count, free_indexes (the slots 1-4
// no filter uses, lowest first), stages ({stage, file}) and stage_files
// (stage name → file).
func parsePacketDiagSetting(text string, _ any) (map[string]any, error) {
	known := false
	part := ""
	filterOn, captureOn := false, false
	filters, stages := []any{}, []any{}
	stageFiles := map[string]any{}
	used := map[int64]bool{}
	stage := ""
	for _, l := range lines(text) {
		t := strings.TrimSpace(l)
		lt := strings.ToLower(t)
		switch {
		case strings.HasPrefix(lt, "packet diagnosis setting"):
			known = true
			continue
		case lt == "packet filter":
			part = "filter"
			continue
		case lt == "logging":
			part = "logging"
			continue
		case lt == "packet capture":
			part = "capture"
			continue
		}
		if m := pdEnabled.FindStringSubmatch(t); m != nil {
			on := strings.EqualFold(m[1], "yes")
			switch part {
			case "filter":
				filterOn = on
			case "capture":
				captureOn = on
			}
			continue
		}
		if m := pdIndex.FindStringSubmatch(t); m != nil && part == "filter" {
			idx, _ := strconv.ParseInt(m[1], 10, 64)
			sport, _ := strconv.ParseInt(m[3], 10, 64)
			dport, _ := strconv.ParseInt(m[5], 10, 64)
			proto, _ := strconv.ParseInt(m[6], 10, 64)
			used[idx] = true
			filters = append(filters, map[string]any{"index": idx, "source": m[2], "source_port": sport,
				"destination": m[4], "destination_port": dport, "protocol": proto})
			continue
		}
		if part != "capture" {
			continue
		}
		if m := pdStage.FindStringSubmatch(t); m != nil {
			stage = strings.ToLower(m[1])
			continue
		}
		if m := pdFile.FindStringSubmatch(t); m != nil && stage != "" {
			stages = append(stages, map[string]any{"stage": stage, "file": m[1]})
			stageFiles[stage] = m[1]
			stage = ""
		}
	}
	free := []any{}
	for i := int64(1); i <= maxFilters; i++ {
		if !used[i] {
			free = append(free, i)
		}
	}
	return map[string]any{
		"known": known, "filter_enabled": filterOn, "capture_enabled": captureOn,
		"filters": filters, "filter_count": int64(len(filters)), "free_indexes": free,
		"stages": stages, "stage_files": stageFiles,
	}, nil
}
