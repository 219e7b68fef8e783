package sim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// PanoramaConfig configures a simulated Panorama.
type PanoramaConfig struct {
	// User and Password are the account keygen accepts; User defaults to
	// "admin". An empty Password disables keygen.
	User     string
	Password string
	// APIKey, when set, is valid from the start.
	APIKey string
	// Hostname and Serial are the Panorama's own; defaults "pa-panorama"
	// and "000710000001".
	Hostname string
	Serial   string
	// Hosts are extra names for the self-signed certificate.
	Hosts []string
}

// Managed is one firewall a simulated Panorama manages.
type Managed struct {
	Device *Device
	// API configures the firewall's own XML API, which the Panorama
	// forwards to (tech-support size, job polls); its User, Password and
	// APIKey are set by the Panorama.
	API APIConfig
	// IPAddress is its management address in `show devices`; default
	// 192.0.2.10, as its `show system info` says.
	IPAddress string
	// Disconnected lists it with connected=no; a request for it fails.
	Disconnected bool
}

// PanoramaServer serves the XML API of a Panorama over HTTPS: keygen, its
// own `show system info` and `show devices all|connected`, and every
// request carrying target=SERIAL forwarded to that managed firewall's API
// (PAN-OS XML API docs, "Target a firewall through Panorama"), as the
// Panorama's user.
type PanoramaServer struct {
	cfg  PanoramaConfig
	cert tls.Certificate
	fp   string
	keys *keyring // the Panorama's own keys

	// Set by NewPanoramaServer, read only after.
	devices map[string]*managed
	serials []string // in the order given
}

type managed struct {
	Managed
	api *APIServer
	key string // the Panorama's own key on the firewall's API
}

// NewPanoramaServer prepares a Panorama managing the given firewalls, each
// keyed by its serial (Options.Serial), with a fresh self-signed
// certificate. Two firewalls with one serial are refused.
func NewPanoramaServer(cfg PanoramaConfig, devices []Managed) (*PanoramaServer, error) {
	if cfg.User == "" {
		cfg.User = "admin"
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "pa-panorama"
	}
	if cfg.Serial == "" {
		cfg.Serial = "000710000001"
	}
	cert, err := selfSigned(cfg.Hostname, cfg.Hosts)
	if err != nil {
		return nil, fmt.Errorf("sim: panorama certificate: %w", err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	p := &PanoramaServer{cfg: cfg, cert: cert, fp: "sha256:" + hex.EncodeToString(sum[:]), keys: newKeyring(cfg.User, cfg.Password, cfg.APIKey), devices: map[string]*managed{}}
	for _, m := range devices {
		serial := m.Device.opts.Serial
		if _, dup := p.devices[serial]; dup {
			return nil, fmt.Errorf("sim: panorama: two devices with serial %s", serial)
		}
		if m.IPAddress == "" {
			m.IPAddress = "192.0.2.10"
		}
		key, err := randomKey()
		if err != nil {
			return nil, err
		}
		ac := m.API
		ac.User, ac.Password, ac.APIKey = cfg.User, "", key
		api, err := NewAPIServer(m.Device, ac)
		if err != nil {
			return nil, err
		}
		p.devices[serial] = &managed{Managed: m, api: api, key: key}
		p.serials = append(p.serials, serial)
	}
	return p, nil
}

func randomKey() (string, error) {
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "LUFRPT" + base64.StdEncoding.EncodeToString(b), nil
}

// Fingerprint is the SHA-256 fingerprint of the certificate, as an
// inventory's tls.fingerprint takes it.
func (p *PanoramaServer) Fingerprint() string { return p.fp }

// CertPEM is the certificate in PEM, usable as a tls.ca_file.
func (p *PanoramaServer) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Certificate[0]})
}

// Serve answers HTTPS on ln until ctx is done, as APIServer.Serve does.
func (p *PanoramaServer) Serve(ctx context.Context, ln net.Listener) error {
	// HTTP/1.1 only, the default of a PAN-OS management plane.
	tc := &tls.Config{Certificates: []tls.Certificate{p.cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{http1Only.alpn()}}
	return serveHTTPS(ctx, ln, newHTTPSServer(p.Handler(), tc, http1Only), "panorama")
}

// Handler is the Panorama's HTTP handler (path /api/), without TLS.
func (p *PanoramaServer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", p.serveAPI)
	mux.HandleFunc("/api", p.serveAPI)
	return mux
}

func (p *PanoramaServer) serveAPI(w http.ResponseWriter, r *http.Request) {
	user, ok := p.keys.admit(w, r)
	if !ok {
		return
	}
	if serial := r.Form.Get("target"); serial != "" {
		p.forward(w, r, serial)
		return
	}
	switch typ := r.Form.Get("type"); typ {
	case "op":
		p.op(w, r, user)
	case "":
		apiError(w, http.StatusBadRequest, "400", "Missing type parameter")
	default:
		// Ours: the simulated Panorama has no config, commit or export of
		// its own.
		apiError(w, http.StatusBadRequest, "400", "runbook sim: the simulated Panorama answers type="+typ+" only for a managed firewall (target=SERIAL)")
	}
}

// forward hands the request to the managed firewall's API, as the
// Panorama: without target and key parameters, with the Panorama's own
// key on that firewall.
func (p *PanoramaServer) forward(w http.ResponseWriter, r *http.Request, serial string) {
	m := p.devices[serial]
	if m == nil {
		// Ours: the wording of a real Panorama for an unknown serial was
		// not found in public material (docs/simulator.md).
		apiError(w, http.StatusOK, "13", "runbook sim: no managed device with serial "+serial)
		return
	}
	if m.Disconnected {
		apiError(w, http.StatusOK, "13", "runbook sim: managed device "+serial+" is not connected to Panorama")
		return
	}
	form := url.Values{}
	for k, vs := range r.Form {
		if k != "target" && k != "key" {
			form[k] = append([]string(nil), vs...)
		}
	}
	r2 := r.Clone(r.Context())
	r2.Form, r2.PostForm = form, form
	r2.Header.Set("X-PAN-KEY", m.key)
	m.api.serveAPI(w, r2)
}

// op answers the Panorama's own op commands.
func (p *PanoramaServer) op(w http.ResponseWriter, r *http.Request, user string) {
	cli, err := XMLToCLI(r.Form.Get("cmd"))
	if err != nil {
		apiError(w, http.StatusOK, "18", "Malformed command: "+err.Error())
		return
	}
	switch cli {
	case "show system info":
		// Element names as a firewall's (sim/api_xml.go); the values are
		// ours.
		envelope(w, http.StatusOK, "success", "", fmt.Sprintf("<result><system><hostname>%s</hostname><ip-address>192.0.2.5</ip-address><model>Panorama</model><serial>%s</serial><sw-version>10.2.9</sw-version></system></result>",
			xmlText(p.cfg.Hostname), xmlText(p.cfg.Serial)))
	case "show devices all", "show devices connected":
		envelope(w, http.StatusOK, "success", "", "<result>"+p.devicesXML(cli == "show devices connected")+"</result>")
	default:
		words := strings.Fields(cli)
		if len(words) > 1 {
			apiError(w, http.StatusOK, "17", " "+words[0]+" -> "+words[1]+"  is unexpected")
			return
		}
		apiError(w, http.StatusOK, "17", " "+cli+"  is invalid")
	}
}

// devicesXML is <devices> as a real Panorama's `show devices all` has it
// (cdot65/pan-os-upgrade tests/test_flatten_xml_to_dict.py; the fields
// pan-os-python's refresh_devices reads), for each managed firewall.
func (p *PanoramaServer) devicesXML(connectedOnly bool) string {
	serials := append([]string(nil), p.serials...)
	sort.Strings(serials)
	var b strings.Builder
	b.WriteString("<devices>")
	for _, s := range serials {
		m := p.devices[s]
		if connectedOnly && m.Disconnected {
			continue
		}
		o := m.Device.opts
		connected := "yes"
		if m.Disconnected {
			connected = "no"
		}
		family := "vm"
		if !strings.HasPrefix(o.Model, "PA-VM") {
			family = strings.TrimPrefix(strings.ToLower(o.Model), "pa-")
			if len(family) > 1 {
				family = family[:1] + "000"
			}
		}
		fmt.Fprintf(&b, `<entry name="%[1]s"><serial>%[1]s</serial><connected>%[2]s</connected><unsupported-version>no</unsupported-version><deactivated>no</deactivated><hostname>%[3]s</hostname><ip-address>%[4]s</ip-address><ipv6-address>unknown</ipv6-address><family>%[5]s</family><model>%[6]s</model><sw-version>%[7]s</sw-version><multi-vsys>no</multi-vsys><vsys><entry name="vsys1"><display-name>vsys1</display-name></entry></vsys></entry>`,
			xmlText(s), connected, xmlText(o.Hostname), xmlText(m.IPAddress), family, xmlText(o.Model), xmlText(o.SWVersion))
	}
	b.WriteString("</devices>")
	return b.String()
}
