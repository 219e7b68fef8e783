package playbook

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/expr-lang/expr/vm"
)

// loadBoth loads src named file whole and as a stream; streamed says the
// stream took it.
func loadBoth(file string, src []byte) (whole, stream *Playbook, streamed bool, wholeErr error) {
	read := func(n string) ([]byte, error) {
		if n == file {
			return src, nil
		}
		return os.ReadFile(n)
	}
	join := func(from, rel string) string { return filepath.Join(filepath.Dir(from), rel) }
	whole, wholeErr = loadWhole(file, src, read, join)
	stream, streamed = loadStream(file, src, read, join)
	return
}

// samePlaybook reports where a and b differ, "" when they do not: compiled
// programs are compared by their source, regexps by theirs.
func samePlaybook(a, b *Playbook) string {
	return sameValue(reflect.ValueOf(a), reflect.ValueOf(b), "playbook")
}

var (
	programType = reflect.TypeOf((*vm.Program)(nil))
	regexpType  = reflect.TypeOf((*regexp.Regexp)(nil))
)

func sameValue(a, b reflect.Value, path string) string {
	if a.Type() != b.Type() {
		return path + ": types differ"
	}
	switch {
	case a.Type() == programType:
		if a.IsNil() != b.IsNil() || !a.IsNil() && a.Interface().(*vm.Program).Source().String() != b.Interface().(*vm.Program).Source().String() {
			return path + ": programs differ"
		}
		return ""
	case a.Type() == regexpType:
		if a.IsNil() != b.IsNil() || !a.IsNil() && a.Interface().(*regexp.Regexp).String() != b.Interface().(*regexp.Regexp).String() {
			return path + ": regexps differ"
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": one is nil"
			}
			return ""
		}
		return sameValue(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := range a.NumField() {
			if d := sameValue(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if a.Kind() == reflect.Slice && a.IsNil() != b.IsNil() {
			return path + ": one slice is nil"
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: lengths %d and %d", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := sameValue(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if a.Len() != b.Len() || a.IsNil() != b.IsNil() {
			return path + ": maps differ in size"
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("%s[%v]: missing", path, k)
			}
			if d := sameValue(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", path, k)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Func:
		if a.IsNil() != b.IsNil() {
			return path + ": funcs differ"
		}
		return ""
	}
	var same bool
	switch a.Kind() {
	case reflect.Bool:
		same = a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		same = a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		same = a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		same = a.Float() == b.Float()
	case reflect.String:
		same = a.String() == b.String()
	default:
		return path + ": cannot compare " + a.Kind().String()
	}
	if !same {
		return fmt.Sprintf("%s: %v != %v", path, a, b)
	}
	return ""
}

// TestStreamMatchesWhole loads every good and built-in playbook (and a long generated
// one) whole and as a stream: whatever the stream takes, it must load
// exactly as the whole file does; the generated one and most good ones
// must be taken.
func TestStreamMatchesWhole(t *testing.T) {
	names, _ := filepath.Glob("testdata/good/*.yaml")
	builtin, _ := filepath.Glob("../../playbooks/*.yaml")
	names = append(names, builtin...)
	var b strings.Builder
	b.WriteString("name: big\ntitle: Big\n# the steps\nsteps:\n\n")
	for i := range 300 {
		fmt.Fprintf(&b, "  - id: s%d\n    run: show x %d\n    parse: keyvalue\n", i, i)
		if i%10 == 0 {
			fmt.Fprintf(&b, "    undo: debug off ${ params.n } %d\n    when: params.n > 0 # a comment\n\n# between\n", i)
		}
	}
	b.WriteString("params:\n  n: {type: int, default: 1}\ncleanup:\n  - run: debug off\n")
	srcs := map[string][]byte{"generated.yaml": []byte(b.String())}
	for _, n := range names {
		src, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		srcs[n] = src
	}
	streamed := 0
	for name, src := range srcs {
		whole, stream, ok, err := loadBoth(name, src)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !ok {
			t.Logf("%s: loaded whole", name)
			continue
		}
		streamed++
		if d := samePlaybook(whole, stream); d != "" {
			t.Errorf("%s: the stream loads it differently: %s", name, d)
		}
	}
	if _, _, ok, _ := loadBoth("generated.yaml", srcs["generated.yaml"]); !ok {
		t.Error("the generated playbook was not streamed")
	}
	if streamed < len(srcs)/2 {
		t.Errorf("only %d of %d playbooks streamed", streamed, len(srcs))
	}
}

// TestStreamRefuses pins texts the stream must leave to the whole-file
// load: each reads differently, or not at all, once cut into items.
func TestStreamRefuses(t *testing.T) {
	head := "name: x\ntitle: X\n"
	for name, src := range map[string]string{
		"flow list":        head + "steps: [{run: a}]\n",
		"anchor":           head + "steps:\n  - &a\n    run: a\n  - *a\n",
		"anchor in head":   "name: &n x\ntitle: X\nsteps:\n  - run: a\n",
		"tab":              head + "steps:\n  - run: \"a\tb\"\n",
		"crlf":             head + "steps:\r\n  - run: a\r\n",
		"document marker":  "---\n" + head + "steps:\n  - run: a\n",
		"quote across":     head + "steps:\n  - run: \"a\n  - b\"\n",
		"less indented":    head + "steps:\n  - run: a\n b: c\n",
		"two steps keys":   head + "steps:\n  - run: a\nsteps:\n  - run: b\n",
		"inside a string":  "name: x\ntitle: \"X\nsteps:\n  - run: a\"\nsteps:\n  - run: b\n",
		"no items":         head + "steps:\ncleanup:\n  - run: a\n",
		"error in a step":  head + "steps:\n  - run: a\n    undo: [\n",
		"error elsewhere":  head + "steps:\n  - run: a\nfindings: 3\n",
		"unknown step key": head + "steps:\n  - run: a\n    udno: b\n",
	} {
		t.Run(name, func(t *testing.T) {
			whole, _, ok, werr := loadBoth("x.yaml", []byte(src))
			if ok {
				t.Fatalf("streamed (whole: %v, %v)", whole != nil, werr)
			}
		})
	}
}
