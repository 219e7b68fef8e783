package inventory_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/inventory"
)

func TestAnsibleInventory(t *testing.T) {
	sshHome(t, "")
	inv, err := inventory.Load("testdata/ansible.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Format != inventory.FormatAnsible {
		t.Errorf("format %q", inv.Format)
	}
	tests := []struct{ name, want string }{
		// Host vars over child group vars over parent group vars over all.
		{"fw-east-1", "ssh 198.51.100.11:22 dcadmin password=env:FW_EAST_1"},
		{"fw-west-1", "ssh 198.51.100.21:2222 westadmin password=env:PANOS_RO_PASSWORD"},
		{"lab-fw", "ssh 127.0.0.3:0 readonly password=env:PANOS_RO_PASSWORD"},
		{"fw-api", "xmlapi 198.51.100.31:8443 readonly password=file:/run/secrets/panos"},
		// In two groups of one depth (api, datacenter), the later by name
		// wins (datacenter's user); api's connection is not overridden by
		// any deeper group.
		{"fw-east-2", "xmlapi 198.51.100.12:8443 dcadmin password=file:/run/secrets/panos"},
	}
	for _, tt := range tests {
		tg, ok := inv.Targets[tt.name]
		got := tg.Transport + " " + tg.Host + ":" + itoa(tg.Port) + " " + tg.User + " password=" + tg.Password.String()
		if !ok || got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	if len(inv.Targets) != len(tests) {
		t.Errorf("%d targets, want %d", len(inv.Targets), len(tests))
	}
	groups := map[string]string{
		"all":        "lab-fw,fw-east-1,fw-east-2,fw-west-1,fw-api",
		"datacenter": "fw-east-1,fw-east-2,fw-west-1",
		"dc-east":    "fw-east-1,fw-east-2",
		"api":        "fw-api,fw-east-2",
	}
	for g, want := range groups {
		if got := strings.Join(inv.Groups[g], ","); got != want {
			t.Errorf("group %s: %s, want %s", g, got, want)
		}
	}
	ts, err := inv.Resolve([]string{"datacenter", "api"})
	if err != nil || len(ts) != 4 {
		t.Errorf("resolve datacenter, api: %d targets, %v", len(ts), err)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func TestBadAnsibleInventory(t *testing.T) {
	const head = "all:\n  vars:\n    ansible_connection: ansible.netcommon.network_cli\n    ansible_network_os: panos\n  hosts:\n"
	tests := []struct{ name, src, want string }{
		{"literal password", head + "    fw1:\n      ansible_password: hunter22\n",
			"inv.yaml:7:25: host fw1: ansible_password: a secret must be written as a reference: env:NAME, file:PATH, prompt or {{ lookup('env', 'NAME') }}; never the secret itself"},
		{"literal password in group vars, reported once", "all:\n  vars:\n    ansible_connection: network_cli\n    ansible_network_os: panos\n    ansible_password: 1234\n  hosts:\n    fw1:\n    fw2:\n",
			"inv.yaml:5:23: host fw1: ansible_password: a secret must be written as a reference: env:NAME, file:PATH, prompt or {{ lookup('env', 'NAME') }}; never the secret itself"},
		{"vault", head + "    fw1:\n      ansible_password: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        6162\n",
			"inv.yaml:7:25: host fw1: ansible_password: vaulted values are not read: use env:NAME, file:PATH, prompt or {{ lookup('env', 'NAME') }}"},
		{"template", head + "    fw1:\n      ansible_host: \"{{ inventory_hostname }}.example\"\n",
			"inv.yaml:7:21: host fw1: ansible_host: templating is not read (only {{ lookup('env', 'NAME') }} for a password): write the value"},
		{"other lookup", head + "    fw1:\n      ansible_password: \"{{ lookup('file', '/x') }}\"\n",
			"inv.yaml:7:25: host fw1: ansible_password: a secret must be written as a reference"},
		{"connection", "all:\n  hosts:\n    fw1:\n      ansible_connection: local\n      ansible_network_os: panos\n",
			`inv.yaml:4:27: host fw1: ansible_connection "local" is not read: want ansible.netcommon.network_cli (SSH) or ansible.netcommon.httpapi (XML API)`},
		{"no connection", "all:\n  hosts:\n    fw1:\n      ansible_host: 192.0.2.1\n",
			"inv.yaml:3:5: host fw1: ansible_connection is not set: want ansible.netcommon.network_cli (SSH) or ansible.netcommon.httpapi (XML API), with ansible_network_os: paloaltonetworks.panos.panos"},
		{"network os", "all:\n  hosts:\n    sw1:\n      ansible_connection: network_cli\n      ansible_network_os: cisco.ios.ios\n",
			`inv.yaml:5:27: host sw1: ansible_network_os "cisco.ios.ios" is not PAN-OS: want paloaltonetworks.panos.panos`},
		{"http", "all:\n  hosts:\n    fw1:\n      ansible_connection: httpapi\n      ansible_network_os: panos\n      ansible_httpapi_use_ssl: false\n",
			`inv.yaml:6:32: host fw1: ansible_httpapi_use_ssl "false": the XML API is reached over HTTPS only; set it to true`},
		{"ssh args", head + "    fw1:\n      ansible_ssh_common_args: -o ProxyJump=bastion\n",
			"inv.yaml:7:7: host fw1: ansible_ssh_common_args is not read: put ProxyJump and other OpenSSH options in ~/.ssh/config (or ssh_config: of a runbook inventory)"},
		{"bad port", head + "    fw1:\n      ansible_port: ssh\n",
			`inv.yaml:7:21: host fw1: ansible_port: want a port number, not "ssh"`},
		{"range", head + "    fw[01:04]:\n",
			"inv.yaml:6:5: host fw[01:04]: host ranges are not read: list each host"},
		{"unknown group key", "all:\n  hots:\n    fw1:\n",
			`inv.yaml:2:3: group all: unknown key "hots" (want hosts, children or vars)`},
		{"group named as a host", head + "    fw1:\n  children:\n    fw1:\n      hosts:\n        fw2:\n",
			"inv.yaml:8:5: group fw1 has the name of a host"},
		{"cycle", head + "    fw1:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n",
			"inv.yaml:8:5: group a is its own descendant (all > a > b > a)"},
		{"ini", "# hosts\n[firewalls]\nfw1 ansible_host=192.0.2.1\n",
			"inv.yaml:2:1: an Ansible inventory in the INI form is not read: write it in the YAML form (ansible-inventory -i inv.yaml --list --yaml > inventory.yaml)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sshHome(t, "")
			dir := t.TempDir()
			_, err := parse(t, dir, tt.src)
			want := filepath.Join(dir, tt.want)
			if tt.name == "ini" {
				want = strings.ReplaceAll(want, "-i inv.yaml", "-i "+filepath.Join(dir, "inv.yaml"))
			}
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got  %v\nwant %s", err, want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter22") {
				t.Errorf("the secret is echoed: %v", err)
			}
			if tt.name == "literal password in group vars, reported once" && strings.Count(err.Error(), "ansible_password") != 1 {
				t.Errorf("reported more than once: %v", err)
			}
		})
	}
}

// TestAnsibleWithSSHConfig: an Ansible host reached over SSH takes
// ~/.ssh/config's settings for its ansible_host.
func TestAnsibleWithSSHConfig(t *testing.T) {
	sshHome(t, "Host 198.51.100.11\n  ProxyJump ops@bastion:2200\n")
	inv, err := inventory.Load("testdata/ansible.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if j := inv.Targets["fw-east-1"].Jumps; len(j) != 1 || j[0].Host != "bastion" || j[0].Port != 2200 || j[0].User != "ops" {
		t.Errorf("jumps %+v", j)
	}
}

func TestExampleAnsibleInventory(t *testing.T) {
	sshHome(t, "")
	inv, err := inventory.Load("../examples/ansible-inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Format != inventory.FormatAnsible || len(inv.Targets) != 5 || inv.Targets["lab-fw"].Host != "192.0.2.3" {
		t.Errorf("example: format %s, %d targets, lab-fw %+v", inv.Format, len(inv.Targets), inv.Targets["lab-fw"])
	}
}
