package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/fleet"
	"github.com/runbook-dev/runbook/inventory"
	"github.com/runbook-dev/runbook/observe"
	"github.com/runbook-dev/runbook/report"
	"github.com/runbook-dev/runbook/runcase"
	"github.com/runbook-dev/runbook/runfolder"
	"github.com/runbook-dev/runbook/secret"
	"github.com/runbook-dev/runbook/transports"
	"github.com/runbook-dev/runbook/transports/replay"
	"github.com/spf13/cobra"
)

type runOptions struct {
	io *IOStreams

	Playbook         string
	Targets          []string
	Inventory        string
	Params           []string
	Out              string
	Yes              bool
	Replay           string
	Pace             float64
	Record           string
	Redact           []string
	Timeout          time.Duration
	Parallel         int
	Bundle           bool
	AcceptNewHostKey bool
	// ScpAcceptNewHostKey lets the firewall trust the host key of an scp
	// destination it has not seen, for this run.
	ScpAcceptNewHostKey bool
	// FailOn is --fail-on: critical, warning or empty.
	FailOn string
	// SessionLog is the raw transcript file (--session-log).
	SessionLog string
	// DryRun checks the input and prints the plan; nothing is sent.
	DryRun bool
	// JSON is --json: the events as NDJSON on stdout (docs/events.md), the
	// human output on stderr as always; with DryRun, the plan as one JSON
	// document.
	JSON bool
	// Output is --output: how the human output of several targets
	// shares the terminal, interleaved (prefixed lines) or grouped (one
	// block per target, when it ends).
	Output string
}

func newRunCmd(io *IOStreams) *cobra.Command {
	opts := &runOptions{io: io}
	cmd := &cobra.Command{
		Use:   "run PLAYBOOK --target NAME [flags]",
		Short: "Run a playbook against one or more targets",
		Long: `Run a playbook (a file, or the name of a built-in playbook) against one or more
targets from the inventory, each into its own run folder under --out.

Debug and capture commands carry their undo: on success, failure, timeout,
Ctrl-C, SIGTERM, SIGHUP or a dropped connection the undo stack runs, newest
first, then the playbook's cleanup section. If the engine itself is killed,
'runbook cleanup RUNDIR' finishes from the journal.

Exports: a transport that can pull files (the XML API) brings them into
artifacts/; over SSH the firewall pushes them with 'scp export ... to
user@host:path' (parameters scp_to and scp_password). When the firewall has
not seen that host's SSH key it asks whether to trust it: runbook answers
no, and that export fails, unless --scp-accept-new-host-key is given for the
run. A failed export (refused password, unreachable host, a file the
firewall could not open or write, a lost connection) is a failed step with
the firewall's own words; the remaining exports and steps still run, and
the run ends with exit 1. An export step with its own on_error follows it.

A target reached both ways (inventory: transport: [ssh, xmlapi]) sends every
CLI command over SSH and pulls over the API what it can export (tech-support,
filter captures); only the IKE capture is pushed with scp export. Over the
API alone, a debug command the firewall refuses to API clients is recorded
refused, with a note naming the CLI command to run, and the run goes on.

A target reached through Panorama (inventory: via: PANORAMA, serial: ...)
runs over the XML API: every request goes to the Panorama with the firewall's
serial as target=; 'runbook targets --panorama NAME' lists the serials.

--session-log FILE writes the raw transcript of the session, as netmiko's
session_log does: over SSH every byte sent and received on the shell channel,
over the XML API each request (URL and parameters, never the key) and each
answer. Every secret is redacted before a byte is written. With several
targets each gets FILE-TARGET (session.log: session-fw1.log). The manifest
names the file (session_log). A replayed target writes nothing.

The built-in target "demo" needs no inventory and no firewall: it starts the
PAN-OS simulator in-process on a free loopback port and reaches it over real
SSH; the simulator's tunnel supplies every parameter not given. "demo-peer" is
the other end of that tunnel, started the same way (its addresses are demo's
swapped): -t demo -t demo-peer is a case of two ends. A built-in playbook
shows its fault on demo and the other side of it on demo-peer: phase1-down,
demo's IKE never seen by demo-peer; phase2-down, phase 2 down on both with no
common IPSec encryption; tunnel-up-no-traffic, demo's ESP never decapsulated
by demo-peer; performance, demo busy and demo-peer healthy.

A replay (--replay CASSETTE, or an inventory target with transport: replay)
sends nothing: the cassette answers. The parameters it was recorded with
supply those not given with --param (or by the target in the inventory).

--dry-run checks the input exactly as a run does (playbook, targets, params
and their bounds, env: and file: secrets; a mistake is exit 2 with the same
words) and prints, for each target, every command with its parameters filled
in, the undo of each, the cleanup plan, the prompts and what each export would
do (pulled, pushed with scp export, or noted). A value only the device's answers
give is shown as such: <vars.tunnel_id: from step sa>. Targets that would be
the ends of one case (the playbook's case: section) are named as its ends,
with the steps they would start together, the prompts asked once and the
findings across them. It connects to nothing: the demo target starts no
simulator, and no run folder is written. With --json the plan is printed as
one JSON document.

Several targets (a group, or --target given more than once) run side by side,
at most --parallel at once, each into its own run folder. Their human output
is interleaved, each line prefixed with its target, or with --output grouped
held per target and printed as one block when that target ends. The first
connection of each target is tried up to 3 times (0.5s, then 1s apart) when
it is refused or reset (a busy server); an authentication failure is not
tried again. The run ends with an overview: per target its status, exit code,
critical and warning findings, cleanup (clean, pending N, none), connection
retries and run folder, then the totals. The ends of the playbook's case:
section run at once whatever --parallel says and sample together: each run
of a repeated step and each wait starts on every end at one shared start,
and each prompt is asked once for the case.

--json prints the run's events on stdout instead of the run folders, one JSON
object per line (docs/events.md: steps, undo armed, waits, cleanup, findings,
the end, each with its target); the human output stays on stderr.

A run whose findings fired ends "done, 1 critical finding" rather than "ok";
with --fail-on critical (or warning) it also exits 5 when a finding of that
severity or worse fired, for a monitoring job or cron.

The inventory is --inventory, else $RUNBOOK_INVENTORY, else ./inventory.yaml,
else ~/.config/runbook/inventory.yaml: runbook's own format or an Ansible YAML
inventory (its groups are targets too). SSH targets take HostName, Port, User,
IdentityFile, UserKnownHostsFile and ProxyJump (jump hosts) from ~/.ssh/config
(or the inventory's ssh_config:), the inventory's own values first; a --target
that is a Host of it needs no inventory entry.

` + exitCodesHelp,
		Example: `  # No firewall at hand: the demo target is a simulated firewall
  runbook run phase2-down --target demo --yes

  # Both ends of the demo's tunnel as one case folder, sampled together,
  # the findings across the ends first
  runbook run phase2-down -t demo -t demo-peer --yes

  # A real firewall, parameters on the command line (needs: fw1 in an inventory)
  runbook run phase2-down -t fw1 -p tunnel=sap-sap -p gateway=gw-sap \
      -p peer_ip=10.1.1.1 -p local_ip=10.1.1.2

  # Both ends of the tunnel at once (a group), bundled for the case
  # (needs: the group sap-vpn in an inventory)
  runbook run phase1-down -t sap-vpn -p gateway=gw-sap -p peer_ip=10.1.1.1 \
      -p local_ip=10.1.1.2 --bundle

  # For cron or monitoring: exit 5 when a critical finding fired (needs: fw1 in an inventory)
  runbook run phase2-down -t fw1 -p tunnel=sap-sap -p gateway=gw-sap \
      -p peer_ip=10.1.1.1 -p local_ip=10.1.1.2 --yes --fail-on critical

  # See every command, its undo and the cleanup plan first; nothing is sent
  runbook run phase2-down --target demo --dry-run

  # Replay a recorded session instead of connecting
  runbook run phase2-down -t fw1 --replay examples/cassettes/phase2-down.yaml --yes`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("run: want exactly one PLAYBOOK, got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Playbook = args[0]
			return runRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Targets, "target", "t", nil, "target or group name from the inventory, or a Host of ~/.ssh/config (repeatable); demo and demo-peer need no inventory")
	f.StringVarP(&opts.Inventory, "inventory", "i", "", "inventory file")
	f.StringArrayVarP(&opts.Params, "param", "p", nil, "playbook parameter KEY=VALUE (repeatable)")
	f.StringVarP(&opts.Out, "out", "o", "runs", "folder the run folders are written under")
	f.BoolVar(&opts.Yes, "yes", false, "accept the warnings and continue at every prompt")
	f.StringVar(&opts.Replay, "replay", "", "replay this recorded cassette instead of connecting (nothing is sent)")
	f.Float64Var(&opts.Pace, "pace", 0, "replay in real time at this multiple of the recorded pace (1 = as recorded); 0 replays at once")
	f.DurationVar(&opts.Timeout, "timeout", 0, "bound the whole run (e.g. 30m); cleanup still runs")
	f.IntVar(&opts.Parallel, "parallel", 10, "at most this many targets at once")
	f.BoolVar(&opts.Bundle, "bundle", false, "also write each run folder as a .tar.gz")
	f.StringVar(&opts.Record, "record", "", "record the session into this cassette (redacted; see docs/testing-playbooks.md)")
	f.StringArrayVar(&opts.Redact, "redact", nil, "with --record, also replace matches of REGEX by NAME-1, NAME-2, ... (NAME=REGEX, repeatable)")
	f.BoolVar(&opts.AcceptNewHostKey, "accept-new-host-key", false, "add an unknown SSH host key to known_hosts (a changed key is always refused)")
	f.StringVar(&opts.FailOn, "fail-on", "", "exit 5 when a finding of this severity or worse fired: critical or warning")
	f.StringVar(&opts.SessionLog, "session-log", "", "write the raw transcript of each session (SSH bytes, XML API requests and answers), secrets redacted, to FILE (several targets: FILE-TARGET)")
	f.BoolVar(&opts.ScpAcceptNewHostKey, "scp-accept-new-host-key", false, "let the firewall trust the SSH host key of an scp export destination it has not seen (answer yes to its question); without it that export fails")
	f.BoolVar(&opts.DryRun, "dry-run", false, "check the input as a run does and print every command with its values, the undo of each, the cleanup plan, the prompts and the exports; connect to nothing, send nothing")
	f.StringVar(&opts.Output, "output", outputInterleaved, "with several targets: interleaved (each line prefixed with its target, as it happens) or grouped (each target's output as one block when it ends)")
	f.BoolVar(&opts.JSON, "json", false, "print the run's events as NDJSON on stdout, human output on stderr (docs/events.md); with --dry-run, the plan as one JSON document")
	completeRunFlags(cmd, io)
	return cmd
}

// target is one resolved target and how to open it.
type target struct {
	t      transports.Target
	params map[string]string // supplied by a demo target
	dial   transports.Dialer
}

func runRun(ctx context.Context, opts *runOptions) error {
	io := opts.io
	if len(opts.Targets) == 0 {
		return usageError{errors.New("run: --target is required (try --target demo)")}
	}
	if opts.Parallel < 1 {
		return usageError{errors.New("run: --parallel must be at least 1")}
	}
	if opts.Pace < 0 {
		return usageError{errors.New("run: --pace must not be negative")}
	}
	if opts.Timeout < 0 {
		return usageError{errors.New("run: --timeout must be positive")}
	}
	switch playbook.Severity(opts.FailOn) {
	case "", playbook.SeverityCritical, playbook.SeverityWarning:
	default:
		return usageError{fmt.Errorf("run: --fail-on %q: want critical or warning", opts.FailOn)}
	}
	if opts.Output == "" {
		opts.Output = outputInterleaved
	}
	if opts.Output != outputInterleaved && opts.Output != outputGrouped {
		return usageError{fmt.Errorf("run: --output %q: want interleaved or grouped", opts.Output)}
	}
	if opts.Record != "" && len(opts.Targets) > 1 {
		return usageError{errors.New("run: --record takes a single target")}
	}
	in, err := checkRun(ctx, opts)
	if in != nil && in.demoDevs != nil {
		defer in.demoDevs.stop()
		defer in.demoDevs.report(io.ErrOut)
	}
	if err != nil {
		return err
	}
	if opts.DryRun {
		return dryRun(opts, in)
	}
	pb, source, given, targets, bound := in.pb, in.source, in.given, in.targets, in.bound
	redactor, prompter, resolver := in.redactor, in.prompter, in.resolver
	rec, err := startRecording(opts, pb, targets[0], given, redactor)
	if err != nil {
		return err
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.t.Name
	}
	logs, err := openSessionLogs(opts.SessionLog, names, redactor.String)
	if err != nil {
		rec.discard()
		return &exitError{code: exitInvalid, err: err}
	}
	defer logs.close()

	multi := len(targets) > 1
	runs := &fleet.Fleet{Parallel: opts.Parallel}
	if multi {
		runs.Retry = fleet.DefaultRetry
	}
	var groups []*groupedOutput
	var blockMu sync.Mutex
	// Several targets are one case: their run folders go into one case
	// folder, which gets its own summary (runcase).
	outDir, caseDir, caseStart := opts.Out, "", time.Now()
	if multi {
		if caseDir, err = runcase.NewDir(opts.Out, pb.Name, caseStart); err != nil {
			rec.discard()
			return &exitError{code: exitInvalid, err: fmt.Errorf("case folder: %w", err)}
		}
		outDir = caseDir
	}
	// The ends of a case sample together: their repeated steps and
	// waits start at once, their prompts are asked once (fleet.Sync).
	var meet *fleet.Sync
	if multi && pb.Case != nil && len(targets) >= len(pb.Case.Ends) {
		meet = fleet.NewSync(pb, names[:len(pb.Case.Ends)])
	}
	restore := watchSignals(runs.Pending)
	defer restore()
	var stream *observe.JSON
	if opts.JSON {
		stream = observe.NewJSON(io.Out)
	}
	for i, t := range targets {
		out := io.ErrOut
		var group *groupedOutput
		switch {
		case multi && opts.Output == outputGrouped:
			group = &groupedOutput{mu: &blockMu, w: io.ErrOut}
			fmt.Fprintf(group, "=== %s ===\n", t.t.Name)
			groups = append(groups, group)
			out = group
		case multi:
			out = &prefixWriter{w: io.ErrOut, prefix: t.t.Name + " | "}
		}
		eo := engine.Options{
			// The run folder, and report.html rendered from its redacted
			// manifest.json, never from memory.
			Folder:    runfolder.Options{Render: report.WriteDir}.Maker(),
			Playbook:  pb,
			Source:    source,
			Params:    bound[i],
			Target:    t.t.Name,
			Transport: t.t.Transport,
			Secrets:   resolver,
			OutDir:    outDir,
			Yes:       opts.Yes,
			Observer:  observers(observe.NewText(out, io.IsTerminal && !multi), stream, group),
			Timeout:   opts.Timeout,
			FailOn:    playbook.Severity(opts.FailOn),

			ScpAcceptNewHostKey: opts.ScpAcceptNewHostKey,
		}
		if io.IsTerminal {
			eo.Prompter = prompter
		}
		if meet != nil && i < meet.Len() {
			eo.Sync = meet.End(i)
		}
		tt, dial := t.t, t.dial
		do := transports.DialOptions{Resolve: resolver.Resolve, AcceptNewHostKey: opts.AcceptNewHostKey, Warn: out, Redact: redactor.String, Secret: redactor.Add, SessionLog: logs.tap(tt.Name)}
		eo.Cassette = tt.Cassette
		eo.SessionLog = logs.path(tt.Name)
		eo.Open = func(ctx context.Context) (transports.Transport, error) {
			return dial(ctx, tt, do)
		}
		eo.Open = rec.open(eo.Open)
		// Every target is checked before any starts: nothing is sent
		// unless all of them can run.
		r, err := runs.Add(eo)
		if err != nil {
			rec.discard()
			return &exitError{code: exitInvalid, err: err}
		}
		rec.attach(r)
	}
	results := runs.Run(ctx)
	for _, g := range groups {
		g.flush() // a run that ended before its first event
	}
	_ = rec.finish(io.ErrOut)
	if err := logs.close(); err != nil {
		fmt.Fprintf(io.ErrOut, "runbook: session log: %v\n", err)
	}

	for i, res := range results {
		if res.Err != nil {
			fmt.Fprintf(io.ErrOut, "runbook: %s: %v\n", targets[i].t.Name, redactor.String(res.Err.Error()))
		}
		if opts.Bundle && res.Dir != "" {
			if p, err := runfolder.Bundle(res.Dir); err != nil {
				fmt.Fprintf(io.ErrOut, "runbook: bundle %s: %v\n", res.Dir, err)
			} else {
				fmt.Fprintf(io.ErrOut, "runbook: bundle %s\n", p)
			}
		}
		if res.Dir != "" && !opts.JSON {
			fmt.Fprintln(io.Out, res.Dir)
		}
	}
	worst := fleet.WorstExit(results)
	if multi {
		ts := make([]runcase.Target, len(results))
		for i, res := range results {
			ts[i] = runcase.Target{Name: names[i], Dir: res.Dir, Status: string(res.Status), ExitCode: res.ExitCode}
			if res.Err != nil {
				ts[i].Error = redactor.String(res.Err.Error())
			}
		}
		c, err := runcase.Build(caseDir, pb.Name, caseStart, ts)
		if err != nil {
			fmt.Fprintf(io.ErrOut, "runbook: case %s: %v\n", caseDir, err)
		}
		// The findings across the ends, on each end's state as its run
		// ended; printed before the overview, as the case's diagnosis.
		ends := make([]*engine.EndState, len(results))
		for i, res := range results {
			ends[i] = res.End
		}
		c.Judge(pb.Case, ends, playbook.Severity(opts.FailOn))
		if meet != nil {
			c.Sample(caseDir, meet.Ends(), meet.Meetings())
		}
		worst = engine.WorseExit(worst, c.ExitCode)
		ov := fleet.Summarize(names, results, runs.Retries())
		ov.Worst = worst
		writeCaseFindings(io.ErrOut, c)
		writeOverview(io.ErrOut, ov)
		if err := c.Write(caseDir); err != nil {
			fmt.Fprintf(io.ErrOut, "runbook: case %s: %v\n", caseDir, err)
		}
		fmt.Fprintf(io.ErrOut, "runbook: case %s; summary: %s\n", caseDir, filepath.Join(caseDir, "summary.md"))
		if !opts.JSON {
			fmt.Fprintln(io.Out, caseDir)
		}
	}
	if worst == exitOK {
		return nil
	}
	return &exitError{code: worst}
}

// observers fans out to the terminal printer, with --json the stream, and
// with --output grouped the block that flushes when the run ends.
func observers(text *observe.Text, stream *observe.JSON, group *groupedOutput) engine.Observer {
	if stream == nil && group == nil {
		return text
	}
	obs := engine.Observers{text}
	if stream != nil {
		obs = append(obs, stream)
	}
	if group != nil {
		obs = append(obs, group)
	}
	return obs
}

// runInput is what run has checked before any folder exists or anything
// is sent: the playbook, the targets, each target's bound parameters and
// the secrets the targets read from the environment and files.
type runInput struct {
	pb      *playbook.Playbook
	source  string
	given   map[string]string
	targets []target
	// demoDevs are the built-in simulators started (demo, demo-peer).
	demoDevs demoDevices
	bound    []map[string]any
	// from says, per target, where each parameter came from: given
	// (--param) or target; default otherwise.
	from     []map[string]string
	redactor *secret.Redactor
	prompter *terminalPrompter
	resolver *secret.Resolver
}

// checkRun checks the input of a run, a dry run the same: the playbook
// loads, every target resolves, each target's params bind (Playbook.Bind,
// its bounds included) and the env: and file: secrets are readable. Every
// error is exit 2. The demo devices it may start are in the result, error
// or not, for the caller to stop.
func checkRun(ctx context.Context, opts *runOptions) (*runInput, error) {
	io := opts.io
	pb, source, err := resolvePlaybook(opts.Playbook)
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: err}
	}
	fmt.Fprintf(io.ErrOut, "runbook: using %s\n", source)
	given, err := parseParamFlags(opts.Params)
	if err != nil {
		return nil, usageError{err}
	}
	targets, demoDevs, err := resolveTargets(ctx, opts, pb)
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: err}
	}
	in := &runInput{pb: pb, source: source, given: given, targets: targets, demoDevs: demoDevs}
	// Bind every target's parameters before anything is sent.
	in.bound = make([]map[string]any, len(targets))
	in.from = make([]map[string]string, len(targets))
	for i, t := range targets {
		p, from := map[string]string{}, map[string]string{}
		for k, v := range t.params {
			if pb.Param(k) != nil {
				p[k], from[k] = v, "target"
			}
		}
		for k, v := range given {
			p[k], from[k] = v, "given"
		}
		if in.bound[i], err = pb.Bind(p); err != nil {
			return in, &exitError{code: exitInvalid, err: fmt.Errorf("%s: %w", pb.Name, err)}
		}
		in.from[i] = from
	}
	in.redactor = &secret.Redactor{}
	in.prompter = newTerminalPrompter(io)
	in.resolver = &secret.Resolver{Redactor: in.redactor, Getenv: io.Getenv, Prompt: in.prompter.secret}
	// Every env: and file: secret the targets name is read now: one that
	// is missing is an input error, before any folder or connection.
	for _, t := range targets {
		if err := readSecrets(ctx, in.resolver, t.t); err != nil {
			return in, &exitError{code: exitInvalid, err: err}
		}
	}
	return in, nil
}

func parseParamFlags(ps []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range ps {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("run: --param %q: want KEY=VALUE", p)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("run: --param %s given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// resolveTargets turns --target names (and groups) into targets.
func resolveTargets(ctx context.Context, opts *runOptions, pb *playbook.Playbook) (_ []target, demoDevs demoDevices, err error) {
	reg := registry()
	var inv *inventory.Inventory
	needInv := false
	for _, n := range opts.Targets {
		if !isDemo(n) {
			needInv = true
		}
	}
	path, ferr := inventory.Find(opts.Inventory, opts.io.Getenv)
	if ferr == nil {
		if inv, err = loadInventory(path); err != nil {
			return nil, nil, err
		}
	} else if needInv && opts.Replay == "" {
		// No inventory file: a --target may still be a Host of
		// ~/.ssh/config.
		solo, err := inventory.SSHConfigOnly()
		if err != nil {
			return nil, nil, err
		}
		for _, n := range opts.Targets {
			if !isDemo(n) && !solo.IsAlias(n) {
				return nil, nil, ferr
			}
		}
		inv = solo
	}
	defer func() {
		if err != nil && demoDevs != nil {
			demoDevs.stop()
			demoDevs = nil
		}
	}()
	var out []target
	seen := map[string]bool{}
	for _, n := range opts.Targets {
		var ts []transports.Target
		switch {
		case inv != nil && (inv.Targets[n].Name != "" || inv.Groups[n] != nil || inv.IsAlias(n)):
			if ts, err = inv.Resolve([]string{n}); err != nil {
				return nil, nil, err
			}
		case isDemo(n) && opts.Replay == "" && opts.DryRun:
			// A dry run starts no simulator: the target as it would be.
			ts = []transports.Target{demoPlanTarget(n)}
		case isDemo(n) && opts.Replay == "":
			d := demoDevs.find(n)
			if d == nil {
				if d, err = startDemo(ctx, n, pb); err != nil {
					return nil, nil, err
				}
				demoDevs = append(demoDevs, d)
			}
			ts = []transports.Target{d.target}
		case opts.Replay != "":
			ts = []transports.Target{{Name: n}}
		case inv == nil:
			return nil, nil, ferr
		default:
			_, err = inv.Resolve([]string{n})
			return nil, nil, err
		}
		for _, t := range ts {
			if seen[t.Name] {
				continue
			}
			seen[t.Name] = true
			if opts.Replay != "" {
				t.Transport, t.Cassette = "replay", opts.Replay
			}
			d, ok := reg[t.Transport]
			if !ok {
				return nil, nil, fmt.Errorf("target %s: transport %q is not available", t.Name, t.Transport)
			}
			params := t.Params
			if t.Transport == "replay" {
				cas, err := checkCassette(t.Cassette, pb)
				if err != nil {
					return nil, nil, fmt.Errorf("target %s: %w", t.Name, err)
				}
				params = replayParams(cas.Params, t.Params)
				d = openedDialer(cas, replay.Strict, opts.Pace)
			}
			out = append(out, target{t: t, params: params, dial: d})
		}
	}
	return out, demoDevs, nil
}

// prefixWriter prefixes each line, for several targets sharing a terminal.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var sb strings.Builder
	for _, c := range string(b) {
		if !p.mid {
			sb.WriteString(p.prefix)
			p.mid = true
		}
		sb.WriteRune(c)
		if c == '\n' {
			p.mid = false
		}
	}
	_, err := io.WriteString(p.w, sb.String())
	return len(b), err
}

// checkCassette checks a cassette to replay as runbook test does: it loads,
// and it records the playbook being run.
func checkCassette(path string, pb *playbook.Playbook) (*replay.Cassette, error) {
	cas, err := replay.Open(path)
	if err != nil {
		return nil, err
	}
	switch cas.Playbook {
	case "":
		return nil, fmt.Errorf("cassette %s: no `playbook:` in its header: cannot tell which playbook it records", path)
	case pb.Name:
		return cas, nil
	}
	return nil, fmt.Errorf("cassette %s records playbook %q, not %q", path, cas.Playbook, pb.Name)
}

// replayParams are the parameters a replay target supplies: those the
// cassette was recorded with (a replay can only answer what was
// recorded), under the target's own from the inventory. --param wins over
// both.
func replayParams(recorded, target map[string]string) map[string]string {
	out := make(map[string]string, len(recorded)+len(target))
	for k, v := range recorded {
		out[k] = v
	}
	for k, v := range target {
		out[k] = v
	}
	return out
}

// readSecrets resolves the env: and file: secrets of t (prompts are asked
// when the target is opened), so one that is unset fails before anything
// starts. The resolver keeps the values for the dial.
func readSecrets(ctx context.Context, rs *secret.Resolver, t transports.Target) error {
	if t.Transport == "replay" {
		return nil
	}
	if t.Panorama != nil {
		t = *t.Panorama // reached through it, with its credentials
	}
	for _, s := range []struct {
		key string
		ref secret.Ref
	}{{"password", t.Password}, {"passphrase", t.Passphrase}, {"api_key", t.APIKey}} {
		if s.ref.Kind != "env" && s.ref.Kind != "file" {
			continue
		}
		if _, err := rs.Resolve(ctx, s.ref); err != nil {
			return fmt.Errorf("target %s: %s: %w", t.Name, s.key, err)
		}
	}
	return nil
}
