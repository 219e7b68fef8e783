package parse

import (
	"reflect"
	"strings"
	"testing"
)

// The implementations the byte-wise ones replaced (snake, isPrompt,
// errorLine: strings.ToLower, IndexAny, TrimLeft), kept to pin that the
// new ones give the same results: FuzzSameAsOld.

func errorLineOld(text string) (string, bool) {
	rest := text
	for rest != "" {
		end := strings.IndexAny(rest, "\r\n")
		if end < 0 {
			end = len(rest)
		}
		l := rest[:end]
		if end < len(rest) {
			end++
			if rest[end-1] == '\r' && end < len(rest) && rest[end] == '\n' {
				end++
			}
		}
		rest = rest[end:]
		t := strings.TrimLeft(l, " \t\v\f")
		for i := 0; i < len(t); i++ {
			if t[i] >= 0x80 {
				return errorLineOf(text) // a rune ToLower or TrimSpace may read otherwise
			}
		}
		for _, p := range errorPrefixes {
			if len(t) >= len(p) && strings.EqualFold(t[:len(p)], p) {
				return errorLineOf(text)
			}
		}
	}
	return "", false
}
func snakeOld(label string) string {
	if isSnake(label) {
		return label
	}
	return snakeOf(label)
}
func isPromptOld(l string) bool {
	t := strings.TrimSpace(l)
	if strings.HasPrefix(t, "> ") || t == ">" {
		return true
	}
	at := strings.IndexByte(t, '@')
	if at <= 0 {
		return false
	}
	end := strings.IndexAny(t, ">#")
	if end < at {
		return false
	}
	head := t[:end]
	if strings.ContainsAny(head, " \t") {
		return false
	}
	return end == len(t)-1 || t[end+1] == ' '
}
func keyValueTextOld(text string) map[string]any {
	out := map[string]any{}
	ls := lines(text)
	var stack []kvFrame
	for i, l := range ls {
		content := strings.TrimSpace(l)
		if content == "" || isPromptOld(l) {
			continue
		}
		indent := indentOf(l)
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		prefix := ""
		if len(stack) > 0 {
			prefix = stack[len(stack)-1].prefix + "_"
		}
		deeper := nextIndent(ls, i) > indent
		colon := strings.IndexByte(content, ':')
		// "tunnel  vpn_TEST:Red_1": a label, a gap, then a value that holds
		// a colon (a proxy-ID SA name). Such a colon comes after the gap and
		// is followed by more text, where a label's colon ends the label
		// ("enc  algorithm:  3DES", "start time      : ...").
		if gap := strings.Index(content, "  "); colon > 0 && gap > 0 && gap < colon &&
			strings.TrimSpace(content[gap:colon]) != "" &&
			colon+1 < len(content) && content[colon+1] != ' ' && content[colon+1] != '\t' {
			colon = -1
		}
		if colon > 0 {
			label := snakeOld(content[:colon])
			rest := strings.TrimSpace(content[colon+1:])
			if label == "" {
				continue
			}
			if rest == "" && deeper {
				stack = append(stack, kvFrame{indent, prefix + label})
				continue
			}
			for rest != "" && strings.IndexByte(rest, ':') >= 0 { // a second pair has a colon
				loc := secondPair.FindStringSubmatchIndex(rest)
				if loc == nil {
					break
				}
				setFirst(out, prefix+label, kvValue(rest[:loc[0]]))
				label = snakeOld(rest[loc[2]:loc[3]])
				rest = strings.TrimSpace(rest[loc[3]+1:])
			}
			setFirst(out, prefix+label, kvValue(rest))
			continue
		}
		if gap := strings.Index(content, "  "); gap > 0 {
			setFirst(out, prefix+snakeOld(content[:gap]), kvValue(content[gap:]))
			continue
		}
		if indent > 0 && deeper {
			stack = append(stack, kvFrame{indent, prefix + snakeOld(content)})
		}
	}
	return out
}

// FuzzSameAsOld pins that snake, isPrompt, errorLine and keyValueText give
// what the old implementations gave, for every line of any text and for
// the whole text.
func FuzzSameAsOld(f *testing.F) {
	seedTexts(f, false)
	for _, s := range []string{stepOutput, "", "Encap Packets", "SPI(in)", "  a__b  ", "K\u212aelvin", "ÄÖ ü", "x@y> z", "a>b@c> d", "admin@PA-1(active)# ", "@x>", "a@b>c", "a@b#", " \t\v\fUnknown command: x", "x\r\nInvalid syntax.\r", strings.Repeat("Long Label ", 10) + ": 1"} {
		f.Add(uint8(0), s)
	}
	f.Fuzz(func(t *testing.T, _ uint8, text string) {
		if got, want := keyValueText(text), keyValueTextOld(text); !reflect.DeepEqual(got, want) {
			t.Fatalf("keyValueText(%q)\n got %#v\nwant %#v", text, got, want)
		}
		gl, gb := errorLine(text)
		wl, wb := errorLineOld(text)
		if gl != wl || gb != wb {
			t.Fatalf("errorLine(%q) = %q, %v; old %q, %v", text, gl, gb, wl, wb)
		}
		for _, l := range append(strings.Split(text, "\n"), text) {
			if got, want := snake(l), snakeOld(l); got != want {
				t.Fatalf("snake(%q) = %q, old %q", l, got, want)
			}
			if got, want := isPrompt(l), isPromptOld(l); got != want {
				t.Fatalf("isPrompt(%q) = %v, old %v", l, got, want)
			}
		}
	})
}
