package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// This file builds `show system resources`: the management plane's `top`
// (procps-ng batch layout, one iteration). No public PAN-OS sample of it
// exists in shared/seed/samples; the layout is top(1)'s and the daemons
// are the management-plane processes PAN-OS runs (docs/simulator.md).

// mpCores is the number of management-plane cores: top's per-process
// %CPU is of one core, the Cpu(s) line of all of them.
const mpCores = 2

// mpOverhead is the busy time (percent of all cores) that no listed
// process accounts for: kernel threads, interrupts.
const mpOverhead = 2.6

// mpProc is one management-plane process of the table.
type mpProc struct {
	pid       int
	pr, ni    int
	virt, res int64 // KiB
	shr       int64
	cpu       float64 // percent of one core
	mem       float64 // percent of memory
	baseTime  int64   // hundredths of a second of CPU time at start
	name      string
	running   bool
}

// mpProcs returns the management-plane processes as the device's state
// makes them: ikemgr and mprelay busier while their debug is on, and the
// MgmtCPU fault's load in logrcvr.
func (d *Device) mpProcs() []mpProc {
	ps := []mpProc{
		{pid: 1, pr: 20, virt: 2240, res: 620, shr: 536, cpu: 0, mem: 0.0, baseTime: 812, name: "init"},
		{pid: 2871, pr: 20, virt: 1032412, res: 211744, shr: 34120, cpu: 1.3, mem: 2.6, baseTime: 1083112, name: "mgmtsrvr"},
		{pid: 2893, pr: 20, virt: 612708, res: 98432, shr: 17904, cpu: 0.3, mem: 1.2, baseTime: 310877, name: "devsrvr"},
		{pid: 2902, pr: 20, virt: 702344, res: 133024, shr: 12660, cpu: 0.7, mem: 1.6, baseTime: 481266, name: "logrcvr"},
		{pid: 2918, pr: 20, virt: 412852, res: 57012, shr: 16124, cpu: 0.3, mem: 0.7, baseTime: 19245, name: "ikemgr"},
		{pid: 2921, pr: 20, virt: 289144, res: 30968, shr: 9812, cpu: 0.0, mem: 0.4, baseTime: 4410, name: "keymgr"},
		{pid: 2925, pr: 20, virt: 517604, res: 61328, shr: 14460, cpu: 0.7, mem: 0.8, baseTime: 88231, name: "mprelay"},
		{pid: 2933, pr: 20, virt: 388120, res: 44716, shr: 11208, cpu: 0.3, mem: 0.5, baseTime: 65012, name: "useridd"},
		{pid: 2940, pr: 20, virt: 301488, res: 28904, shr: 8716, cpu: 0.0, mem: 0.4, baseTime: 9120, name: "authd"},
		{pid: 2946, pr: 20, virt: 296012, res: 26540, shr: 8232, cpu: 0.0, mem: 0.3, baseTime: 7788, name: "sslmgr"},
		{pid: 2951, pr: 20, virt: 455736, res: 52088, shr: 13340, cpu: 0.0, mem: 0.6, baseTime: 20877, name: "routed"},
		{pid: 2958, pr: 20, virt: 330264, res: 35112, shr: 9904, cpu: 0.0, mem: 0.4, baseTime: 12250, name: "distributord"},
		{pid: 2964, pr: 20, virt: 361980, res: 41236, shr: 10428, cpu: 0.0, mem: 0.5, baseTime: 15633, name: "varrcvr"},
		{pid: 2971, pr: 30, ni: 10, virt: 410224, res: 72512, shr: 12016, cpu: 0.0, mem: 0.9, baseTime: 40112, name: "reportd"},
		{pid: 3017, pr: 20, virt: 198432, res: 18772, shr: 6120, cpu: 0.0, mem: 0.2, baseTime: 3304, name: "snmpd"},
		{pid: 3102, pr: 20, virt: 264904, res: 39840, shr: 9988, cpu: 0.0, mem: 0.5, baseTime: 11094, name: "appweb3"},
		{pid: 3366, pr: 20, virt: 81244, res: 5936, shr: 4872, cpu: 0.0, mem: 0.1, baseTime: 120, name: "sshd"},
		{pid: 3371, pr: 20, virt: 312456, res: 46120, shr: 15232, cpu: 0.3, mem: 0.6, baseTime: 214, name: "cli"},
		{pid: 3480, pr: 20, virt: 15104, res: 2380, shr: 1984, cpu: 0.7, mem: 0.0, baseTime: 0, name: "top", running: true},
	}
	jitter := float64(d.seq%3) * 0.3
	sum := 0.0
	for i := range ps {
		p := &ps[i]
		switch p.name {
		case "mgmtsrvr":
			p.cpu += jitter
		case "ikemgr":
			if d.verbose(SwIKEGlobal) {
				p.cpu += 7.6
				p.running = true
			}
			if d.debug[SwIKEPcap] == "on" {
				p.cpu += 0.7
			}
		case "mprelay":
			if d.verbose(SwMprelay) {
				p.cpu += 4.6
			}
		}
		sum += p.cpu
	}
	if want := float64(d.faults.MgmtCPU); want > 0 {
		if extra := (want-mpOverhead)*mpCores - sum; extra > 0 {
			for i := range ps {
				if ps[i].name == "logrcvr" {
					ps[i].cpu += extra
					ps[i].running = true
				}
			}
		}
	}
	for i := range ps {
		ps[i].cpu = float64(int(ps[i].cpu*10+0.5)) / 10
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].cpu > ps[j].cpu })
	return ps
}

// verbose reports whether a daemon's log level switch is at debug or dump,
// the levels that cost CPU; d.mu is held.
func (d *Device) verbose(sw string) bool {
	l := d.debug[sw]
	return l == "debug" || l == "dump"
}

// topUptime formats an uptime the way top's first line does.
func topUptime(up time.Duration) string {
	days := int(up / (24 * time.Hour))
	rest := up - time.Duration(days)*24*time.Hour
	h, m := int(rest/time.Hour), int(rest/time.Minute)%60
	var b strings.Builder
	switch {
	case days == 1:
		b.WriteString("1 day, ")
	case days > 1:
		fmt.Fprintf(&b, "%d days, ", days)
	}
	if h > 0 {
		fmt.Fprintf(&b, "%2d:%02d", h, m)
	} else {
		fmt.Fprintf(&b, "%d min", m)
	}
	return b.String()
}

// cpuTime formats hundredths of a second as top's TIME+ column.
func cpuTime(h int64) string {
	return fmt.Sprintf("%d:%02d.%02d", h/6000, h/100%60, h%100)
}

func (d *Device) systemResources() string {
	ps := d.mpProcs()
	sum, running := 0.0, 0
	for _, p := range ps {
		sum += p.cpu
		if p.running {
			running++
		}
	}
	// Tenths of a percent, so that the Cpu(s) line adds up to 100.0.
	busy := int((sum/mpCores+mpOverhead)*10 + 0.5)
	if busy > 1000 {
		busy = 1000
	}
	sy, wa, si := busy*22/100, 3, 2
	if busy < sy+wa+si {
		wa, si = 0, 0
	}
	us, id := busy-sy-wa-si, 1000-busy
	tenths := func(v int) string { return fmt.Sprintf("%d.%d", v/10, v%10) }

	// A real device lists every task; the table here is shortened to the
	// daemons that matter.
	const tasks = 187
	now := d.clock().UTC()
	var b strings.Builder
	fmt.Fprintf(&b, "top - %s up %s,  1 user,  load average: %.2f, %.2f, %.2f\n", now.Format("15:04:05"),
		topUptime(now.Sub(d.boot)), 0.18+float64(busy)*mpCores/1000, 0.24+float64(busy)*mpCores*0.7/1000,
		0.27+float64(busy)*mpCores*0.4/1000)
	fmt.Fprintf(&b, "Tasks: %3d total, %3d running, %3d sleeping,   0 stopped,   0 zombie\n", tasks, running, tasks-running)
	fmt.Fprintf(&b, "%%Cpu(s): %4s us, %4s sy,  0.0 ni, %4s id, %4s wa,  0.0 hi, %4s si,  0.0 st\n",
		tenths(us), tenths(sy), tenths(id), tenths(wa), tenths(si))
	const memTotal, buffCache = 8167040, 2553024
	// Debug logging holds buffers in ikemgr and mprelay.
	used := int64(4981224)
	if d.verbose(SwIKEGlobal) {
		used += 12 << 10
	}
	if d.verbose(SwMprelay) {
		used += 8 << 10
	}
	// Sizes in MiB with one decimal, as the real procps-ng sample prints them
	// (parse/testdata/show_system_resources_beats_xmlapi.txt).
	mib := func(kib int64) float64 { return float64(kib) / 1024 }
	fmt.Fprintf(&b, "MiB Mem : %8.1f total, %8.1f free, %8.1f used, %8.1f buff/cache\n", mib(memTotal), mib(memTotal-used-buffCache), mib(used), mib(buffCache))
	fmt.Fprintf(&b, "MiB Swap: %8.1f total, %8.1f free, %8.1f used. %8.1f avail Mem\n", mib(2097148), mib(2097148), 0.0, mib(memTotal-used))
	b.WriteString("\n  PID USER      PR  NI    VIRT    RES    SHR S  %CPU %MEM     TIME+ COMMAND\n")
	for _, p := range ps {
		state := "S"
		if p.running {
			state = "R"
		}
		t := p.baseTime + int64(d.seq)*int64(p.cpu*2)
		fmt.Fprintf(&b, "%5d %-8s  %2d %3d %7d %6d %6d %s %5.1f %4.1f %9s %s\n",
			p.pid, "root", p.pr, p.ni, p.virt, p.res, p.shr, state, p.cpu, p.mem, cpuTime(t), p.name)
	}
	return b.String()
}
