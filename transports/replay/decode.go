package replay

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runbook-dev/runbook/internal/yamlerr"
)

// ErrVersion is wrapped by Load and Decode for a cassette of a format
// version this runbook does not read.
var ErrVersion = errors.New("unsupported cassette version")

// Load reads the cassette file path, an exchange at a time (see Decode).
func Load(path string) (*Cassette, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	c, ok := decodeStream(path, f)
	f.Close()
	if !ok {
		return loadWhole(path)
	}
	c.Path = path
	return c, nil
}

// loadWhole reads the cassette at path with the whole-file decoder: when
// the stream could not read it, that decoder decides, and words any error.
func loadWhole(path string) (*Cassette, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	c, err := decodeWhole(path, b)
	if err != nil {
		return nil, err
	}
	c.Path = path
	return c, nil
}

// Decode reads a cassette from b; name labels errors. Errors carry
// name:line:col. Unknown keys are refused, so a typo is reported.
//
// The cassette is decoded as a stream, one exchange at a time, and no
// YAML tree of the whole file is built; text the stream does not read as
// the whole-file decoder would (a flow-style list, anchors, an error) is
// decoded whole, which also words the error.
func Decode(name string, b []byte) (*Cassette, error) {
	if c, ok := decodeStream(name, bytes.NewReader(b)); ok {
		return c, nil
	}
	return decodeWhole(name, b)
}

// decodeWhole decodes b as one YAML tree.
func decodeWhole(name string, b []byte) (*Cassette, error) {
	d := decoder{name: name}
	doc, probs := yamlerr.Decode(b)
	if len(probs) > 0 {
		p := probs[0]
		return nil, fmt.Errorf("cassette %s:%d:%d: %s", name, p.Line, p.Col, p.Msg)
	}
	if doc == nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("cassette %s:1:1: empty file", name)
	}
	c := &Cassette{}
	d.cassette(doc.Content[0], c)
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

type decoder struct {
	name string
	err  error
}

func (d *decoder) fail(n *yaml.Node, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("cassette %s:%d:%d: %s", d.name, n.Line, n.Column, fmt.Sprintf(format, args...))
	}
}

// fields calls fn for each key of mapping n, refusing keys not in allowed.
func (d *decoder) fields(n *yaml.Node, what string, allowed []string, fn func(key string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s must be a mapping", what)
		return
	}
	for i := 0; i+1 < len(n.Content) && d.err == nil; i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ok := false
		for _, a := range allowed {
			ok = ok || a == k.Value
		}
		if !ok {
			d.fail(k, "unknown key %q in %s (want one of %s)", k.Value, what, strings.Join(allowed, ", "))
			return
		}
		fn(k.Value, v)
	}
}

func (d *decoder) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" && n.Value != "" {
		d.fail(n, "%s must be a string", what)
		return ""
	}
	if n.Tag == "!!null" {
		return ""
	}
	if n.Tag == "!!binary" {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
		if err != nil {
			d.fail(n, "%s: bad !!binary: %v", what, err)
		}
		return string(b)
	}
	return n.Value
}

func (d *decoder) strMap(n *yaml.Node, what string) map[string]string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s must be a mapping", what)
		return nil
	}
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.str(n.Content[i], what+" key")
		m[k] = d.str(n.Content[i+1], what+"."+k)
	}
	return m
}

func (d *decoder) seq(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, "%s must be a list", what)
		return nil
	}
	return n.Content
}

func (d *decoder) cassette(n *yaml.Node, c *Cassette) {
	version := 0
	var versionNode *yaml.Node
	d.fields(n, "cassette", []string{"version", "playbook", "params", "target", "export", "redaction", "exchanges"}, func(k string, v *yaml.Node) {
		if k == "version" {
			versionNode = v
			var err error
			if version, err = strconv.Atoi(v.Value); err != nil || v.Kind != yaml.ScalarNode {
				d.fail(v, "version must be a number")
			}
		}
	})
	if d.err != nil {
		return
	}
	switch {
	case versionNode == nil:
		d.fail(n, "no version: this is not a cassette, or a cassette from before versions (want `version: %d`)", Version)
	case version > Version:
		d.fail(versionNode, "version %d is newer than this runbook reads (%d): upgrade runbook to replay it", version, Version)
	case version < 1:
		d.fail(versionNode, "version %d is not a cassette version (versions start at 1)", version)
	}
	if d.err != nil {
		d.err = versionError{d.err}
		return
	}
	d.fields(n, "cassette", []string{"version", "playbook", "params", "target", "export", "redaction", "exchanges"}, func(k string, v *yaml.Node) {
		switch k {
		case "playbook":
			c.Playbook = d.str(v, "playbook")
		case "params":
			c.Params = d.strMap(v, "params")
		case "target":
			d.fields(v, "target", []string{"name", "transport", "facts"}, func(k string, v *yaml.Node) {
				switch k {
				case "name":
					c.Target.Name = d.str(v, "target.name")
				case "transport":
					c.Target.Transport = d.str(v, "target.transport")
				case "facts":
					c.Target.Facts = d.strMap(v, "target.facts")
				}
			})
		case "export":
			d.fields(v, "export", []string{"categories"}, func(_ string, v *yaml.Node) {
				for _, s := range d.seq(v, "export.categories") {
					c.ExportCategories = append(c.ExportCategories, d.str(s, "export category"))
				}
			})
		case "redaction":
			d.redaction(v, &c.Redaction)
		case "exchanges":
			for _, item := range d.seq(v, "exchanges") {
				if d.err != nil {
					return
				}
				if item.Kind == yaml.MappingNode && len(item.Content) > 0 && item.Content[0].Value == "export" {
					e := d.export(item)
					e.After = len(c.Exchanges)
					c.Exports = append(c.Exports, e)
					continue
				}
				c.Exchanges = append(c.Exchanges, d.exchange(item))
			}
		}
	})
}

// versionError marks a version error so errors.Is finds ErrVersion while the
// message keeps its position.
type versionError struct{ err error }

func (e versionError) Error() string { return e.err.Error() }
func (e versionError) Unwrap() error { return ErrVersion }

func (d *decoder) redaction(n *yaml.Node, r *RedactionInfo) {
	d.fields(n, "redaction", []string{"secrets", "patterns"}, func(k string, v *yaml.Node) {
		switch k {
		case "secrets":
			b, err := strconv.ParseBool(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				d.fail(v, "redaction.secrets must be true or false")
			}
			r.Secrets = b
		case "patterns":
			for _, pn := range d.seq(v, "redaction.patterns") {
				var p PatternInfo
				d.fields(pn, "redaction pattern", []string{"name", "regexp"}, func(k string, v *yaml.Node) {
					switch k {
					case "name":
						p.Name = d.str(v, "pattern name")
					case "regexp":
						p.Regexp = d.str(v, "pattern regexp")
					}
				})
				if d.err != nil {
					return
				}
				if !patternName.MatchString(p.Name) {
					d.fail(pn, "pattern name %q must be letters, digits and _ and start with a letter", p.Name)
				} else if _, err := regexp.Compile(p.Regexp); err != nil {
					d.fail(pn, "pattern %s: %v", p.Name, err)
				}
				r.Patterns = append(r.Patterns, p)
			}
		}
	})
}

func (d *decoder) exchange(n *yaml.Node) Exchange {
	x := Exchange{Line: n.Line}
	seen := false
	d.fields(n, "exchange", []string{"command", "xml", "transport", "duration", "output", "data", "error"}, func(k string, v *yaml.Node) {
		switch k {
		case "command":
			x.Command, seen = d.str(v, "command"), true
		case "xml":
			x.XML = d.str(v, "xml")
		case "transport":
			x.Transport = d.str(v, "transport")
		case "duration":
			x.Duration = d.duration(v)
		case "output":
			x.Output = d.str(v, "output")
		case "data":
			if err := v.Decode(&x.Data); err != nil {
				d.fail(v, "data: %v", err)
			}
		case "error":
			x.Error = d.error(v)
		}
	})
	if d.err == nil && !seen {
		d.fail(n, "exchange has no command")
	}
	return x
}

func (d *decoder) export(n *yaml.Node) Export {
	e := Export{Line: n.Line}
	d.fields(n, "exchanges item", []string{"export"}, func(_ string, v *yaml.Node) {
		var size *yaml.Node
		d.fields(v, "export", []string{"category", "file", "transport", "name", "size", "sha256", "path", "base64", "error"}, func(k string, v *yaml.Node) {
			switch k {
			case "category":
				e.Category = d.str(v, "export category")
			case "transport":
				e.Transport = d.str(v, "export transport")
			case "file":
				e.File = d.str(v, "export file")
			case "name":
				e.Name = d.str(v, "export name")
			case "size":
				size = v
				var err error
				if e.Size, err = strconv.ParseInt(v.Value, 10, 64); err != nil || e.Size < 0 {
					d.fail(v, "export size must be a number of bytes")
				}
			case "sha256":
				e.SHA256 = d.str(v, "export sha256")
				if b, err := hex.DecodeString(e.SHA256); err != nil || len(b) != 32 {
					d.fail(v, "export sha256 must be 64 hex digits")
				}
			case "path":
				e.Path = d.str(v, "export path")
			case "base64":
				s := strings.Join(strings.Fields(d.str(v, "export base64")), "")
				var err error
				if e.Content, err = base64.StdEncoding.DecodeString(s); err != nil {
					d.fail(v, "export base64: %v", err)
				}
			case "error":
				e.Error = d.error(v)
			}
		})
		if d.err != nil {
			return
		}
		switch {
		case e.Category == "":
			d.fail(v, "export has no category")
		case e.Error == nil && e.Name == "":
			d.fail(v, "export has no name")
		case e.Content != nil && int64(len(e.Content)) != e.Size && size != nil:
			d.fail(size, "export size %d but base64 holds %d bytes", e.Size, len(e.Content))
		}
	})
	return e
}

func (d *decoder) error(n *yaml.Node) *Error {
	e := &Error{}
	d.fields(n, "error", []string{"kind", "message", "code"}, func(k string, v *yaml.Node) {
		switch k {
		case "kind":
			e.Kind = ErrorKind(d.str(v, "error kind"))
			if d.err == nil && !e.Kind.valid() {
				d.fail(v, "error kind %q is not one of device, unknown-command, invalid-syntax, timeout, closed, unexpected-prompt, copy-failed, host-key-not-accepted, not-over-api", e.Kind)
			}
		case "message":
			e.Message = d.str(v, "error message")
		case "code":
			e.Code = d.str(v, "error code")
		}
	})
	if d.err == nil && e.Kind == "" {
		d.fail(n, "error has no kind")
	}
	return e
}

func (d *decoder) duration(n *yaml.Node) time.Duration {
	v, err := time.ParseDuration(d.str(n, "duration"))
	if err != nil || v < 0 {
		d.fail(n, "duration %q must be a non-negative duration such as 120ms or 2s", n.Value)
	}
	return v
}

// patternName is the shape of a redaction pattern's name.
var patternName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
