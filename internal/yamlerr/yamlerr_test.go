package yamlerr

import (
	"fmt"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      string // "" when the text is one document
	}{
		{"one document", "a: 1\n", ""},
		{"leading ---", "---\na: 1\n", ""},
		{"document end", "a: 1\n...\n", ""},
		{"empty", "", ""},
		{"comment only", "# nothing\n", ""},
		{"second document", "a: 1\n---\nb: 2\n", "2:1: a second YAML document starts here (a stray ---?): the file must hold one document"},
		{"stray --- at the end", "a: 1\nb: 2\n---\n", "3:1: a second YAML document starts here (a stray ---?): the file must hold one document"},
		{"second document broken", "a: 1\n---\nb: [\n", "3:4: this [ is not closed: want ] at the end, items separated by commas"},
		{"unclosed [", "a: 1\nb: [1, 2\nc: 3\n", "2:4: this [ is not closed: want ] at the end, items separated by commas"},
		{"unclosed [ on line 1", "[1, 2\n", "1:1: this [ is not closed: want ] at the end, items separated by commas"},
		{"unclosed {", "a: 1\nb: {x: 1, y: [2]\n", "2:4: this { is not closed: want } at the end, items separated by commas"},
		{"invalid UTF-8", "a: 1\nb: \"x\xff\"\n", "2:6: invalid UTF-8 (byte 0xff): the file must be UTF-8 text"},
		{"control character", "a: 1\nbb: x\x01\n", "2:6: control character U+0001 is not allowed: write it as an escape in a double-quoted string, such as \"\\x01\""},
		{"tab under a key", "a: 1\nb:\n\tc: 2\n", "3:1: a tab in the indentation: YAML indents with spaces only"},
		{"tab after spaces", "a: 1\nb:\n  c: 2\n  \td: 3\n", "4:3: a tab in the indentation: YAML indents with spaces only"},
		{"tab in a list", "steps:\n  - note: hi\n\t- note: x\n", "3:1: a tab in the indentation: YAML indents with spaces only"},
		{"at sign", "a: 1\nb: @x\n", "2:4: a plain value cannot start with '@': quote the value"},
		{"key too deep", "a: 1\n  b: 2\n", "2:3: a key: value where none can start (wrong indentation, or a value holding \": \" that needs quotes)"},
		{"list in a mapping", "a: 1\n- b\n", "2:1: this line breaks the mapping above it: it is neither a key: value of it nor indented under one (wrong indentation?)"},
		{"item indented wrong", "name: x\nsteps:\n  - run: a\n   bad: b\n", "4:4: this line breaks the list above it: it is neither a - item of it nor indented under one (wrong indentation?)"},
		{"mapping broken deep", "x:\n  a: 1\n  b: 2\n  - c\n", "4:3: this line breaks the mapping above it: it is neither a key: value of it nor indented under one (wrong indentation?)"},
		{"unclosed [ after a multi-line list", "a: [1,\n  2]\nb: 3\nc: [4\nd: 5\n", "4:4: this [ is not closed: want ] at the end, items separated by commas"},
		{"unclosed [ at the end", "a: 1\nb: [\n", "2:4: this [ is not closed: want ] at the end, items separated by commas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, probs := Decode([]byte(tc.src))
			got := ""
			for _, p := range probs {
				got += fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Msg)
			}
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if tc.want == "" && doc == nil && tc.src != "" && tc.src[0] != '#' {
				t.Errorf("no document")
			}
		})
	}
}
