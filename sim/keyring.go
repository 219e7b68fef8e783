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
