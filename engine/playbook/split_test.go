package playbook

import (
	"reflect"
	"strings"
	"testing"
)

// TestSplitTemplatePlain: a template without "${" splits as the general
// loop splits it (seen after a leading ${x}, which the shortcut does not
// take): one literal, itself, or nothing.
func TestSplitTemplatePlain(t *testing.T) {
	for _, s := range []string{"", "show clock", "$", "$$", "{", "}", "$ {x}", "a$b{c}", "show $x {y}", "é $", "50$"} {
		got, off, msg := splitTemplate(s)
		all, _, _ := splitTemplate("${x}" + s)
		if off != 0 || msg != "" || len(all) == 0 || len(got) != len(all)-1 || (len(got) > 0 && !reflect.DeepEqual(got, all[1:])) {
			t.Errorf("splitTemplate(%q) = %+v, %d, %q; the loop gives %+v", s, got, off, msg, all[1:])
		}
		if len(got) > 0 && (len(got) != 1 || got[0].lit != s) || len(got) == 0 && s != "" {
			t.Errorf("splitTemplate(%q) = %+v", s, got)
		}
		if strings.Contains(s, "${") {
			t.Fatalf("case %q holds ${", s)
		}
	}
}
