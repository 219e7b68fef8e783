package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Scenario selects what is wrong with the simulated firewall's VPN.
type Scenario string

// The scenarios, one per shipped playbook plus a healthy tunnel.
const (
	// Healthy: IKE and IPSec SAs up, traffic both ways.
	Healthy Scenario = "healthy"
	// Phase1Down: no IKE SA; IKE packets leave, nothing comes back; no
	// security rule matches IKE.
	Phase1Down Scenario = "phase1-down"
	// Phase2Down: IKE SA up, no IPSec SA ("no SA found").
	Phase2Down Scenario = "phase2-down"
	// NoTraffic: both SAs up, encap rises, decap stays flat.
	NoTraffic Scenario = "no-traffic"
	// Performance: both SAs up, heavy traffic, busy data plane.
	Performance Scenario = "performance"
	// NoEncap: both SAs up, decap rises, encap stays flat: the peer's
	// traffic arrives, the return traffic does not enter the tunnel.
	NoEncap Scenario = "no-encap"
	// Idle: both SAs up, nothing goes through the tunnel either way.
	Idle Scenario = "idle"
)

// Scenarios lists every scenario, for flags and help text.
var Scenarios = []Scenario{Healthy, Phase1Down, Phase2Down, NoTraffic, Performance, NoEncap, Idle}

// ParseScenario checks a scenario name.
func ParseScenario(s string) (Scenario, error) {
	for _, sc := range Scenarios {
		if string(sc) == s {
			return sc, nil
		}
	}
	names := make([]string, len(Scenarios))
	for i, sc := range Scenarios {
		names[i] = string(sc)
	}
	return "", fmt.Errorf("sim: unknown scenario %q (want one of %s)", s, strings.Join(names, ", "))
}

// Options configure a simulated device. The zero value is a healthy PA-VM
// with the DefaultTopology and no added latency.
type Options struct {
	Hostname  string // default "pa-sim"
	Model     string // default "PA-VM"
	Serial    string // default "007200001234"
	SWVersion string // default "10.2.9"
	Scenario  Scenario
	// Topology names the tunnel, gateway and addresses; nil means
	// DefaultTopology().
	Topology *Topology
	// Latency is added before every command's answer.
	Latency time.Duration
	// Seed makes counter movement reproducible (0 is a valid seed).
	Seed int64
	// Clock gives the device's time; nil means time.Now. Shown in UTC.
	Clock func() time.Time
	// ScpPassword, when set, is the only password `scp export` accepts.
	ScpPassword string
	// Faults are the failures to inject; they can be changed later with
	// SetFaults.
	Faults Faults
	// LocalInitiates makes this firewall the side that started the IKE
	// exchange and the ESP traffic: the IKE and ESP sessions run from
	// LocalIP to PeerIP. By default the peer started them (the article asks
	// the peer to initiate), so they run from PeerIP to LocalIP.
	LocalInitiates bool
	// FreshSessions makes the IKE and ESP sessions start after the capture
	// filter is set (the peer started the tunnel once the filter was in
	// place, as the article asks). Without it they predate any filter: a
	// filter marks only new sessions, so they are not captured and the
	// packet-filter counters do not count them.
	FreshSessions bool
	// StaleCaptures are data-plane capture files left on the device by an
	// earlier run (e.g. rx.pcap, tx.pcap, drop.pcap, fw.pcap): `scp export
	// filter-pcap` and the API export them until `delete debug-filter file
	// NAME` removes them.
	StaleCaptures []string
	// PeerDropsICMP makes the peer drop ICMP by policy, as many VPN peers
	// do: ping to PeerIP gets no reply, while IKE and ESP pass as the
	// scenario says.
	PeerDropsICMP bool
	// NoIPSecRule leaves out the explicit rule that allows IKE and ESP
	// between LocalIP and PeerIP: test security-policy-match answers
	// nothing for them, and the predefined intrazone-default rule (the
	// peer's traffic and the outside interface are in one zone) allows
	// them, as on many firewalls. The tunnel works as the scenario says.
	NoIPSecRule bool
	// OneWayTraffic makes the traffic between the hosts behind the tunnel
	// a one-way UDP flow (syslog, UDP 514, LocalHost to RemoteHost) that
	// expects no reply, instead of a ping. With the NoTraffic scenario's
	// counters (encap rises, decap stays flat) it is a healthy tunnel.
	OneWayTraffic bool
	// PBFIntoTunnel makes a policy-based forwarding rule, not a route,
	// send the traffic between the hosts into the tunnel: the virtual
	// router has no route of RemoteNetwork into the tunnel (fib-lookup
	// names the default route, out of OuterInterface), while the traffic's
	// session leaves by InnerInterface. PBF is evaluated before the route
	// lookup (Palo Alto Networks, "Policy-Based Forwarding"): a healthy
	// tunnel.
	PBFIntoTunnel bool
	// Setup are commands run when the device is made, before any session
	// (not logged): the state an operator left, e.g. `debug ike global on
	// debug` or their own `debug dataplane packet-diag set filter match
	// ...`. AsFound compares the state with the one Setup left.
	Setup []string
	// Refuse makes the device refuse every command that matches one of
	// these, with PAN-OS's own error text, before it runs (the state does
	// not change). SetRefusals changes them later. (Not in Faults, which
	// stays comparable.)
	Refuse []Refusal
}

// Faults are failures the simulator injects on purpose.
type Faults struct {
	// DropAfter, when > 0, drops the connection when command number
	// DropAfter+1 arrives (counted over the device's life); that command is
	// not executed. It happens once: a reconnected session works.
	DropAfter int
	// AskOn, when set, makes every command starting with it ask an
	// unexpected `Do you want to continue? (y or n) ` question first.
	AskOn string
	// SlowOn, when set, delays every command starting with it by SlowBy.
	// SlowAfter, when > 0, delays by SlowBy the one command that arrives
	// once SlowAfter commands were answered (counted as DropAfter). A
	// delay in progress ends early when SetFaults is called: a test holds
	// a command with a long SlowBy and lets it go when it is ready.
	SlowOn    string
	SlowAfter int
	SlowBy    time.Duration
	// HangUpAfter, when > 0, makes the server close the connection right
	// after it answered command number HangUpAfter (counted as
	// DropAfter), once: the session is lost between two commands, while
	// the client is idle (a repeat's wait, a firewall restarting). Over
	// SSH the connection ends after the prompt; over the XML API the
	// answer closes its keep-alive connection.
	HangUpAfter int
	// StopReadingAfter, when > 0, makes the SSH shell stop reading what
	// is typed right after it answered command number StopReadingAfter
	// (counted as DropAfter), once: its prompt went out and the session
	// stays open, but nothing typed is read again until the connection
	// ends (a hung management plane). The channel's window (2 MiB in
	// x/crypto/ssh) fills with what the client writes, and then the
	// client's writes block. SSH only.
	StopReadingAfter int
	// AuthErrors makes the tunnel's authentication and decryption error
	// counters (show vpn flow tunnel-id) rise with every command, as when
	// the peer's keys or algorithms differ.
	AuthErrors bool
	// ReplayDrops makes the tunnel's replay packet counter rise with every
	// command.
	ReplayDrops bool
	// ResourcePct, when > 0, is the packet buffer and packet descriptor
	// utilization (percent) that resource-monitor reports.
	ResourcePct int
	// MgmtCPU, when > 0, is the management-plane CPU use (percent busy)
	// that show system resources reports at least, the extra load in
	// logrcvr (heavy logging, the usual cause on a real firewall).
	MgmtCPU int
	// ScpNewHost makes `scp export` ask OpenSSH's host-key question
	// ("Are you sure you want to continue connecting (yes/no)? ") before
	// the password, for a remote host the device has not copied to yet:
	// "yes" remembers the host, any other answer fails the copy with "Host
	// key verification failed." and "lost connection".
	ScpNewHost bool
	// ScpRefusePassword makes `scp export` refuse every password: it
	// prints "Permission denied, please try again." and asks again, three
	// times in all, as OpenSSH does.
	ScpRefusePassword bool
	// ScpFail, when set, makes every `scp export` fail with these lines
	// (e.g. "scp: Failed to open file /cases/x\nlost connection") after the
	// password was accepted, or, with ScpFailEarly, before any question (an
	// unreachable host: "ssh: connect to host H port 22: Connection
	// refused").
	ScpFail      string
	ScpFailEarly bool
	// PeerIKEUnanswered: the peer's IKE requests arrive and this firewall
	// does not answer them. The IKE session runs from PeerIP to LocalIP with
	// bytes client-to-server and none server-to-client. Without it (and
	// without NoIKESession) a phase1-down device is the one sending: its
	// IKE session runs from LocalIP to PeerIP and nothing comes back.
	PeerIKEUnanswered bool
	// NoIKESession: nothing from the peer and nothing to it (a passive
	// gateway whose peer is silent): there is no IKE session at all.
	NoIKESession bool
	// DenyIPSec puts a deny rule (DenyRule, index 1) in front of the rule
	// that allows IKE and ESP: test security-policy-match answers it for
	// IKE and ESP between the peer and this firewall, in both directions.
	DenyIPSec bool
}

// Refusal is one refused command pattern (Options.Refuse).
type Refusal struct {
	// Match is a regular expression matched against the command line
	// (leading and trailing blanks removed), e.g. `^debug mprelay `.
	Match string
	// Error is how the device refuses: RefuseInvalid ("Invalid syntax."),
	// RefuseUnknown ("Unknown command: WORD") or RefuseXMLAPI (only over
	// the XML API: "WORD not available to xmlapi client", WORD the
	// command's first word; over SSH the command runs).
	Error string
	// Word is the word an RefuseUnknown refusal names; default the line's
	// last word.
	Word string
}

// The refusal kinds of Refusal.Error.
const (
	RefuseInvalid = "invalid"
	RefuseUnknown = "unknown"
	RefuseXMLAPI  = "xmlapi"
)

// refusal returns the error a matching Refusal gives cli sent via via, or
// nil. A pattern that does not compile matches nothing.
func refusal(rs []Refusal, via, cli string) error {
	for _, r := range rs {
		re, err := regexp.Compile(r.Match)
		if err != nil || !re.MatchString(cli) {
			continue
		}
		w := strings.Fields(cli)
		switch r.Error {
		case RefuseUnknown:
			word := r.Word
			if word == "" && len(w) > 0 {
				word = w[len(w)-1]
			}
			return unknownCmd(word)
		case RefuseXMLAPI:
			if strings.HasPrefix(via, "api:") && len(w) > 0 {
				// pan-os-python issue 509: "debug not available to xmlapi client".
				return &CommandError{Kind: "xmlapi", Msg: w[0] + " not available to xmlapi client"}
			}
		default:
			return invalidSyntax()
		}
	}
	return nil
}

// ErrDropConnection is returned by Shell.Exec when a DropAfter fault fires:
// the server must close the connection without answering.
var ErrDropConnection = errors.New("sim: connection dropped by fault injection")

// CommandError is a command the simulated CLI refused. Msg is the text the
// CLI prints, e.g. "Unknown command: foo" or "Invalid syntax.".
type CommandError struct {
	Kind string // "unknown" | "invalid" | "validation" | "server"
	Msg  string
}

func (e *CommandError) Error() string { return e.Msg }

func unknownCmd(word string) error {
	return &CommandError{Kind: "unknown", Msg: "Unknown command: " + word}
}

func invalidSyntax() error { return &CommandError{Kind: "invalid", Msg: "Invalid syntax."} }

func validationErr(msg string) error {
	return &CommandError{Kind: "validation", Msg: "Validation Error:\n " + msg}
}

func serverErr(msg string) error {
	return &CommandError{Kind: "server", Msg: "Server error : " + msg}
}

// LogEntry is one command the device received.
type LogEntry struct {
	Seq  int
	Time time.Time
	// Via says who sent it: "ssh:<user>", or "" for a direct Exec.
	Via string
	CLI string
	// Err is the CLI's error text, "" when the command succeeded;
	// "dropped" when a fault dropped the connection instead.
	Err string
	// Debug is DebugState() after the command.
	Debug map[string]string
}

// Asker asks the operator a question inside a command (the scp password, an
// unexpected `(y or n)`) and returns the line typed. echo false means the
// answer must not be echoed. It returns an error if nobody can answer.
type Asker func(ctx context.Context, question string, echo bool) (string, error)

// The debug and capture switches DebugState reports, with their defaults.
const (
	SwIKEPcap        = "ike.pcap"
	SwIKEGlobal      = "ike.global"
	SwMprelay        = "mprelay"
	SwPacketFilter   = "packet-diag.filter"
	SwPacketCapture  = "packet-diag.capture"
	defaultIKEGlobal = "normal"
	defaultMprelay   = "info"
)

var switchDefaults = map[string]string{
	SwIKEPcap:       "off",
	SwIKEGlobal:     defaultIKEGlobal,
	SwMprelay:       defaultMprelay,
	SwPacketFilter:  "off",
	SwPacketCapture: "off",
}

// Device is a simulated PAN-OS firewall: its state (debug switches, packet
// captures, counters, SAs per scenario) and the CLI commands that read and
// change it. It is safe for concurrent use by several sessions.
type Device struct {
	opts  Options
	topo  Topology
	clock func() time.Time
	boot  time.Time

	mu        sync.Mutex
	faults    Faults
	dropFired bool
	slowFired bool
	hungUp    bool
	stopped   bool // StopReadingAfter fired
	// release is closed by SetFaults, ending the delays in progress.
	release chan struct{}
	// holding is closed when a command starts being held (SlowAfter,
	// SlowOn), so that a test can act while the device holds it.
	holding   chan struct{}
	seq       int
	debug     map[string]string
	filters   []pdFilter
	stages    map[string]string       // stage -> file
	files     map[string]*captureFile // capture files on the device
	filterOn  int                     // seq when the packet filter was switched on; -1 when off
	ikePcap   bool                    // ikemgr.pcap exists
	ctr       map[string]int64        // global counters
	ctrLast   map[string]int64        // baseline of the last delta sample
	ctrLastAt time.Time
	flows     map[int]*flowCounters // by tunnel id, one per SA
	rng       *rand.Rand
	log       []LogEntry
	scpKnown  map[string]bool // remote hosts scp export has accepted the key of
	found     string          // the debug and packet-diag state after Setup
	refuse    []Refusal
}

type pdFilter struct {
	index              int // slot 1-4
	src, dst           string
	sport, dport, prot string
}

// captureFile is a data-plane capture file: stale when an earlier run left
// it, packets is the number of packets this run wrote to it.
type captureFile struct {
	stale   bool
	packets int64
}

// CaptureFile tells whether the data-plane capture file name exists, how
// many packets it holds, and whether some of them are from a capture made
// before the device was handed over (Options.StaleCaptures).
func (d *Device) CaptureFile(name string) (exists bool, packets int64, stale bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cf := d.files[name]
	if cf == nil {
		return false, 0, false
	}
	return true, cf.packets, cf.stale
}

type flowCounters struct {
	encapPkts, decapPkts, encapBytes, decapBytes int64
	acquire                                      int64
	authErrors, decryptErrors, replay            int64
}

// NewDevice returns a simulated device in its default (clean) state.
func NewDevice(o Options) *Device {
	if o.Hostname == "" {
		o.Hostname = "pa-sim"
	}
	if o.Model == "" {
		o.Model = "PA-VM"
	}
	if o.Serial == "" {
		o.Serial = "007200001234"
	}
	if o.SWVersion == "" {
		o.SWVersion = "10.2.9"
	}
	if o.Scenario == "" {
		o.Scenario = Healthy
	}
	topo := DefaultTopology()
	if o.Topology != nil {
		topo = *o.Topology
	}
	clock := o.Clock
	if clock == nil {
		clock = time.Now
	}
	d := &Device{
		opts:    o,
		release: make(chan struct{}),
		holding: make(chan struct{}),
		topo:    topo,
		clock:   clock,
		faults:  o.Faults,
		debug:   map[string]string{},
		stages:  map[string]string{},
		files:   map[string]*captureFile{},
		ctr:     map[string]int64{},
		flows:   map[int]*flowCounters{},
		refuse:  append([]Refusal(nil), o.Refuse...),
		rng:     rand.New(rand.NewSource(o.Seed)),
	}
	d.boot = clock().Add(-(52*time.Hour + 38*time.Minute + 49*time.Second))
	d.ctrLastAt = clock()
	for k, v := range switchDefaults {
		d.debug[k] = v
	}
	for _, c := range counterSpecs {
		d.ctr[c.name] = c.base
	}
	d.ctrLast = copyCounters(d.ctr)
	d.filterOn = -1
	for i, sa := range d.sas() {
		f := &flowCounters{encapPkts: 387833, decapPkts: 1483008, encapBytes: 71262032, decapBytes: 2107755408, acquire: 12}
		if i > 0 {
			f = &flowCounters{encapPkts: 12093 * int64(i), decapPkts: 40117 * int64(i), encapBytes: 2225112 * int64(i), decapBytes: 57006257 * int64(i), acquire: 3}
		}
		if o.Scenario == Phase1Down || o.Scenario == Phase2Down {
			f = &flowCounters{}
		}
		d.flows[sa.tunnelID] = f
	}
	for _, name := range o.StaleCaptures {
		d.files[name] = &captureFile{stale: true, packets: 37}
	}
	for _, c := range o.Setup {
		d.dispatch(strings.TrimSpace(c)) // a refused setup command changes nothing
	}
	d.found = d.stateLocked()
	return d
}

// Options returns the options the device was made with (defaults filled).
func (d *Device) Options() Options { return d.opts }

// Topology returns the device's VPN topology.
func (d *Device) Topology() Topology { return d.topo }

// Prompt returns the operational-mode prompt, e.g. "admin@pa-sim> ".
func (d *Device) Prompt(user string) string { return user + "@" + d.opts.Hostname + "> " }

// SetFaults replaces the injected faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
	d.dropFired, d.slowFired, d.hungUp, d.stopped = false, false, false, false
	close(d.release)
	d.release = make(chan struct{})
}

// hangUp reports whether the connection must end now, after an answer:
// once HangUpAfter commands were answered (Faults.HangUpAfter), once.
func (d *Device) hangUp() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.faults; f.HangUpAfter > 0 && !d.hungUp && d.seq >= f.HangUpAfter {
		d.hungUp = true
		return true
	}
	return false
}

// stopReading reports whether the shell must stop reading now, after an
// answer: once StopReadingAfter commands were answered
// (Faults.StopReadingAfter), once.
func (d *Device) stopReading() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.faults; f.StopReadingAfter > 0 && !d.stopped && d.seq >= f.StopReadingAfter {
		d.stopped = true
		return true
	}
	return false
}

// SetRefusals replaces the refused command patterns (Options.Refuse).
func (d *Device) SetRefusals(rs []Refusal) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refuse = append([]Refusal(nil), rs...)
}

// Facts returns hostname, model, serial and sw_version.
func (d *Device) Facts() map[string]string {
	return map[string]string{
		"hostname":   d.opts.Hostname,
		"model":      d.opts.Model,
		"serial":     d.opts.Serial,
		"sw_version": d.opts.SWVersion,
	}
}

// DebugState returns every debug and capture switch with its level or
// state (see the Sw* constants).
func (d *Device) DebugState() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.debugStateLocked()
}

func (d *Device) debugStateLocked() map[string]string {
	m := make(map[string]string, len(d.debug))
	for k, v := range d.debug {
		m[k] = v
	}
	return m
}

// Clean reports whether every switch is back to its default; if not, it
// lists the ones still on as "switch=state", sorted.
func (d *Device) Clean() (bool, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var on []string
	for k, v := range d.debug {
		if v != switchDefaults[k] {
			on = append(on, k+"="+v)
		}
	}
	sort.Strings(on)
	return len(on) == 0, on
}

// stateLocked is the debug levels, the packet-diag filters and the capture
// stages, as one comparable text.
func (d *Device) stateLocked() string {
	var b strings.Builder
	keys := make([]string, 0, len(d.debug))
	for k := range d.debug {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, d.debug[k])
	}
	for _, f := range d.filters {
		fmt.Fprintf(&b, "filter %d: %+v\n", f.index, f)
	}
	stages := make([]string, 0, len(d.stages))
	for s := range d.stages {
		stages = append(stages, s)
	}
	sort.Strings(stages)
	for _, s := range stages {
		fmt.Fprintf(&b, "stage %s: %s\n", s, d.stages[s])
	}
	return b.String()
}

// AsFound reports whether the debug levels, packet-diag filters and
// capture stages are what they were when the device was made (after
// Options.Setup); if not, it returns both states, one "key=value" line
// each.
func (d *Device) AsFound() (ok bool, found, now string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now = d.stateLocked()
	return now == d.found, d.found, now
}

// Holding returns a channel closed once the device holds a command (the
// SlowAfter or SlowOn fault): the command reached it and waits.
func (d *Device) Holding() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.holding
}

// Log returns every command received so far, in order.
func (d *Device) Log() []LogEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]LogEntry, len(d.log))
	copy(out, d.log)
	return out
}

// Exec runs one operational-mode command and returns its text output as the
// CLI prints it. A refused command returns a *CommandError. Commands that
// ask a question (scp export) fail with a server error: use a Shell.
func (d *Device) Exec(ctx context.Context, cli string) (string, error) {
	return d.exec(ctx, "", cli, nil)
}

// ExecInteractive is Exec for a command that may ask questions, which ask
// answers.
func (d *Device) ExecInteractive(ctx context.Context, cli string, ask Asker) (string, error) {
	return d.exec(ctx, "", cli, ask)
}

func (d *Device) exec(ctx context.Context, via, cli string, ask Asker) (string, error) {
	cli = strings.TrimSpace(cli)
	d.mu.Lock()
	f := d.faults
	drop := false
	if f.DropAfter > 0 && !d.dropFired && d.seq >= f.DropAfter {
		d.dropFired = true
		drop = true
	}
	if drop {
		d.appendLogLocked(via, cli, "dropped")
		d.mu.Unlock()
		return "", ErrDropConnection
	}
	if err := refusal(d.refuse, via, cli); err != nil {
		d.tickLocked()
		d.appendLogLocked(via, cli, err.Error())
		d.mu.Unlock()
		return "", err
	}
	slow := f.SlowOn != "" && strings.HasPrefix(cli, f.SlowOn)
	if f.SlowAfter > 0 && !d.slowFired && d.seq >= f.SlowAfter {
		d.slowFired = true
		slow = true
	}
	release := d.release
	if slow {
		select {
		case <-d.holding:
		default:
			close(d.holding)
		}
	}
	d.mu.Unlock()

	if err := sleepCtx(ctx, d.opts.Latency); err != nil {
		return "", err
	}
	if slow {
		t := time.NewTimer(f.SlowBy)
		select {
		case <-t.C:
		case <-release:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		}
	}
	if f.AskOn != "" && strings.HasPrefix(cli, f.AskOn) {
		if ask == nil {
			d.record(via, cli, "aborted")
			return "", serverErr("command needs an answer to (y or n)")
		}
		a, err := ask(ctx, "Do you want to continue? (y or n) ", true)
		if err != nil {
			d.record(via, cli, "aborted")
			return "", err
		}
		if !strings.EqualFold(strings.TrimSpace(a), "y") {
			d.record(via, cli, "")
			return "Command aborted.\n", nil
		}
	}

	var out string
	var err error
	if isScp(cli) {
		// scp asks for a password: do not hold the lock while asking.
		out, err = d.scpExport(ctx, cli, ask)
		d.mu.Lock()
	} else {
		d.mu.Lock()
		out, err = d.dispatch(cli)
	}
	d.tickLocked()
	msg := ""
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) {
			msg = ce.Msg
		} else {
			msg = err.Error()
		}
	}
	d.appendLogLocked(via, cli, msg)
	d.mu.Unlock()
	return out, err
}

func (d *Device) record(via, cli, errText string) {
	d.mu.Lock()
	d.appendLogLocked(via, cli, errText)
	d.mu.Unlock()
}

func (d *Device) appendLogLocked(via, cli, errText string) {
	d.seq++
	d.log = append(d.log, LogEntry{Seq: d.seq, Time: d.clock(), Via: via, CLI: cli, Err: errText, Debug: d.debugStateLocked()})
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func copyCounters(m map[string]int64) map[string]int64 {
	c := make(map[string]int64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
