package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunAndValidateAgree pins that run (and show, and the dry run) and
// validate make the same check: a playbook one accepts the other accepts,
// and one they refuse is refused with the same mistakes.
func TestRunAndValidateAgree(t *testing.T) {
	bad, err := filepath.Glob("../../engine/playbook/testdata/bad/*.yaml")
	if err != nil || len(bad) == 0 {
		t.Fatal("no bad playbooks")
	}
	// An undo template the XML API transport converts once rendered: the
	// source form (${params.n * 2} split into words) was refused.
	dir := t.TempDir()
	undo := filepath.Join(dir, "undo.yaml")
	if err := os.WriteFile(undo, []byte("name: undo\ntitle: An undo template\nparams: {n: {type: int, default: 2}, t: {type: string, default: x}}\n"+
		"steps:\n  - run: debug ike pcap on\n    undo: debug dataplane pool count ${params.n * 2}\n"+
		"  - run: debug ike global on debug\n    undo: {one_of: ['debug ike global on normal peer ${ params.t }', debug ike global on normal]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, arg := range append(append(goodPlaybooks(t), bad...), undo) {
		t.Run(goldenName(arg), func(t *testing.T) {
			_, _, runErr := resolvePlaybook(arg)
			list, valErr := validateOne(arg)
			if valErr != nil {
				t.Fatalf("validate: %v", valErr)
			}
			switch {
			case runErr == nil && len(list) > 0:
				t.Fatalf("run accepts it, validate refuses it:\n%v", list)
			case runErr != nil && len(list) == 0:
				t.Fatalf("validate accepts it, run refuses it:\n%v", runErr)
			case runErr != nil && runErr.Error() != list.Error():
				t.Fatalf("run and validate say different things:\nrun:\n%v\nvalidate:\n%v", runErr, list)
			}
			if runErr != nil {
				return
			}
			// validate --xml refuses only a command the transport could
			// not convert either: none of these but blocks.yaml's echo.
			var out bytes.Buffer
			err := printXML(&out, arg)
			if want := strings.HasSuffix(arg, "good/blocks.yaml"); (err != nil) != want {
				t.Errorf("validate --xml: %v (refusal expected: %v)\n%s", err, want, out.String())
			}
		})
	}
}
