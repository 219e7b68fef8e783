package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	xssh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/sim"
)

// simOptions are the flags of `runbook sim`.
type simOptions struct {
	SSHAddr     string
	Scenario    string
	User        string
	PasswordEnv string
	Hostname    string
	Latency     time.Duration
	Seed        int64
	Banner      bool
	Faults      sim.Faults
	API         simAPIOptions // sim_api.go
}

func newSimCmd(ios *IOStreams) *cobra.Command {
	opts := simOptions{}
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve a simulated PAN-OS firewall for demos and playbook authors",
		Long: `Serve a simulated PAN-OS firewall until Ctrl-C, then print every command it
received with the debug state after it.

The simulator answers every command of the built-in playbooks with realistic
output; the scenario chooses what is broken. Its topology (tunnel sap-sap,
gateway sap, peer 10.1.1.1, local 10.1.1.2, virtual router default) matches the
demo target's parameters.

The password is read from the environment variable named by --password-env;
when it is unset the password is "admin".

` + exitHelp("sim"),
		Example: `  # Each serves until Ctrl-C (needs: a terminal of its own and free ports)
  runbook sim --ssh 127.0.0.1:2222
  RUNBOOK_SIM_PASSWORD=s3cret runbook sim --ssh 127.0.0.1:2222 --scenario phase2-down
  runbook sim --ssh 127.0.0.1:2222 --api 127.0.0.1:8443
  runbook sim --ssh 127.0.0.1:2222 --panorama 127.0.0.1:9443
  runbook sim --ssh 127.0.0.1:2222 --mgmt-cpu 92 --drop-after 12

  # From another terminal (needs: the simulator above running)
  ssh -p 2222 admin@127.0.0.1`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runSim(c.Context(), ios, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.SSHAddr, "ssh", "", "serve the CLI over SSH on this address (e.g. 127.0.0.1:2222)")
	f.StringVar(&opts.Scenario, "scenario", string(sim.Healthy), "what is broken: healthy, phase1-down, phase2-down, no-traffic, no-encap, idle, performance")
	f.StringVar(&opts.User, "user", "admin", "the account to log in with")
	f.StringVar(&opts.PasswordEnv, "password-env", "RUNBOOK_SIM_PASSWORD", "environment variable holding the password")
	f.StringVar(&opts.Hostname, "hostname", "pa-sim", "the device's hostname (shown in the prompt)")
	f.DurationVar(&opts.Latency, "latency", 0, "delay added to every command's answer")
	f.Int64Var(&opts.Seed, "seed", 1, "seed for counter movement")
	f.BoolVar(&opts.Banner, "banner", false, "ask the login-banner question before the password, as PAN-OS does")
	f.IntVar(&opts.Faults.DropAfter, "drop-after", 0, "fault: drop the connection when command N+1 arrives (once)")
	f.IntVar(&opts.Faults.StopReadingAfter, "stop-reading-after", 0, "fault: over SSH, stop reading what is typed once command N was answered (once): the session stays open, the client's writes fill the channel's window and block")
	f.StringVar(&opts.Faults.AskOn, "ask-on", "", "fault: commands starting with this ask an unexpected (y or n) question")
	f.StringVar(&opts.Faults.SlowOn, "slow-on", "", "fault: commands starting with this answer after --slow-by")
	f.DurationVar(&opts.Faults.SlowBy, "slow-by", 5*time.Second, "how slow --slow-on commands are")
	f.BoolVar(&opts.Faults.AuthErrors, "auth-errors", false, "fault: the tunnel's authentication and decryption errors rise")
	f.BoolVar(&opts.Faults.ReplayDrops, "replay-drops", false, "fault: the tunnel's replay drops rise")
	f.IntVar(&opts.Faults.ResourcePct, "resource-pct", 0, "fault: packet buffer and descriptor use, in percent")
	f.IntVar(&opts.Faults.MgmtCPU, "mgmt-cpu", 0, "fault: management-plane CPU busy, in percent")
	addSimAPIFlags(f, &opts.API)
	return cmd
}

// simServer is one protocol the simulator serves; add one per flag.
type simServer struct {
	name  string
	addr  string
	serve func(ctx context.Context, ln net.Listener) error
	info  string
}

func runSim(ctx context.Context, ios *IOStreams, opts simOptions) error {
	sc, err := sim.ParseScenario(opts.Scenario)
	if err != nil {
		return usageError{err}
	}
	if opts.Latency < 0 {
		return usageError{errors.New("sim: --latency must not be negative")}
	}
	if opts.Faults.DropAfter < 0 || opts.Faults.ResourcePct < 0 || opts.Faults.ResourcePct > 100 || opts.Faults.MgmtCPU < 0 || opts.Faults.MgmtCPU > 100 {
		return usageError{errors.New("sim: --drop-after must not be negative; --resource-pct and --mgmt-cpu are percentages (0-100)")}
	}
	password := ""
	if opts.PasswordEnv != "" && ios.Getenv != nil {
		password = ios.Getenv(opts.PasswordEnv)
	}
	pwNote := "from $" + opts.PasswordEnv
	if password == "" {
		password, pwNote = "admin", "admin ($"+opts.PasswordEnv+" is unset)"
	}
	dev := sim.NewDevice(sim.Options{Hostname: opts.Hostname, Scenario: sc, Latency: opts.Latency, Seed: opts.Seed, Faults: opts.Faults})

	var servers []simServer
	if opts.SSHAddr != "" {
		cfg := sim.SSHConfig{User: opts.User, Password: password, AckBanner: opts.Banner}
		if opts.Banner {
			cfg.Banner = "This is a simulated PAN-OS firewall (runbook sim).\n"
		}
		srv, err := sim.NewSSHServer(dev, cfg)
		if err != nil {
			return err
		}
		servers = append(servers, simServer{name: "ssh", addr: opts.SSHAddr, serve: srv.Serve,
			info: fmt.Sprintf("user %s, password %s, host key %s", opts.User, pwNote, xssh.FingerprintSHA256(srv.HostKey()))})
	}
	if opts.API.Addr != "" {
		s, err := simAPIServer(dev, opts.API, opts.User, password, pwNote)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	if opts.API.Panorama != "" {
		s, err := simPanoramaServer(dev, opts.API, opts.User, password, pwNote)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	if len(servers) == 0 {
		return usageError{errors.New("sim: nothing to serve: give --ssh ADDR, --api ADDR and/or --panorama ADDR")}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, s := range servers {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			cancel()
			wg.Wait()
			return &exitError{code: exitConnect, err: fmt.Errorf("sim: %s: %w", s.name, err)}
		}
		fmt.Fprintf(ios.Out, "%s: listening on %s (%s)\n", s.name, ln.Addr(), s.info)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.serve(ctx, ln)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	t := dev.Topology()
	fmt.Fprintf(ios.Out, "scenario %s; tunnel %s (id %d), gateway %s, local %s, peer %s, virtual-router %s\n",
		sc, t.Tunnel, t.TunnelID, t.Gateway, t.LocalIP, t.PeerIP, t.VirtualRouter)
	fmt.Fprintln(ios.Out, "press Ctrl-C to stop")
	<-ctx.Done()
	wg.Wait()
	printSimLog(ios.Out, dev)
	return errors.Join(errs...)
}

// printSimLog writes the device's command log and whether it was left
// clean.
func printSimLog(w io.Writer, dev *sim.Device) {
	log := dev.Log()
	fmt.Fprintf(w, "\n%d commands received:\n", len(log))
	for _, e := range log {
		var on []string
		for k, v := range e.Debug {
			if k == sim.SwIKEGlobal && v == "normal" || k == sim.SwMprelay && v == "info" || v == "off" {
				continue
			}
			on = append(on, k+"="+v)
		}
		sort.Strings(on)
		status := ""
		if e.Err != "" {
			status = "  [" + strings.SplitN(e.Err, "\n", 2)[0] + "]"
		}
		debug := ""
		if len(on) > 0 {
			debug = "  {" + strings.Join(on, " ") + "}"
		}
		fmt.Fprintf(w, "%4d %s %-10s %s%s%s\n", e.Seq, e.Time.UTC().Format("15:04:05"), e.Via, e.CLI, status, debug)
	}
	if ok, on := dev.Clean(); ok {
		fmt.Fprintln(w, "device left clean: every debug switch is back to its default")
	} else {
		fmt.Fprintf(w, "device NOT clean: %s\n", strings.Join(on, ", "))
	}
}
