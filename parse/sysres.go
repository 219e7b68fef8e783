package parse

import (
	"math"
	"strings"
)

// parseSystemResources reads show system resources: the management plane's
// top(1), in the procps-ng layout (`%Cpu(s):  3.2 us,  1.1 sy, ...`,
// `KiB Mem :` or `MiB Mem :`) or the older procps one (`Cpu(s): 28.5%us,
// ...`, `Mem: 995888k total, ...`). Fields, each only when its line was
// read: load_1, load_5, load_15; tasks; cpu_user, cpu_system, cpu_nice,
// cpu_idle, cpu_wait (percent of all cores) and cpu_busy (100 - idle);
// mem_total, mem_used, mem_free (MiB) and mem_used_pct; processes (command
// name → cpu, mem: percent, summed over the processes of that name; cpu
// is of one core, so it can pass 100). Without a Cpu(s) line, the per-core
// %CpuN lines are averaged. The XML API answers this command with the same
// text.
func parseSystemResources(text string, _ any) (map[string]any, error) {
	out := map[string]any{}
	var cores []map[string]float64
	var cols []string // header of the process table
	procs := map[string]any{}
	for _, l := range lines(text) {
		t := strings.TrimSpace(l)
		if t == "" || isPrompt(l) {
			continue
		}
		lt := strings.ToLower(t)
		switch {
		case strings.HasPrefix(lt, "top -"):
			if i := strings.Index(lt, "load average:"); i >= 0 {
				loads := strings.Split(lt[i+len("load average:"):], ",")
				for j, k := range []string{"load_1", "load_5", "load_15"} {
					if j < len(loads) {
						if v, ok := number(loads[j]); ok {
							out[k] = v
						}
					}
				}
			}
			continue
		case strings.HasPrefix(lt, "tasks:") || strings.HasPrefix(lt, "threads:"):
			if m := topItems(t); m["total"] > 0 {
				out["tasks"] = int64(m["total"])
			}
			continue
		case strings.HasPrefix(lt, "%cpu(s)") || strings.HasPrefix(lt, "cpu(s)"):
			setCPU(out, topItems(t))
			continue
		case strings.HasPrefix(lt, "%cpu") || (strings.HasPrefix(lt, "cpu") && len(lt) > 3 && lt[3] >= '0' && lt[3] <= '9'):
			cores = append(cores, topItems(t))
			continue
		case strings.HasPrefix(lt, "swap:") || strings.Contains(lt, " swap:"):
			continue
		case strings.HasPrefix(lt, "mem:") || strings.Contains(lt, " mem :") || strings.Contains(lt, " mem:"):
			setMem(out, t)
			continue
		}
		f := strings.Fields(t)
		if f[0] == "PID" {
			cols = f
			continue
		}
		if cols != nil {
			procRow(procs, cols, f)
		}
	}
	if _, ok := out["cpu_idle"]; !ok && len(cores) > 0 {
		avg := map[string]float64{}
		for _, c := range cores {
			for k, v := range c {
				avg[k] += v / float64(len(cores))
			}
		}
		setCPU(out, avg)
	}
	if cols != nil {
		out["processes"] = procs
	}
	return out, nil
}

// topItems reads the "value label" items after the colon of a top summary
// line: "3.2 us, 1.1 sy" and "28.5%us, 54.4%sy" and "187 total, 1 running"
// alike, as label → value.
func topItems(line string) map[string]float64 {
	m := map[string]float64{}
	_, rest, ok := strings.Cut(line, ":")
	if !ok {
		return m
	}
	for _, item := range strings.Split(rest, ",") {
		item = strings.TrimSpace(item)
		i := strings.IndexFunc(item, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
		if i <= 0 {
			continue
		}
		v, ok := number(item[:i])
		if !ok {
			continue
		}
		label := strings.TrimSpace(strings.TrimLeft(item[i:], "%"))
		if label != "" {
			m[strings.ToLower(label)] = v
		}
	}
	return m
}

// cpuLabels maps top's CPU labels to field names.
var cpuLabels = map[string]string{"us": "cpu_user", "sy": "cpu_system", "ni": "cpu_nice", "id": "cpu_idle", "wa": "cpu_wait"}

func setCPU(out map[string]any, m map[string]float64) {
	for label, name := range cpuLabels {
		if v, ok := m[label]; ok {
			out[name] = round1(v)
		}
	}
	if id, ok := m["id"]; ok {
		out["cpu_busy"] = round1(100 - id)
	}
}

// memUnits are the sizes of top's memory units, in MiB.
var memUnits = map[string]float64{"kib": 1.0 / 1024, "mib": 1, "gib": 1024, "tib": 1 << 20, "pib": 1 << 30, "eib": 1 << 40}

// setMem reads "KiB Mem :  8046592 total,  512344 free, ..." (any unit
// prefix), or the old "Mem:  995888k total,  937788k used, ..." whose
// numbers carry a k, m or g suffix. Sizes are in MiB.
func setMem(out map[string]any, line string) {
	head, rest, _ := strings.Cut(line, ":")
	unit := 1.0 / 1024 // top's old default: KiB
	if f := strings.Fields(head); len(f) == 2 {
		if u, ok := memUnits[strings.ToLower(f[0])]; ok {
			unit = u
		}
	}
	vals := map[string]float64{}
	for _, item := range strings.Split(rest, ",") {
		f := strings.Fields(strings.TrimSpace(item))
		if len(f) < 2 {
			continue
		}
		num, u := strings.TrimSuffix(f[0], "+"), unit // a '+' marks a number top cut short
		if n := len(num); n > 1 {
			switch num[n-1] {
			case 'k', 'K':
				num, u = num[:n-1], 1.0/1024
			case 'm', 'M':
				num, u = num[:n-1], 1
			case 'g', 'G':
				num, u = num[:n-1], 1024
			}
		}
		if v, ok := number(num); ok {
			vals[strings.ToLower(f[1])] = v * u
		}
	}
	total, ok := vals["total"]
	if !ok || total <= 0 {
		return
	}
	out["mem_total"] = round1(total)
	used, hasUsed := vals["used"]
	free, hasFree := vals["free"]
	switch {
	case !hasUsed && hasFree:
		used, hasUsed = total-free, true
	case hasUsed && !hasFree:
		free, hasFree = total-used, true
	}
	if hasFree {
		out["mem_free"] = round1(free)
	}
	if hasUsed {
		out["mem_used"] = round1(used)
		out["mem_used_pct"] = round1(used * 100 / total)
	}
}

// procRow adds one row of the process table: its %CPU and %MEM under the
// command's name (the base name of the first word, for `top -c`). A row
// whose USER is blank (PAN-OS prints no name for some daemons' users, as
// in show_system_resources_beats_xmlapi.txt) has one field less: the S
// column, a one-letter state, tells, and the columns after USER move one
// field left.
func procRow(procs map[string]any, cols, f []string) {
	ci, mi, ni, ui, si := -1, -1, -1, -1, -1
	for i, c := range cols {
		switch strings.ToUpper(c) {
		case "%CPU":
			ci = i
		case "%MEM":
			mi = i
		case "COMMAND":
			ni = i
		case "USER":
			ui = i
		case "S":
			si = i
		}
	}
	if ui >= 0 && si > ui && len(f) > si && !procState(f[si]) && procState(f[si-1]) {
		for _, i := range []*int{&ci, &mi, &ni} {
			if *i > ui {
				*i--
			}
		}
	}
	if ci < 0 || ni < 0 || len(f) <= ni || len(f) <= ci || (mi >= 0 && len(f) <= mi) {
		return
	}
	if _, ok := toInt(f[0]); !ok {
		return
	}
	name := f[ni]
	if i := strings.LastIndexByte(name, '/'); i >= 0 && i < len(name)-1 {
		name = name[i+1:]
	}
	cpu, ok := number(f[ci])
	if !ok {
		return
	}
	mem := 0.0
	if mi >= 0 {
		mem, _ = number(f[mi])
	}
	p, _ := procs[name].(map[string]any)
	if p == nil {
		p = map[string]any{"cpu": 0.0, "mem": 0.0}
		procs[name] = p
	}
	p["cpu"] = round1(p["cpu"].(float64) + cpu)
	p["mem"] = round1(p["mem"].(float64) + mem)
}

// procState reports whether s is a process state as top prints it in
// its S column (R running, S sleeping, D disk wait, Z zombie, T/t
// stopped, I idle, X dead).
func procState(s string) bool {
	return len(s) == 1 && strings.ContainsAny(s, "RSDZTtIX")
}

// round1 rounds to one decimal, top's precision; a value too large to be
// finite (only in made-up input) is 0.
func round1(f float64) float64 {
	r := math.Round(f*10) / 10
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return 0
	}
	return r
}
