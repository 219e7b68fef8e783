package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/runbook-dev/runbook/transports"
)

// hop is one jump host (OpenSSH's ProxyJump) with its own login and
// host-key check.
type hop struct {
	name string // as the inventory or ssh_config names it
	addr string // host:port
	auth *auth
	ccfg *xssh.ClientConfig
}

// newHop prepares the login to jump host j. Its credentials are its own:
// a key file, the agent, or a password reference the inventory gave it;
// never the firewall's.
func newHop(ctx context.Context, j transports.Target, o transports.DialOptions, timeout time.Duration) (*hop, error) {
	name := j.Name
	if name == "" {
		name = j.Host
	}
	port := j.Port
	if port == 0 {
		port = 22
	}
	khPath, err := knownHostsPath(j)
	if err != nil {
		return nil, fmt.Errorf("jump host %s: %w", name, err)
	}
	a, err := buildJumpAuth(ctx, j, o)
	if err != nil {
		return nil, fmt.Errorf("jump host %s: %w", name, err)
	}
	return &hop{
		name: name,
		addr: net.JoinHostPort(j.Host, strconv.Itoa(port)),
		auth: a,
		ccfg: &xssh.ClientConfig{
			User:            a.user,
			Auth:            a.methods,
			HostKeyCallback: hostKeyCallback(khPath, o.AcceptNewHostKey),
			Timeout:         timeout,
		},
	}, nil
}

// dialChain opens a connection to addr, through the jump hosts in order:
// TCP to the first, SSH to it (its host key checked, its own login), then
// a direct-tcpip channel from each to the next (client.DialContext), the
// last one to addr. The whole chain is bounded by ctx: when ctx ends
// before stop is called, every connection of the chain is closed. Closing
// the returned conn closes the jump hosts' clients too, last first.
func dialChain(ctx context.Context, jumps []*hop, addr string) (_ net.Conn, stop func() bool, err error) {
	var mu sync.Mutex
	var open []io.Closer // every conn and client of the chain, in order
	closeAll := func() {
		mu.Lock()
		defer mu.Unlock()
		for i := len(open) - 1; i >= 0; i-- {
			open[i].Close()
		}
		open = nil
	}
	track := func(c io.Closer) {
		mu.Lock()
		defer mu.Unlock()
		open = append(open, c)
	}
	unwatch := context.AfterFunc(ctx, closeAll)
	defer func() {
		if err != nil {
			unwatch()
			closeAll()
		}
	}()
	var clients []*xssh.Client
	dial := func(a string) (net.Conn, error) {
		if len(clients) == 0 {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", a)
		}
		return clients[len(clients)-1].DialContext(ctx, "tcp", a)
	}
	for _, h := range jumps {
		nc, err := dial(h.addr)
		if err != nil {
			return nil, nil, hopError(ctx, h, err)
		}
		track(nc)
		if dl, ok := ctx.Deadline(); ok {
			nc.SetDeadline(dl)
		}
		cc, chans, reqs, err := xssh.NewClientConn(nc, h.addr, h.ccfg)
		if err != nil {
			return nil, nil, hopError(ctx, h, err)
		}
		nc.SetDeadline(time.Time{})
		cl := xssh.NewClient(cc, chans, reqs)
		track(cl)
		clients = append(clients, cl)
	}
	nc, err := dial(addr)
	if err != nil {
		if len(jumps) > 0 {
			last := jumps[len(jumps)-1]
			return nil, nil, fmt.Errorf("jump host %s: forwarding to %s: %w", last.name, addr, err)
		}
		return nil, nil, err
	}
	// Tracked even without jump hosts: until stop, ctx bounds the login
	// after the handshake too (opening the session, the PTY and shell
	// requests wait for answers a hung device never sends).
	track(nc)
	if len(clients) == 0 {
		return nc, unwatch, nil
	}
	return &chainConn{Conn: nc, jumps: clients}, unwatch, nil
}

// hopError names the jump host a failure happened at.
func hopError(ctx context.Context, h *hop, err error) error {
	if ctx.Err() != nil && !errors.As(err, new(*HostKeyError)) {
		err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	return fmt.Errorf("jump host %s (%s): %w", h.name, h.addr, err)
}

// chainConn is the connection to the target through jump hosts: closing
// it closes the jump hosts' clients as well, the last first.
type chainConn struct {
	net.Conn
	jumps []*xssh.Client
	once  sync.Once
}

func (c *chainConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		for i := len(c.jumps) - 1; i >= 0; i-- {
			c.jumps[i].Close()
		}
	})
	return err
}
