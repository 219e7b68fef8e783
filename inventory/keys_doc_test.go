package inventory

import (
	"os"
	"strings"
	"testing"
)

// TestTargetKeysDocumented: the README's table of inventory keys names
// every key a target may have, and examples/inventory.yaml shows each.
func TestTargetKeysDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../examples/inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for k := range targetKeys {
		if !strings.Contains(string(readme), "| `"+k+"`") && !strings.Contains(string(readme), ", `"+k+"`") {
			t.Errorf("README.md's inventory table does not name %s", k)
		}
		if !strings.Contains(string(example), "    "+k+":") {
			t.Errorf("examples/inventory.yaml does not show %s", k)
		}
	}
}
