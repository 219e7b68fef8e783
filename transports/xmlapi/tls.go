package xmlapi

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/runbook-dev/runbook/transports"
)

// ErrBadFingerprint is wrapped by errors for a tls.fingerprint that is not
// "sha256:" and 64 hex digits (colons allowed).
var ErrBadFingerprint = errors.New("tls.fingerprint must be sha256: and 64 hex digits")

// CertError is a server certificate the TLS policy does not trust. Its
// message gives the certificate's fingerprint and the inventory line that
// would pin it.
type CertError struct {
	Target      string
	Fingerprint string // sha256:<64 lower-case hex>
	Pinned      bool   // a different fingerprint was pinned
	Err         error  // the verification failure, nil when Pinned
}

func (e *CertError) Error() string {
	if e.Pinned {
		return fmt.Sprintf("tls %s: certificate %s does not match the pinned tls.fingerprint", e.Target, e.Fingerprint)
	}
	return fmt.Sprintf("tls %s: certificate not trusted (%v); its fingerprint is %s: if you trust it, add to the target's tls settings: tls.fingerprint: %s",
		e.Target, e.Err, e.Fingerprint, e.Fingerprint)
}

func (e *CertError) Unwrap() error { return e.Err }

// Fingerprint returns the SHA-256 fingerprint of a DER certificate in the
// form tls.fingerprint takes: "sha256:" and 64 lower-case hex digits.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseFingerprint reads "sha256:<hex>", hex digits in either case,
// optionally separated by colons, and returns the 32 bytes.
func ParseFingerprint(s string) ([]byte, error) {
	h, ok := strings.CutPrefix(strings.TrimSpace(s), "sha256:")
	if !ok {
		if h, ok = strings.CutPrefix(strings.TrimSpace(s), "SHA256:"); !ok {
			return nil, ErrBadFingerprint
		}
	}
	h = strings.ReplaceAll(h, ":", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return nil, ErrBadFingerprint
	}
	return b, nil
}

// tlsConfig builds the certificate policy of a target. Chain verification
// is done in VerifyConnection, so that a refusal can name the fingerprint;
// crypto/tls's own verification is therefore switched off, and
// VerifyConnection is what decides.
func tlsConfig(t transports.Target, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if t.TLS.InsecureSkipVerify {
		cfg.InsecureSkipVerify = true
		return cfg, nil
	}
	var pin []byte
	if t.TLS.Fingerprint != "" {
		var err error
		if pin, err = ParseFingerprint(t.TLS.Fingerprint); err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
	}
	var roots *x509.CertPool // nil: the system roots
	if t.TLS.CAFile != "" {
		pem, err := os.ReadFile(t.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("target %s: tls.ca_file: %w", t.Name, err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("target %s: tls.ca_file %s: no PEM certificate in it", t.Name, t.TLS.CAFile)
		}
	}
	cfg.InsecureSkipVerify = true // VerifyConnection below does the checking
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("tls %s: server sent no certificate", t.Name)
		}
		leaf := cs.PeerCertificates[0]
		fp := Fingerprint(leaf.Raw)
		if pin != nil {
			sum := sha256.Sum256(leaf.Raw)
			if string(sum[:]) != string(pin) {
				return &CertError{Target: t.Name, Fingerprint: fp, Pinned: true}
			}
			return nil
		}
		opts := x509.VerifyOptions{Roots: roots, DNSName: serverName, Intermediates: x509.NewCertPool()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := leaf.Verify(opts); err != nil {
			return &CertError{Target: t.Name, Fingerprint: fp, Err: err}
		}
		return nil
	}
	return cfg, nil
}
