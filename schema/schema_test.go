package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine/playbook"
	"github.com/runbook-dev/runbook/parse"
	"github.com/runbook-dev/runbook/playbooks"
)

const head = "name: t\ntitle: T\n"

// TestSchemaAndLoaderAgree: each playbook here is rejected by both the
// schema and the Go loader.
func TestSchemaAndLoaderAgree(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"unknown top key", head + "descripton: x\nsteps: [{run: a}]\n"},
		{"unknown step key", head + "steps:\n  - run: a\n    udno: b\n"},
		{"key of another kind", head + "steps:\n  - wait: 5s\n    undo: b\n"},
		{"missing name", "title: T\nsteps: [{run: a}]\n"},
		{"missing steps", head},
		{"empty steps", head + "steps: []\n"},
		{"bad name", "name: Bad_Name\ntitle: T\nsteps: [{run: a}]\n"},
		{"title not a string", "name: t\ntitle: [a]\nsteps: [{run: a}]\n"},
		{"no kind", head + "steps:\n  - id: x\n"},
		{"two kinds", head + "steps:\n  - run: a\n    wait: 5s\n"},
		{"zero duration", head + "timeout: 0s\nsteps: [{run: a}]\n"},
		{"negative duration", head + "steps: [{wait: -5s}]\n"},
		{"unitless duration", head + "steps: [{wait: '30'}]\n"},
		{"integer duration", head + "steps: [{wait: 30}]\n"},
		{"repeat without count", head + "steps: [{run: a, repeat: {interval: 1s}}]\n"},
		{"repeat count 0", head + "steps: [{run: a, repeat: {count: 0, interval: 1s}}]\n"},
		{"repeat without interval", head + "steps: [{run: a, repeat: {count: 3}}]\n"},
		{"until without retry", head + "steps: [{run: a, until: 'output.text != \"\"'}]\n"},
		{"retry without until", head + "steps: [{run: a, retry: {max: 3}}]\n"},
		{"retry max 0", head + "steps: [{run: a, until: 'true', retry: {max: 0}}]\n"},
		{"retry without max", head + "steps: [{run: a, until: 'true', retry: {interval: 1s}}]\n"},
		{"if without then", head + "steps: [{if: 'true'}]\n"},
		{"include with more keys", head + "steps: [{include: f.yaml, when: 'true'}]\n"},
		{"unknown parser", head + "steps: [{run: a, parse: keyvalu}]\n"},
		{"note in cleanup", head + "steps: [{run: a}]\ncleanup: [{note: x}]\n"},
		{"if in cleanup", head + "steps: [{run: a}]\ncleanup: [{if: 'true', then: [{run: b}]}]\n"},
		{"bad on_error", head + "steps: [{run: a, on_error: ignore}]\n"},
		{"let on an if step", head + "steps: [{if: 'true', let: {X: '1'}, then: [{run: a}]}]\n"},
		{"let in cleanup", head + "steps: [{run: a}]\ncleanup: [{run: 'b ${X}', let: {X: '1'}}]\n"},
		{"step let hiding steps", head + "steps: [{run: a, let: {steps: '1'}}]\n"},
		{"step let not an identifier", head + "steps: [{run: a, let: {2x: '1'}}]\n"},
		{"empty step let", head + "steps: [{note: a, let: {}}]\n"},
		{"bad step id", head + "steps: [{id: Bad-ID, run: a}]\n"},
		{"bad capture name", head + "steps: [{run: a, capture: {Bad-Name: x}}]\n"},
		{"capture regex and expr", head + "steps: [{run: a, capture: {x: {regex: a, expr: b}}}]\n"},
		{"prompt answer without match", head + "steps: [{run: a, prompts: [{answer: x}]}]\n"},
		{"bad prompt default", head + "steps: [{prompt: go, default: maybe}]\n"},
		{"param without type", head + "params: {p: {description: x}}\nsteps: [{run: a}]\n"},
		{"unknown param type", head + "params: {p: {type: number}}\nsteps: [{run: a}]\n"},
		{"enum without values", head + "params: {p: {type: enum}}\nsteps: [{run: a}]\n"},
		{"values on a string", head + "params: {p: {type: string, values: [a]}}\nsteps: [{run: a}]\n"},
		{"required with default", head + "params: {p: {type: string, required: true, default: x}}\nsteps: [{run: a}]\n"},
		{"int default a string", head + "params: {p: {type: int, default: '3'}}\nsteps: [{run: a}]\n"},
		{"bool default an int", head + "params: {p: {type: bool, default: 1}}\nsteps: [{run: a}]\n"},
		{"duration default zero", head + "params: {p: {type: duration, default: 0s}}\nsteps: [{run: a}]\n"},
		{"ip default", head + "params: {p: {type: ip, default: 10.1.1.300}}\nsteps: [{run: a}]\n"},
		{"cidr default", head + "params: {p: {type: cidr, default: 10.0.0.1}}\nsteps: [{run: a}]\n"},
		{"secret default a literal", head + "params: {p: {type: secret, default: hunter2}}\nsteps: [{run: a}]\n"},
		{"bad param name", head + "params: {Bad-Name: {type: string}}\nsteps: [{run: a}]\n"},
		{"bad severity", head + "steps: [{run: a}]\nfindings: [{severity: severe, when: 'true', message: m}]\n"},
		{"finding without when", head + "steps: [{run: a}]\nfindings: [{severity: info, message: m}]\n"},
		{"evidence without step", head + "steps: [{run: a}]\nfindings: [{severity: info, when: 'true', message: m, evidence: [{field: x}]}]\n"},
		{"top level a list", "- run: a\n"},
		{"for_each on a wait", head + "steps: [{wait: 1s, for_each: '[1]'}]\n"},
		{"for_each a YAML list", head + "steps: [{run: 'a ${item}', for_each: [1, 2]}]\n"},
		{"for_each with until", head + "steps: [{run: 'a ${item}', for_each: '[1]', until: 'true', retry: {max: 2}}]\n"},
		{"for_each with undo", head + "steps: [{run: 'a ${item}', for_each: '[1]', undo: b}]\n"},
		{"for_each in cleanup", head + "steps: [{run: a}]\ncleanup: [{run: 'a ${item}', for_each: '[1]'}]\n"},
		{"for_each in ${ }", head + "steps: [{run: 'a ${item}', for_each: '${[1]}'}]\n"},
		{"repeat count too large", head + "steps: [{run: a, repeat: {count: 99999999999, interval: 1s}}]\n"},
		{"retry max too large", head + "steps: [{run: a, until: 'true', retry: {max: 99999999999}}]\n"},
		{"second document", head + "steps: [{run: a}]\n---\ncleanup: [{run: b}]\n"},
		{"unclosed bracket", head + "steps: [{run: a}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serr := Validate("t.yaml", []byte(tc.src))
			if serr == nil {
				t.Error("schema accepted it")
			} else if !errors.As(serr, new(playbook.ErrorList)) {
				t.Errorf("schema error is %T, want playbook.ErrorList: %v", serr, serr)
			}
			if _, err := playbook.Parse("t.yaml", []byte(tc.src)); err == nil {
				t.Error("loader accepted it")
			}
		})
	}
}

// TestLoaderOnly lists the mistakes the schema cannot see (expressions,
// cross references, regex syntax): only the loader rejects them. If the
// schema starts catching one, move it to the table above.
func TestLoaderOnly(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"unknown param in a template", head + "steps: [{run: 'show ${params.nope}'}]\n"},
		{"non-boolean condition", head + "params: {n: {type: int, default: 1}}\nsteps: [{run: a, when: params.n}]\n"},
		{"output outside until", head + "steps: [{run: 'show ${output.text}'}]\n"},
		{"unknown step in an expression", head + "steps: [{run: a, when: steps.x.ok}]\n"},
		{"duplicate step id", head + "steps: [{id: a, run: a}, {id: a, run: b}]\n"},
		{"capture reused differently", head + "steps: [{run: a, capture: {x: 'a(.)'}}, {run: b, capture: {x: 'b(.)'}}]\n"},
		{"invalid regex", head + "steps: [{run: a, capture: {x: '(a'}}]\n"},
		{"enum default not in values", head + "params: {m: {type: enum, values: [a, b], default: c}}\nsteps: [{run: a}]\n"},
		{"evidence names unknown step", head + "steps: [{run: a}]\nfindings: [{severity: info, when: 'true', message: m, evidence: [{step: x}]}]\n"},
		{"unterminated interpolation", head + "steps: [{run: 'show ${params'}]\n"},
		{"duplicate key", head + "steps: [{run: a}]\nsteps: [{run: b}]\n"},
		{"item outside for_each", head + "steps: [{run: 'a ${item}'}]\n"},
		{"for_each not a list", head + "params: {t: {type: string}}\nsteps: [{run: 'a ${item}', for_each: params.t}]\n"},
		{"for_each command without item", head + "steps: [{run: a, for_each: '[1, 2]'}]\n"},
		{"duration too long", head + "steps: [{wait: 25h}]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate("t.yaml", []byte(tc.src)); err != nil {
				t.Errorf("schema rejects it now (move it to TestSchemaAndLoaderAgree): %v", err)
			}
			if _, err := playbook.Parse("t.yaml", []byte(tc.src)); err == nil {
				t.Error("loader accepted it")
			}
		})
	}
}

// TestValidPlaybooks: every shipped playbook, fragment and example, and the
// loader's good test playbooks, pass the schema.
func TestValidPlaybooks(t *testing.T) {
	check := func(name string, src []byte, fragment bool) {
		t.Helper()
		var err error
		if fragment {
			err = ValidateFragment(name, src)
		} else {
			err = Validate(name, src)
		}
		if err != nil {
			t.Errorf("%s:\n%v", name, err)
		}
	}
	for _, n := range playbooks.Names() {
		p, _ := playbooks.Lookup(n)
		b, err := fs.ReadFile(playbooks.FS, p)
		if err != nil {
			t.Fatal(err)
		}
		check("built-in "+p, b, false)
	}
	for _, f := range playbooks.Fragments() {
		b, _ := fs.ReadFile(playbooks.FS, f)
		check("built-in "+f, b, true)
	}
	globs := map[string]bool{
		"../engine/playbook/testdata/good/*.yaml":           false,
		"../engine/playbook/testdata/good/fragments/*.yaml": true,
		"../examples/*.yaml":                                false,
		"../examples/playbooks/*.yaml":                      false,
	}
	n := 0
	for g, frag := range globs {
		names, _ := filepath.Glob(g)
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if !frag && !strings.Contains(string(b), "\nsteps:") {
				continue // an inventory or other YAML, not a playbook
			}
			check(name, b, frag)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no playbook found to validate")
	}
}

// TestErrorPositions pins how schema errors map to YAML positions.
func TestErrorPositions(t *testing.T) {
	src := head + "steps:\n  - run: a\n    udno: b\n  - wait: -5s\n"
	err := Validate("t.yaml", []byte(src))
	want := "t.yaml:5:5: schema: unknown key \"udno\" at /steps/0\n" +
		"        udno: b\n" +
		"        ^\n" +
		"t.yaml:6:11: schema: 'anyOf' failed at /steps/1/wait\n" +
		"      - wait: -5s\n" +
		"              ^"
	if err == nil || err.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", err, want)
	}
}

// TestParsersInSync: the schema's parser names, playbook.Parsers (what the
// loader accepts) and parse.Names (what is implemented) are the same list.
func TestParsersInSync(t *testing.T) {
	var doc struct {
		Defs struct {
			Step struct {
				Properties struct {
					Parse struct {
						Enum []string `json:"enum"`
					} `json:"parse"`
				} `json:"properties"`
			} `json:"step"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(PlaybookJSON, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Defs.Step.Properties.Parse.Enum; !slices.Equal(got, playbook.Parsers) {
		t.Errorf("schema parse enum = %v, playbook.Parsers = %v", got, playbook.Parsers)
	}
	if !slices.Equal(parse.Names, playbook.Parsers) {
		t.Errorf("parse.Names = %v, playbook.Parsers = %v", parse.Names, playbook.Parsers)
	}
}

// TestAliasBomb: aliases that expand to billions of values are refused,
// not expanded.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "steps:\n  - &s0 {run: a}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  - &s%d {if: 'true', then: [", i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*s%d", i-1)
		}
		b.WriteString("]}\n")
	}
	err := Validate("t.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than 200000 values") {
		t.Errorf("err = %v, want the value limit", err)
	}
}
