package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"

	xssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/transports"
)

// Host-key failures, matched with errors.Is. Both are wrapped in a
// *HostKeyError that carries the fingerprint and the known_hosts line.
var (
	// ErrHostKeyUnknown: the host is not in known_hosts.
	ErrHostKeyUnknown = errors.New("host key unknown")
	// ErrHostKeyChanged: known_hosts has a different key for the host.
	// This is never accepted.
	ErrHostKeyChanged = errors.New("host key changed")
)

// HostKeyError is a host key that known_hosts does not vouch for.
type HostKeyError struct {
	Host        string // as known_hosts names it: host or [host]:port
	Fingerprint string // SHA256:...
	Line        string // the known_hosts line that would trust this key
	KnownHosts  string // the file checked
	Err         error  // ErrHostKeyUnknown or ErrHostKeyChanged
}

func (e *HostKeyError) Error() string {
	if errors.Is(e.Err, ErrHostKeyChanged) {
		return fmt.Sprintf("host key for %s changed (now %s): possible man-in-the-middle; refusing (fix %s by hand if the change is expected)",
			e.Host, e.Fingerprint, e.KnownHosts)
	}
	return fmt.Sprintf("host key for %s unknown (%s): add this line to %s, or run with --accept-new-host-key:\n%s",
		e.Host, e.Fingerprint, e.KnownHosts, e.Line)
}

func (e *HostKeyError) Unwrap() error { return e.Err }

// knownHostsPath returns the known_hosts file for t.
func knownHostsPath(t transports.Target) (string, error) {
	p := t.KnownHosts
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("known_hosts: %w", err)
		}
		return filepath.Join(home, ".ssh", "known_hosts"), nil
	}
	if strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("known_hosts: %w", err)
		}
		p = filepath.Join(home, p[2:])
	}
	return p, nil
}

// knownHostsMu serialises appends to known_hosts files in this process.
var knownHostsMu sync.Mutex

// hostKeyCallback checks keys against path; acceptNew appends unknown ones.
func hostKeyCallback(path string, acceptNew bool) xssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key xssh.PublicKey) error {
		knownHostsMu.Lock()
		defer knownHostsMu.Unlock()
		host := knownhosts.Normalize(hostname)
		line := knownhosts.Line([]string{host}, key)
		mk := func(err error) error {
			return &HostKeyError{Host: host, Fingerprint: xssh.FingerprintSHA256(key), Line: line, KnownHosts: path, Err: err}
		}
		var err error
		if _, statErr := os.Stat(path); statErr == nil {
			cb, perr := knownhosts.New(path)
			if perr != nil {
				return fmt.Errorf("known_hosts %s: %w", path, perr)
			}
			err = cb(hostname, remote, key)
			if err == nil {
				return nil
			}
		} else if !errors.Is(statErr, os.ErrNotExist) {
			return fmt.Errorf("known_hosts: %w", statErr)
		}
		var ke *knownhosts.KeyError
		if err != nil && !errors.As(err, &ke) {
			return fmt.Errorf("known_hosts %s: %w", path, err)
		}
		if ke != nil && len(ke.Want) > 0 {
			return mk(ErrHostKeyChanged)
		}
		if !acceptNew {
			return mk(ErrHostKeyUnknown)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("known_hosts: %w", err)
		}
		f, ferr := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if ferr != nil {
			return fmt.Errorf("known_hosts: %w", ferr)
		}
		_, werr := fmt.Fprintln(f, line)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("known_hosts: add %s: %w", host, werr)
		}
		return nil
	}
}

// keyLockedError is an encrypted key with no passphrase to open it.
type keyLockedError struct{ file string }

func (e *keyLockedError) Error() string {
	return fmt.Sprintf("key_file %s is encrypted: set passphrase (env:NAME, file:PATH or prompt)", e.file)
}

// auth is what a Client logs in with.
type auth struct {
	user    string
	methods []xssh.AuthMethod
	closers []func() error
}

// getenv is replaced in tests.
var getenv = os.Getenv

// buildAuth resolves the target's credentials into SSH auth methods:
// public keys (key file, agent) first, then password, then
// keyboard-interactive that answers the PAN-OS banner question "yes" and
// the password question with the password.
func buildAuth(ctx context.Context, t transports.Target, o transports.DialOptions) (*auth, error) {
	return buildAuthFor(ctx, t, o, false)
}

// buildJumpAuth is buildAuth for a jump host: as OpenSSH, the user
// defaults to the local user, and neither PANOS_USERNAME nor
// PANOS_PASSWORD (the firewall's) is ever sent to it. An encrypted key
// without a passphrase is skipped when the agent is there to try instead.
func buildJumpAuth(ctx context.Context, t transports.Target, o transports.DialOptions) (*auth, error) {
	return buildAuthFor(ctx, t, o, true)
}

// localUser is the user OpenSSH logs in as when none is given; replaced
// in tests.
var localUser = func() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return getenv("USER")
}

func buildAuthFor(ctx context.Context, t transports.Target, o transports.DialOptions, jump bool) (*auth, error) {
	a := &auth{user: t.User}
	if a.user == "" && jump {
		a.user = localUser()
	}
	if a.user == "" && !jump {
		a.user = getenv("PANOS_USERNAME")
	}
	if a.user == "" {
		return nil, errors.New("no user: set user in the inventory or PANOS_USERNAME")
	}
	resolve := o.Resolve
	if resolve == nil {
		resolve = func(context.Context, secretRef) (string, error) {
			return "", errors.New("no secret resolver")
		}
	}
	var signers []xssh.Signer
	if t.KeyFile != "" {
		s, err := loadKey(ctx, t, resolve)
		switch {
		case err != nil && jump && t.UseAgent && errors.As(err, new(*keyLockedError)):
		case err != nil:
			return nil, err
		default:
			signers = append(signers, s)
		}
	}
	if t.UseAgent {
		sock := getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, errors.New("use_agent: SSH_AUTH_SOCK is not set")
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "unix", sock)
		if err != nil {
			return nil, fmt.Errorf("ssh-agent: %w", err)
		}
		a.closers = append(a.closers, conn.Close)
		ag := agent.NewClient(conn)
		a.methods = append(a.methods, xssh.PublicKeysCallback(func() ([]xssh.Signer, error) {
			agentSigners, err := ag.Signers()
			return append(append([]xssh.Signer{}, signers...), agentSigners...), err
		}))
	} else if len(signers) > 0 {
		a.methods = append(a.methods, xssh.PublicKeys(signers...))
	}
	var pw string
	if !t.Password.IsZero() {
		v, err := resolve(ctx, t.Password)
		if err != nil {
			return nil, fmt.Errorf("password: %w", err)
		}
		pw = v
	} else if t.KeyFile == "" && !t.UseAgent && !jump {
		pw = getenv("PANOS_PASSWORD")
	}
	if pw != "" {
		a.methods = append(a.methods,
			xssh.Password(pw),
			xssh.KeyboardInteractive(func(name, instruction string, questions []string, echos []bool) ([]string, error) {
				ans := make([]string, len(questions))
				for i, q := range questions {
					switch {
					case strings.Contains(q, "Do you accept"):
						ans[i] = "yes"
					case strings.Contains(strings.ToLower(q), "ssword"):
						ans[i] = pw
					default:
						return nil, fmt.Errorf("keyboard-interactive: unexpected question %q", q)
					}
				}
				return ans, nil
			}))
	}
	if len(a.methods) == 0 && jump {
		return nil, errors.New("no credentials: give the jump host an IdentityFile in ssh_config, start ssh-agent, or make it an inventory target with key_file or password")
	}
	if len(a.methods) == 0 {
		return nil, errors.New("no credentials: set password, key_file or use_agent (or PANOS_PASSWORD)")
	}
	return a, nil
}

func loadKey(ctx context.Context, t transports.Target, resolve func(context.Context, secretRef) (string, error)) (xssh.Signer, error) {
	p := t.KeyFile
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[2:])
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("key_file: %w", err)
	}
	s, err := xssh.ParsePrivateKey(b)
	var pm *xssh.PassphraseMissingError
	if errors.As(err, &pm) {
		if t.Passphrase.IsZero() {
			return nil, &keyLockedError{file: t.KeyFile}
		}
		pp, rerr := resolve(ctx, t.Passphrase)
		if rerr != nil {
			return nil, fmt.Errorf("passphrase: %w", rerr)
		}
		s, err = xssh.ParsePrivateKeyWithPassphrase(b, []byte(pp))
		if err != nil {
			// Never echo the passphrase; the library's error does not either.
			return nil, fmt.Errorf("key_file %s: wrong passphrase or bad key", t.KeyFile)
		}
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key_file %s: %w", t.KeyFile, err)
	}
	return s, nil
}
