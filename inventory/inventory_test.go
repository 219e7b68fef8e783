package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/inventory"
	"github.com/runbook-dev/runbook/schema"
	"github.com/runbook-dev/runbook/secret"
)

func TestExampleInventory(t *testing.T) {
	const path = "../examples/inventory.yaml"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.ValidateInventory(path, src); err != nil {
		t.Fatalf("schema: %v", err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := inv.Resolve([]string{"sap-vpn", "fw1", "lab"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range ts {
		names = append(names, tg.Name)
	}
	if got := strings.Join(names, ","); got != "fw1,fw2,lab" {
		t.Errorf("resolved %s", got)
	}
	fw1 := inv.Targets["fw1"]
	if fw1.Password.String() != "env:FW1_PASSWORD" || fw1.Port != 22 || fw1.User != "admin" {
		t.Errorf("fw1 %+v", fw1)
	}
	both := inv.Targets["fw3"]
	if both.Transport != "ssh+xmlapi" || both.Port != 0 || both.Ports["xmlapi"] != 8443 || both.Ports["ssh"] != 0 || both.APIKey.IsZero() || both.KnownHosts == "" {
		t.Errorf("fw3 (both ways) %+v", both)
	}
	if want := filepath.Join("..", "examples", "cassettes", "phase2-down.yaml"); inv.Targets["lab"].Cassette != want {
		t.Errorf("cassette %q, want %q (relative to the inventory)", inv.Targets["lab"].Cassette, want)
	}
}

// loaderOnly are the mistakes the inventory schema cannot see.
var loaderOnly = map[string]bool{
	"group of unknown": true, "group of a group": true, "group named as a target": true,
	"duplicate key in a target": true, "duplicate target": true, "duplicate tls key": true,
}

func TestBadInventory(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"literal secret", "targets:\n  fw1:\n    transport: ssh\n    host: h\n    password: hunter22\n",
			"inv.yaml:5:15: target fw1: password: a secret must be written as a reference: env:NAME, file:PATH or prompt; never the secret itself"},
		{"unknown key", "targets:\n  fw1:\n    transport: ssh\n    host: h\n    pasword: env:X\n",
			`inv.yaml:5:5: target fw1: unknown key "pasword"`},
		{"no host", "targets:\n  fw1:\n    transport: ssh\n",
			"inv.yaml:3:5: target fw1: host is required for transport ssh"},
		{"bad transport", "targets:\n  fw1:\n    transport: telnet\n    host: h\n",
			`inv.yaml:3:16: target fw1: transport must be ssh, xmlapi or replay (or both ssh and xmlapi: [ssh, xmlapi]), not "telnet"`},
		{"group of unknown", "targets:\n  fw1: {transport: ssh, host: h}\ngroups:\n  g: [fw1, fw9]\n",
			`inv.yaml:4:12: group g: unknown target "fw9" (did you mean "fw1"?)`},
		{"group of a group", "targets:\n  fw1: {transport: ssh, host: h}\ngroups:\n  a: [fw1, b]\n  b: [a]\n",
			"inv.yaml:4:12: group a: \"b\" is a group: a group lists targets only\n" +
				`inv.yaml:5:7: group b: "a" is a group: a group lists targets only`},
		{"group named as a target", "targets:\n  fw1: {transport: ssh, host: h}\ngroups:\n  fw1: [fw1]\n",
			"inv.yaml:4:3: group fw1 has the name of a target"},
		{"empty", "", "inv.yaml:1:1: empty inventory: want a mapping with targets: and groups:"},
		{"comments only", "# nothing yet\n", "inv.yaml:1:1: empty inventory: want a mapping with targets: and groups:"},
		{"duplicate key in a target", "targets:\n  fw1:\n    transport: ssh\n    host: a\n    host: b\n",
			`inv.yaml:5:5: target fw1: "host" is given twice (first at 4:5)`},
		{"duplicate target", "targets:\n  fw1: {transport: ssh, host: a}\n  fw1: {transport: ssh, host: b}\n",
			`inv.yaml:3:3: targets: "fw1" is given twice (first at 2:3)`},
		{"duplicate tls key", "targets:\n  fw1:\n    transport: xmlapi\n    host: a\n    tls: {ca_file: x, ca_file: y}\n",
			`inv.yaml:5:23: target fw1: tls: "ca_file" is given twice (first at 5:11)`},
		{"bad fingerprint", "targets:\n  fw1:\n    transport: xmlapi\n    host: a\n    tls: {fingerprint: 'sha256:abcd'}\n",
			"inv.yaml:5:24: target fw1: tls.fingerprint must be sha256: and 64 hex digits (colons between pairs allowed), such as sha256:" + strings.Repeat("ab", 32)},
		{"tab", "targets:\n  fw1:\n\ttransport: ssh\n", "inv.yaml:3:1: a tab in the indentation: YAML indents with spaces only"},
		{"unclosed", "targets:\n  fw1: {transport: ssh, host: a\n", "inv.yaml:2:8: this { is not closed: want } at the end, items separated by commas"},
		{"second document", "targets:\n  fw1: {transport: ssh, host: a}\n---\ngroups: {}\n",
			"inv.yaml:3:1: a second YAML document starts here (a stray ---?): the file must hold one document"},
		{"control character", "targets:\n  fw1: {transport: ssh, host: \"a\x1b\"}\n",
			`inv.yaml:2:33: control character U+001B is not allowed: write it as an escape in a double-quoted string, such as "\x1b"`},
		{"port range", "targets:\n  fw1: {transport: ssh, host: h, port: 70000}\n",
			"inv.yaml:2:40: target fw1: port 70000 out of range"},
		{"both ways with port", "targets:\n  fw1: {transport: [ssh, xmlapi], host: h, port: 22}\n",
			"inv.yaml:2:50: target fw1: port: a target reached over ssh and xmlapi has a port for each: write ports: {ssh: N, xmlapi: N} (a transport left out uses its default, 22 and 443)"},
		{"ports on one transport", "targets:\n  fw1: {transport: ssh, host: h, ports: {ssh: 22}}\n",
			"inv.yaml:2:41: target fw1: ports: only a target reached several ways (transport: [ssh, xmlapi]) has ports; write port: N"},
		{"replay in a list", "targets:\n  fw1: {transport: [ssh, replay], host: h}\n",
			`inv.yaml:2:26: target fw1: transport: a list names ssh and xmlapi (a target reached both ways), not "replay"`},
		{"both ways without host", "targets:\n  fw1: {transport: [ssh, xmlapi]}\n",
			"inv.yaml:2:8: target fw1: host is required for transport ssh+xmlapi"},
		{"unknown port name", "targets:\n  fw1: {transport: [ssh, xmlapi], host: h, ports: {api: 443}}\n",
			`inv.yaml:2:52: target fw1: ports: unknown transport "api" (want ssh or xmlapi)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := inventory.Parse("inv.yaml", []byte(tc.src))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			if strings.Contains(tc.src, "hunter22") && strings.Contains(err.Error(), "hunter22") {
				t.Error("the error echoes the secret")
			}
			// The schema refuses the same inventories.
			if serr := schema.ValidateInventory("inv.yaml", []byte(tc.src)); serr == nil && !loaderOnly[tc.name] {
				t.Errorf("schema accepts it")
			}
		})
	}
}

func TestFind(t *testing.T) {
	env := map[string]string{"RUNBOOK_INVENTORY": "/x/inv.yaml"}
	if p, err := inventory.Find("", func(k string) string { return env[k] }); err != nil || p != "/x/inv.yaml" {
		t.Errorf("env: %q %v", p, err)
	}
	if p, _ := inventory.Find("given.yaml", func(string) string { return "" }); p != "given.yaml" {
		t.Errorf("explicit: %q", p)
	}
	t.Chdir(t.TempDir())
	t.Setenv("HOME", t.TempDir())
	if _, err := inventory.Find("", func(string) string { return "" }); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("none: %v", err)
	}
}

// TestPromptSecretsAskedPerTarget: two targets whose passwords are both
// `prompt`, and a key passphrase also `prompt`, are three questions with
// three answers, each saying what it asks for; never one answer reused.
func TestPromptSecretsAskedPerTarget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inventory.yaml")
	src := `targets:
  fw1: {transport: ssh, host: 192.0.2.1, user: admin, password: prompt, key_file: /k, passphrase: prompt}
  fw2: {transport: ssh, host: 192.0.2.2, user: admin, password: prompt}
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	rs := &secret.Resolver{Prompt: func(_ context.Context, label string) (string, error) {
		asked = append(asked, label)
		return fmt.Sprintf("answer-%d", len(asked)), nil
	}}
	got := map[string]bool{}
	for _, r := range []secret.Ref{inv.Targets["fw1"].Password, inv.Targets["fw1"].Passphrase, inv.Targets["fw2"].Password, inv.Targets["fw1"].Password} {
		v, err := rs.Resolve(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		got[v] = true
	}
	if len(asked) != 3 || len(got) != 3 {
		t.Fatalf("asked %q, got %d distinct answers; want 3 questions, 3 answers (fw1's password asked once)", asked, len(got))
	}
	for _, want := range []string{"fw1 password", "fw1 passphrase", "fw2 password"} {
		if !slices.Contains(asked, want) {
			t.Errorf("no question %q among %q", want, asked)
		}
	}
	if s := inv.Targets["fw1"].Password.String(); s != "prompt" {
		t.Errorf("fw1 password reference shows as %q, want prompt", s)
	}
}
