package parse

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sample reads testdata/name without its first line (the provenance line).
func sample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		first := s[:i]
		if !strings.HasPrefix(first, "#") && !strings.HasPrefix(first, "<!--") {
			t.Fatalf("%s: first line is not a provenance line: %q", name, first)
		}
		s = s[i+1:]
	}
	return s
}

// xmlResult decodes an XML API response the way the contract of
// transports.Result.Data describes it: the children of <result> as nested
// map[string]any / []any / string, repeated elements as []any, attributes
// ignored. A <result> with only character data is that string.
func xmlResult(t testing.TB, doc string) any {
	t.Helper()
	v, err := decodeResult(doc)
	if err != nil {
		t.Fatalf("decode xml: %v", err)
	}
	return v
}

func decodeResult(doc string) (any, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("no <result>")
			}
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "result" {
			return decodeElement(d, 0)
		}
	}
}

func decodeElement(d *xml.Decoder, depth int) (any, error) {
	if depth > 100 {
		return nil, fmt.Errorf("too deep")
	}
	var text strings.Builder
	var m map[string]any
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch x := tok.(type) {
		case xml.CharData:
			text.Write(x)
		case xml.StartElement:
			v, err := decodeElement(d, depth+1)
			if err != nil {
				return nil, err
			}
			if m == nil {
				m = map[string]any{}
			}
			k := x.Name.Local
			switch prev := m[k].(type) {
			case nil:
				m[k] = v
			case []any:
				m[k] = append(prev, v)
			default:
				m[k] = []any{prev, v}
			}
		case xml.EndElement:
			if m != nil {
				return m, nil
			}
			return text.String(), nil
		}
	}
}

// render writes v as JSON with sorted keys, keeping Go types visible:
// float64 always carries a decimal point, int64 never does. Any other type
// (int, float32, nil, ...) is an error: parsers promise only string, int64,
// float64, bool, []any and map[string]any.
func render(v any) (string, error) {
	var b bytes.Buffer
	if err := renderTo(&b, v, ""); err != nil {
		return "", err
	}
	b.WriteByte('\n')
	return b.String(), nil
}

func renderTo(b *bytes.Buffer, v any, ind string) error {
	switch x := v.(type) {
	case string:
		q, _ := jsonString(x)
		b.WriteString(q)
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("non-finite float %v", x)
		}
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		b.WriteString(s)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[\n")
		for i, e := range x {
			b.WriteString(ind + "  ")
			if err := renderTo(b, e, ind+"  "); err != nil {
				return err
			}
			if i < len(x)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(ind + "]")
	case map[string]any:
		if len(x) == 0 {
			b.WriteString("{}")
			return nil
		}
		ks := make([]string, 0, len(x))
		for k := range x {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		b.WriteString("{\n")
		for i, k := range ks {
			q, _ := jsonString(k)
			b.WriteString(ind + "  " + q + ": ")
			if err := renderTo(b, x[k], ind+"  "); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			if i < len(ks)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(ind + "}")
	default:
		return fmt.Errorf("value of type %T", v)
	}
	return nil
}

func jsonString(s string) (string, error) {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got map[string]any) {
	t.Helper()
	s, err := render(got)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./parse -update)", err)
	}
	if s != string(want) {
		t.Errorf("%s differs from the golden file (go test ./parse -update to accept):\n%s", p, diff(string(want), s))
	}
}

// diff lists the first lines that differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, a, c)
			if n++; n == 10 {
				break
			}
		}
	}
	return b.String()
}
