package parse

import (
	"reflect"
	"strings"
	"testing"
)

// TestSystemResourcesRealKB reads the show system resources of a Palo Alto
// KB article (older procps layout: "Cpu(s): 28.5%us", "Mem: 995888k
// total"); the values below were read off the sample by hand.
func TestSystemResourcesRealKB(t *testing.T) {
	got, err := Parse("system-resources", sample(t, "show_system_resources_kb_reducing_mp_load.txt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"load_1": 5.59, "load_5": 5.76, "load_15": 5.86, "tasks": int64(96),
		"cpu_user": 28.5, "cpu_system": 54.4, "cpu_nice": 3.7, "cpu_idle": 11.7, "cpu_wait": 0.1, "cpu_busy": 88.3,
		// 995888k, 937788k and 58100k in MiB
		"mem_total": 972.5, "mem_used": 915.8, "mem_free": 56.7, "mem_used_pct": 94.2,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	procs := got["processes"].(map[string]any)
	for name, w := range map[string][2]float64{
		"logrcvr": {112, 8.0}, "mgmtsrvr": {73, 13.6}, "genindex.sh": {8, 0.1}, "top": {1, 0.1}, "init": {0, 0.1}, "kthreadd": {0, 0},
	} {
		p, _ := procs[name].(map[string]any)
		if p == nil || p["cpu"] != w[0] || p["mem"] != w[1] {
			t.Errorf("processes[%s] = %v, want cpu %v mem %v", name, p, w[0], w[1])
		}
	}
	if len(procs) != 6 {
		t.Errorf("%d processes, want 6: %v", len(procs), procs)
	}
}

// TestResourceMonitorRealKB reads a KB's resource-monitor of a 16-core
// dataplane s1dp0 under load: core 0 printed as '*', the group loads, and
// only the on-chip descriptor resource.
func TestResourceMonitorRealKB(t *testing.T) {
	got, err := Parse("resource-monitor", sample(t, "show_running_resource-monitor_kb_packet-diag.txt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	dp, _ := got["dataplanes"].(map[string]any)["s1dp0"].(map[string]any)
	if dp == nil {
		t.Fatalf("no dataplane s1dp0: %v", got["dataplanes"])
	}
	cpu := dp["cpu"].(map[string]any)
	if len(cpu) != 16 || len(cpu["0"].([]any)) != 0 {
		t.Errorf("cores: %v", cpu)
	}
	if !reflect.DeepEqual(cpu["1"], []any{96.0, 100.0}) || !reflect.DeepEqual(cpu["15"], []any{98.0, 100.0}) {
		t.Errorf("core 1 %v, core 15 %v", cpu["1"], cpu["15"])
	}
	// (96 + 9*97 + 5*98 + 15*100) / 30
	if got["cpu_max"] != 100.0 || got["cpu_avg"] != 98.63 || !reflect.DeepEqual(got["cpu_max_series"], []any{98.0, 100.0}) {
		t.Errorf("cpu_max %v cpu_avg %v series %v", got["cpu_max"], got["cpu_avg"], got["cpu_max_series"])
	}
	g := dp["groups"].(map[string]any)
	if len(g) != 15 || g["flow_lookup"] != 99.0 || g["lwm"] != 0.0 || g["flow_host"] != 99.0 {
		t.Errorf("groups: %v", g)
	}
	if got["packet_descriptor_on_chip"] != 94.0 {
		t.Errorf("packet_descriptor_on_chip = %v, want 94", got["packet_descriptor_on_chip"])
	}
	for _, k := range []string{"session", "packet_buffer", "packet_descriptor"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s = %v, not in the sample", k, got[k])
		}
	}
}

// TestResourceMonitorRealPA2050 reads the resource-monitor of a PA-2050
// (community document): no "DP" header, core 0 sampled like the others,
// resource rows wrapped at 15 values.
func TestResourceMonitorRealPA2050(t *testing.T) {
	got, err := Parse("resource-monitor", sample(t, "show_running_resource-monitor_pa-2050.txt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	dps := got["dataplanes"].(map[string]any)
	dp, _ := dps["dp0"].(map[string]any)
	if len(dps) != 1 || dp == nil {
		t.Fatalf("dataplanes: %v", dps)
	}
	cpu := dp["cpu"].(map[string]any)
	if len(cpu) != 4 || len(cpu["0"].([]any)) != 20 || len(cpu["1"].([]any)) != 20 || cpu["1"].([]any)[19] != 1.0 {
		t.Errorf("cores: %v", cpu)
	}
	if got["cpu_max"] != 1.0 || got["cpu_avg"] != 0.25 || len(got["cpu_max_series"].([]any)) != 20 {
		t.Errorf("cpu_max %v cpu_avg %v series %v", got["cpu_max"], got["cpu_avg"], got["cpu_max_series"])
	}
	g := dp["groups"].(map[string]any)
	if len(g) != 15 || g["flow_mgmt"] != 1.0 || g["flow_ctrl"] != 1.0 || g["flow_host"] != 1.0 || g["pci"] != 0.0 {
		t.Errorf("groups: %v", g)
	}
	for _, k := range []string{"session", "packet_buffer", "packet_descriptor"} {
		if got[k] != 0.0 {
			t.Errorf("%s = %v, want 0", k, got[k])
		}
	}
}

// TestSystemResourcesRealBeats reads the top text of an XML API answer
// quoted by elastic/beats (procps-ng layout, "MiB Mem :"), whose process
// rows mostly have a blank USER: those rows count too, with the columns
// after USER one field to the left.
func TestSystemResourcesRealBeats(t *testing.T) {
	got, err := Parse("system-resources", "", sample(t, "show_system_resources_beats_xmlapi.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"load_1": 5.52, "load_5": 5.79, "load_15": 5.99, "tasks": int64(189),
		"cpu_user": 73.0, "cpu_system": 4.6, "cpu_nice": 0.0, "cpu_idle": 21.7, "cpu_wait": 0.0, "cpu_busy": 78.3,
		"mem_total": 5026.9, "mem_used": 2541.5, "mem_free": 414.2, "mem_used_pct": 50.6,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	procs := got["processes"].(map[string]any)
	for name, w := range map[string][2]float64{
		// 4 × 94.4 + 88.9; 4 × 0.2 + 0.4
		"pan_task": {466.5, 1.2}, "httpd": {22.2, 0.8}, "routed": {5.6, 0.4}, "top": {5.6, 0.1}, "init": {0, 0}, "kthreadd": {0, 0},
	} {
		p, _ := procs[name].(map[string]any)
		if p == nil || p["cpu"] != w[0] || p["mem"] != w[1] {
			t.Errorf("processes[%s] = %v, want cpu %v mem %v", name, p, w[0], w[1])
		}
	}
	if len(procs) != 6 {
		t.Errorf("%d processes, want 6: %v", len(procs), procs)
	}
}

// TestProcRowBlankUser: a row with a blank USER is read one field to the
// left, a row with a user as it is, and a row that fits neither (no state
// letter where S falls) is not shifted.
func TestProcRowBlankUser(t *testing.T) {
	cols := strings.Fields("PID USER PR NI VIRT RES SHR S %CPU %MEM TIME+ COMMAND")
	procs := map[string]any{}
	procRow(procs, cols, strings.Fields("5692       20   0  121504   8396   6644 R  94.4   0.2 155491:08 pan_task"))
	procRow(procs, cols, strings.Fields("2336  root 20   0  287m  77m 2100 S  112  8.0   1:16:58 logrcvr"))
	procRow(procs, cols, strings.Fields("14 root 20 0 1 2 3 S 1.5 0.5 0:01.00 /usr/bin/python3 -u x.py"))
	want := map[string]any{
		"pan_task": map[string]any{"cpu": 94.4, "mem": 0.2},
		"logrcvr":  map[string]any{"cpu": 112.0, "mem": 8.0},
		"python3":  map[string]any{"cpu": 1.5, "mem": 0.5},
	}
	if !reflect.DeepEqual(procs, want) {
		t.Errorf("got %v, want %v", procs, want)
	}
}

// TestCountersRealXML reads the XML API answer of show counter global
// from the Cortex XSOAR PAN-OS integration's test data: one counter,
// result/dp after result/global.
func TestCountersRealXML(t *testing.T) {
	got, err := Parse("counters", "", xmlResult(t, sample(t, "show_counter_global_demisto.xml")))
	if err != nil {
		t.Fatal(err)
	}
	if got["count"] != int64(1) || got["drops"] != int64(0) || got["dataplane"] != "dp0" || got["pkt_recv"] != int64(17719025) {
		t.Errorf("got %v", got)
	}
	c, _ := got["counters"].(map[string]any)["pkt_recv"].(map[string]any)
	want := map[string]any{"value": int64(17719025), "rate": int64(12), "severity": "info", "category": "packet", "aspect": "pktproc", "description": "Packets received"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("pkt_recv = %v, want %v", c, want)
	}
}
