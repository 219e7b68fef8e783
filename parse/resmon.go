package parse

import (
	"strings"
)

// resourceKeys maps the resource-utilization labels to field names.
var resourceKeys = map[string]string{
	"session":                           "session",
	"packet_buffer":                     "packet_buffer",
	"packet_descriptor":                 "packet_descriptor",
	"packet_descriptor_on_chip":         "packet_descriptor_on_chip",
	"sw_tags_descriptor":                "sw_tags_descriptor",
	"session_maximum":                   "session",
	"packet_buffer_maximum":             "packet_buffer",
	"packet_descriptor_maximum":         "packet_descriptor",
	"packet_descriptor_on_chip_maximum": "packet_descriptor_on_chip",
	"sw_tags_descriptor_maximum":        "sw_tags_descriptor",
}

// dpStats collects one dataplane's samples.
type dpStats struct {
	name   string
	cores  []string             // core ids in order
	cpu    map[string][]float64 // core → samples
	rows   [][]float64          // per sample, the loads of its cores
	res    map[string]float64   // resource → max percent
	groups map[string]float64
}

func newDP(name string) *dpStats {
	return &dpStats{name: name, cpu: map[string][]float64{}, res: map[string]float64{}, groups: map[string]float64{}}
}

// parseResourceMonitor reads show running resource-monitor second|minute
// last N. Fields: dataplanes (dp name → cpu, cpu_max, cpu_avg, session,
// packet_buffer, packet_descriptor, packet_descriptor_on_chip,
// sw_tags_descriptor, groups), and the same across all dataplanes at top
// level: cpu (core → samples; keys are "dpN/core" when there are several
// dataplanes), cpu_max, cpu_avg (mean of every sample of every core),
// cpu_max_series (per sample, the busiest core), and each resource as the
// highest percent seen. A core printed as '*' (not sampled) is left out.
func parseResourceMonitor(text string, data any) (map[string]any, error) {
	var dps []*dpStats
	if data != nil {
		dps = resmonXML(data)
	}
	if dps == nil {
		dps = resmonText(text)
	}
	dpOut := map[string]any{}
	cpu := map[string]any{}
	var series []float64
	var all []float64
	res := map[string]float64{}
	for _, d := range dps {
		m := map[string]any{}
		c := map[string]any{}
		var mine []float64
		for _, core := range d.cores {
			c[core] = floats(d.cpu[core])
			mine = append(mine, d.cpu[core]...)
			key := core
			if len(dps) > 1 {
				key = d.name + "/" + core
			}
			cpu[key] = floats(d.cpu[core])
		}
		m["cpu"] = c
		m["cpu_max"], m["cpu_avg"] = maxOf(mine), round2(avgOf(mine))
		all = append(all, mine...)
		for i, row := range d.rows {
			if len(row) == 0 {
				continue
			}
			for len(series) <= i {
				series = append(series, 0)
			}
			if mx := maxOf(row); mx > series[i] {
				series[i] = mx
			}
		}
		for k, v := range d.res {
			m[k] = v
			if v > res[k] {
				res[k] = v
			} else if _, ok := res[k]; !ok {
				res[k] = v
			}
		}
		g := map[string]any{}
		for k, v := range d.groups {
			g[k] = v
		}
		m["groups"] = g
		dpOut[d.name] = m
	}
	out := map[string]any{
		"dataplanes": dpOut, "cpu": cpu, "cpu_max": maxOf(all), "cpu_avg": round2(avgOf(all)),
		"cpu_max_series": floats(series),
	}
	for k, v := range res {
		out[k] = v
	}
	return out, nil
}

func resmonText(text string) []*dpStats {
	var dps []*dpStats
	var cur *dpStats
	get := func() *dpStats {
		if cur == nil {
			cur = newDP("dp0")
			dps = append(dps, cur)
		}
		return cur
	}
	section, resource := "", ""
	var cores []string
	for _, l := range lines(text) {
		t := strings.TrimSpace(l)
		lt := strings.ToLower(t)
		switch {
		case t == "" || isPrompt(l):
			continue
		case strings.HasPrefix(lt, "dp ") && strings.HasSuffix(t, ":"):
			cur = newDP(strings.TrimSpace(t[3 : len(t)-1]))
			dps = append(dps, cur)
			section = ""
			continue
		case strings.HasPrefix(lt, "cpu load sampling by group"):
			section = "group"
			continue
		case strings.HasPrefix(lt, "cpu load"):
			section, cores = "cpu", nil
			continue
		case strings.HasPrefix(lt, "resource utilization"):
			section, resource = "res", ""
			continue
		case strings.HasPrefix(lt, "resource monitoring"):
			continue
		}
		d := get()
		f := strings.Fields(t)
		switch section {
		case "group":
			if name, v, ok := strings.Cut(t, ":"); ok {
				if p, ok := number(v); ok {
					d.groups[snake(name)] = p
				}
			}
		case "cpu":
			if strings.EqualFold(f[0], "core") {
				cores = f[1:]
				for _, c := range cores {
					if _, ok := d.cpu[c]; !ok {
						d.cores = append(d.cores, c)
						d.cpu[c] = nil
					}
				}
				continue
			}
			var row []float64
			for i, cell := range f {
				if i >= len(cores) {
					break
				}
				if p, ok := number(cell); ok {
					d.cpu[cores[i]] = append(d.cpu[cores[i]], p)
					row = append(row, p)
				}
			}
			d.rows = append(d.rows, row)
		case "res":
			if strings.HasSuffix(t, ":") {
				resource = resourceKeys[snake(t[:len(t)-1])]
				if resource == "" {
					resource = snake(t[:len(t)-1])
				}
				continue
			}
			if resource == "" {
				continue
			}
			for _, cell := range f {
				if p, ok := number(cell); ok {
					if old, seen := d.res[resource]; !seen || p > old {
						d.res[resource] = p
					}
				}
			}
		}
	}
	return dps
}

// resmonXML reads result/resource-monitor/data-processors/<dp>/<period>/
// {cpu-load-average,cpu-load-maximum}/entry{coreid,value} and
// resource-utilization/entry{name,value}; values are comma-separated
// samples. CPU samples come from cpu-load-average when present (the text
// form prints averages), else cpu-load-maximum.
func resmonXML(data any) []*dpStats {
	procs, ok := path(data, "resource-monitor", "data-processors").(map[string]any)
	if !ok {
		return nil
	}
	var dps []*dpStats
	for _, name := range sortedKeys(procs) {
		d := newDP(name)
		periods, _ := procs[name].(map[string]any)
		for _, p := range sortedKeys(periods) {
			per := periods[p]
			load := path(per, "cpu-load-average", "entry")
			if load == nil {
				load = path(per, "cpu-load-maximum", "entry")
			}
			for _, e := range list(load) {
				core := leaf(child(e, "coreid"))
				if core == "" {
					continue
				}
				if _, seen := d.cpu[core]; !seen {
					d.cores = append(d.cores, core)
				}
				for i, s := range strings.Split(leaf(child(e, "value")), ",") {
					if v, ok := number(s); ok {
						d.cpu[core] = append(d.cpu[core], v)
						for len(d.rows) <= i {
							d.rows = append(d.rows, nil)
						}
						d.rows[i] = append(d.rows[i], v)
					}
				}
			}
			for _, e := range list(path(per, "resource-utilization", "entry")) {
				k := snake(leaf(child(e, "name")))
				if strings.HasSuffix(k, "_average") {
					continue
				}
				if r, ok := resourceKeys[k]; ok {
					k = r
				}
				for _, s := range strings.Split(leaf(child(e, "value")), ",") {
					if v, ok := number(s); ok {
						if old, seen := d.res[k]; !seen || v > old {
							d.res[k] = v
						}
					}
				}
			}
		}
		dps = append(dps, d)
	}
	return dps
}

func floats(x []float64) []any {
	out := make([]any, len(x))
	for i, v := range x {
		out[i] = v
	}
	return out
}

func maxOf(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

func avgOf(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
