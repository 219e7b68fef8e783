package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindSecrets checks the grep the other tests rely on finds a secret
// anywhere: deep in the run folder, in the middle of a binary file, in a
// stream, and a keygen key by its prefix.
func TestFindSecrets(t *testing.T) {
	sec := newSecrets(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "steps"), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("manifest.json", `{"params": {"scp_password": "env:E2E_SCP_PASSWORD"}}`)
	leaks, files, err := findSecrets(sec, dir, map[string][]byte{"stderr": []byte("runbook: ok\n")})
	if err != nil || files != 1 || len(leaks) != 0 {
		t.Fatalf("clean folder: leaks %q, files %d, err %v", leaks, files, err)
	}

	write("steps/001-x.txt", "Password: "+sec.sshPassword+"\n")
	write("artifacts.bin", "\x00\x01"+sec.apiKey+"\xff")
	streams := map[string][]byte{"stdout": []byte("scp " + sec.scpPassword), "stderr": []byte("<key>LUFRPTabc</key>")}
	leaks, _, err = findSecrets(sec, dir, streams)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"artifacts.bin holds a secret (apikey...)", "001-x.txt holds a secret (sshpw-...)",
		"stderr holds a secret (LUFRPT...)", "stdout holds a secret (scppw-...)"}
	if len(leaks) != len(want) {
		t.Fatalf("leaks %q, want %d", leaks, len(want))
	}
	for i, w := range want {
		if !strings.HasSuffix(leaks[i], w) {
			t.Errorf("leak %d: %q, want ...%q", i, leaks[i], w)
		}
	}
	for _, l := range leaks {
		for _, s := range sec.all()[:4] {
			if strings.Contains(l, s) {
				t.Errorf("the report of a leak prints the secret: %q", l)
			}
		}
	}
}
