package sim

import (
	"crypto/subtle"
	"io"
	"net/http"
	"sync"
)

// keyring is the API keys of one simulated XML API (a firewall's or a
// Panorama's): keygen makes them, authenticate checks them.
type keyring struct {
	user, password string // keygen's account; an empty password disables keygen

	mu   sync.Mutex
	keys map[string]string // valid key -> user
}

// newKeyring accepts key (when not empty) for user from the start.
func newKeyring(user, password, key string) *keyring {
	k := &keyring{user: user, password: password, keys: map[string]string{}}
	if key != "" {
		k.keys[key] = user
	}
	return k
}

// admit reads the request to an XML API (a firewall's or a Panorama's)
// as PAN-OS does: GET or POST, a form of at most 1 MiB; it answers
// type=keygen itself, and any request without a valid key with 403. It
// returns the key's user, and false when it answered the request.
func (k *keyring) admit(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		apiError(w, http.StatusBadRequest, "400", "Bad request: "+err.Error())
		return "", false
	}
	if r.Form.Get("type") == "keygen" {
		k.keygen(w, r)
		return "", false
	}
	user, ok := k.authenticate(r)
	if !ok {
		envelope(w, http.StatusForbidden, "error", "403", "<result><msg>Invalid Credential</msg></result>")
		return "", false
	}
	return user, true
}

// authenticate checks the X-PAN-KEY header (or a key parameter, which the
// real API also accepts) and returns the key's user.
func (k *keyring) authenticate(r *http.Request) (string, bool) {
	key := r.Header.Get("X-PAN-KEY")
	if key == "" {
		key = r.Form.Get("key")
	}
	if key == "" {
		return "", false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	user, ok := k.keys[key]
	return user, ok
}

// keygen answers type=keygen: a new key for the account, which
// invalidates the user's old one.
func (k *keyring) keygen(w http.ResponseWriter, r *http.Request) {
	u, pw := r.Form.Get("user"), r.Form.Get("password")
	okUser := subtle.ConstantTimeCompare([]byte(u), []byte(k.user)) == 1
	okPass := subtle.ConstantTimeCompare([]byte(pw), []byte(k.password)) == 1
	if k.password == "" || !okUser || !okPass {
		envelope(w, http.StatusForbidden, "error", "403", "<result><msg>Invalid credentials.</msg></result>")
		return
	}
	key, err := randomKey()
	if err != nil {
		apiError(w, http.StatusInternalServerError, "2", "internal error")
		return
	}
	k.mu.Lock()
	for old, owner := range k.keys {
		if owner == u {
			delete(k.keys, old)
		}
	}
	k.keys[key] = u
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	io.WriteString(w, "<response status = 'success'><result><key>"+key+"</key></result></response>")
}
