package xmlapi

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/runbook-dev/runbook/secret"
)

// This file writes the session log (DialOptions.SessionLog): each request
// as method, URL and form parameters, and each answer as its status and
// body. The key travels in the X-PAN-KEY header and is written as
// secret.Placeholder; so are the form's password and key parameters and
// the key in a keygen answer. A file an export brings back is not copied
// into the log: its status and headers are.

// loggedSecretParams are the form parameters whose values are never
// written.
var loggedSecretParams = map[string]bool{"password": true, "key": true}

// keygenKey finds the key in a keygen answer.
var keygenKey = regexp.MustCompile(`(?s)(<key>).*?(</key>)`)

// logRequest writes one request to the session log.
func (c *Client) logRequest(form url.Values, withKey bool) {
	if c.log == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, ">>> POST %s\n", c.url)
	if withKey {
		fmt.Fprintf(&b, "X-PAN-KEY: %s\n", secret.Placeholder)
	}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		// type first, as the API docs write a request
		if (keys[i] == "type") != (keys[j] == "type") {
			return keys[i] == "type"
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		for _, v := range form[k] {
			if loggedSecretParams[k] {
				v = secret.Placeholder
			}
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
	}
	io.WriteString(c.log, b.String())
}

// logResponse writes the answer to form: its status and body.
func (c *Client) logResponse(form url.Values, resp *http.Response, body []byte) {
	if c.log == nil {
		return
	}
	s := string(body)
	if form.Get("type") == "keygen" {
		s = keygenKey.ReplaceAllString(s, "${1}"+secret.Placeholder+"${2}")
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	io.WriteString(c.log, fmt.Sprintf("<<< %s\n%s", resp.Status, s))
}

// logFile writes the head of an answer that carries a file, not its bytes.
func (c *Client) logFile(resp *http.Response) {
	if c.log == nil {
		return
	}
	io.WriteString(c.log, fmt.Sprintf("<<< %s\nContent-Type: %s\nContent-Disposition: %s\nContent-Length: %d\n(the file is written to the run folder, not to this log)\n",
		resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), resp.ContentLength))
}
