package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/internal/yamlerr"
)

// PlaybookJSON is the text of playbook.schema.json.
//
//go:embed playbook.schema.json
var PlaybookJSON []byte

// URL is the schema's $id, for the yaml-language-server line.
const URL = "https://runbook.dev/schema/playbook.schema.json"

// InventoryJSON is the text of inventory.schema.json.
//
//go:embed inventory.schema.json
var InventoryJSON []byte

// InventoryURL is the inventory schema's $id.
const InventoryURL = "https://runbook.dev/schema/inventory.schema.json"

var compiled = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(PlaybookJSON))
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(URL, doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	inv, err := jsonschema.UnmarshalJSON(bytes.NewReader(InventoryJSON))
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	if err := c.AddResource(InventoryURL, inv); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	out := map[string]*jsonschema.Schema{}
	for name, loc := range map[string]string{"playbook": URL, "fragment": URL + "#/$defs/steps", "inventory": InventoryURL} {
		s, err := c.Compile(loc)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		out[name] = s
	}
	return out, nil
})

// Validate checks the playbook YAML src (named file in positions) against
// the schema. It returns nil when valid, a playbook.ErrorList with one
// positioned error per problem when not, and another error when src is not
// YAML at all or the schema itself cannot be compiled.
func Validate(file string, src []byte) error {
	return validate("playbook", file, src)
}

// ValidateInventory checks an inventory file against inventory.schema.json.
func ValidateInventory(file string, src []byte) error {
	return validate("inventory", file, src)
}

// ValidateFragment checks a fragment file (a list of steps).
func ValidateFragment(file string, src []byte) error {
	return validate("fragment", file, src)
}

func validate(which, file string, src []byte) error {
	schemas, err := compiled()
	if err != nil {
		return err
	}
	lines := strings.Split(string(src), "\n")
	doc, probs := yamlerr.Decode(src)
	if len(probs) > 0 {
		var list playbook.ErrorList
		for _, pr := range probs {
			e := &playbook.Error{Pos: playbook.Pos{File: file, Line: pr.Line, Col: pr.Col}, Msg: pr.Msg}
			if pr.Line >= 1 && pr.Line <= len(lines) {
				e.Source = yamlerr.Printable(strings.TrimRight(lines[pr.Line-1], "\r"))
			}
			list = append(list, e)
		}
		return list
	}
	if doc == nil || len(doc.Content) == 0 {
		return playbook.ErrorList{{Pos: playbook.Pos{File: file, Line: 1, Col: 1}, Msg: "empty file"}}
	}
	root := doc.Content[0]
	inst, err := toJSON(root)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	verr := schemas[which].Validate(inst)
	if verr == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return fmt.Errorf("%s: %w", file, verr)
	}
	p := message.NewPrinter(language.English)
	var list playbook.ErrorList
	found := leaves(ve, nil)
	unknown := map[string]bool{} // "loc\x00prop" reported as additionalProperties
	for _, f := range found {
		if k, ok := f.err.ErrorKind.(*kind.AdditionalProperties); ok {
			for _, prop := range k.Properties {
				unknown[where(f.loc)+"\x00"+prop] = true
			}
		}
	}
	for _, f := range found {
		leaf := f.err
		n := locate(root, f.loc)
		msg := leaf.ErrorKind.LocalizedString(p)
		switch k := leaf.ErrorKind.(type) {
		case *kind.AdditionalProperties:
			for _, prop := range k.Properties {
				at := n
				if kn := keyNode(n, prop); kn != nil {
					at = kn
				}
				list = append(list, newError(file, lines, at, fmt.Sprintf("unknown key %q at %s", prop, where(f.loc))))
			}
			continue
		case *kind.PropertyNames:
			if unknown[where(f.loc)+"\x00"+k.Property] {
				continue // already reported as an unknown key
			}
			if kn := keyNode(n, k.Property); kn != nil {
				n = kn
			}
			msg = fmt.Sprintf("key %q is not allowed here", k.Property)
		}
		list = append(list, newError(file, lines, n, msg+" at "+where(f.loc)))
	}
	list.Sort()
	return list.Err()
}

func newError(file string, lines []string, n *yaml.Node, msg string) *playbook.Error {
	e := &playbook.Error{Pos: playbook.Pos{File: file, Line: n.Line, Col: n.Column}, Msg: "schema: " + msg}
	if n.Line >= 1 && n.Line <= len(lines) {
		e.Source = strings.TrimRight(lines[n.Line-1], "\r")
	}
	return e
}

// where writes an instance location as a JSON pointer.
func where(loc []string) string {
	if len(loc) == 0 {
		return "/"
	}
	return "/" + strings.Join(loc, "/")
}

// found is an error worth reporting and the instance location it is about.
type found struct {
	err *jsonschema.ValidationError
	loc []string
}

// leaves returns the errors worth reporting: the innermost ones, except
// that an anyOf or oneOf is reported as itself (its alternatives' failures
// say little), and a propertyNames error names its key. A propertyNames
// error takes its parent's location: jsonschema v6.0.3 can give it the
// location of a sibling.
func leaves(e *jsonschema.ValidationError, parent []string) []found {
	switch e.ErrorKind.(type) {
	case *kind.PropertyNames:
		return []found{{e, parent}}
	case *kind.AnyOf, *kind.OneOf:
		return []found{{e, e.InstanceLocation}}
	}
	if len(e.Causes) == 0 {
		return []found{{e, e.InstanceLocation}}
	}
	var out []found
	for _, c := range e.Causes {
		out = append(out, leaves(c, e.InstanceLocation)...)
	}
	return out
}

// locate walks root along loc to the node it names (the value, so an error
// points at what is wrong), or to the deepest node that exists.
func locate(root *yaml.Node, loc []string) *yaml.Node {
	n := root
	for _, tok := range loc {
		n = deref(n)
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == tok {
					n, found = n.Content[i+1], true
					break
				}
			}
			if !found {
				return n
			}
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Content) {
				return n
			}
			n = n.Content[i]
		default:
			return n
		}
	}
	return deref(n)
}

// keyNode finds the key node called name in mapping n.
func keyNode(n *yaml.Node, name string) *yaml.Node {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return n.Content[i]
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// toJSON converts a YAML node into the values the validator expects (the
// ones encoding/json would give), keeping YAML's own types: a quoted "3"
// stays a string and 3 a number.
func toJSON(n *yaml.Node) (any, error) {
	budget := maxNodes
	return convert(n, 0, &budget)
}

// maxNodes bounds the values of a document, aliases expanded: a few lines
// of YAML aliases can otherwise name billions.
const maxNodes = 200000

func convert(n *yaml.Node, depth int, budget *int) (any, error) {
	if depth > 100 {
		return nil, errors.New("nested too deep")
	}
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("more than %d values (YAML aliases repeating content?)", maxNodes)
	}
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: keys must be strings", k.Line)
			}
			v, err := convert(n.Content[i+1], depth+1, budget)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v // a duplicate key: the loader reports it
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := convert(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, err
			}
			return b, nil
		case "!!int", "!!float":
			var f any
			if err := n.Decode(&f); err != nil {
				return nil, err
			}
			b, err := json.Marshal(f)
			if err != nil {
				return n.Value, nil // .inf, .nan: not JSON numbers
			}
			return jsonschema.UnmarshalJSON(bytes.NewReader(b))
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}
