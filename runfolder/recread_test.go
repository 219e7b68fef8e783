package runfolder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/engine"
)

// recordJSONCases are JSON texts of step records: each of recordCases
// compact and indented as the manifest holds it, and forms only another
// writer would give (keys in other cases or unknown, null, escapes,
// numbers out of an int, duplicate keys, invalid JSON).
func recordJSONCases(t testing.TB) [][]byte {
	var srcs [][]byte
	for _, rec := range recordCases() {
		b, err := json.Marshal(rec)
		if err != nil {
			continue
		}
		ind, err := appendIndent(nil, b, "    ", "  ")
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, b, ind)
	}
	for _, s := range []string{
		`{}`, ` { } `, `{"seq":1}`, `{"Seq":1}`, `{"SEQ":2,"seq":3}`, `{"seq":1,"seq":2}`, `{"seq":null}`, `{"id":null}`,
		`{"accepted_form":null}`, `{"accepted_form":0}`, `{"accepted_form":-7}`, `{"not_evidence":false}`, `{"not_evidence":true}`,
		`{"not_evidence":1}`, `{"not_evidence":tru}`, `{"seq":1.5}`, `{"seq":1e3}`, `{"seq":01}`, `{"seq":-0}`, `{"seq":-}`,
		`{"seq":123456789012345678}`, `{"seq":1234567890123456789}`, `{"seq":99999999999999999999}`, `{"seq":"1"}`,
		`{"id":"a\"b"}`, `{"id":"\u0041"}`, `{"id":"é"}`, `{"id":"a` + "\t" + `b"}`, `{"id":"\xff"}`, `{"i\u0064":"x"}`,
		`{"start":"2026-11-27T10:02:33Z"}`, `{"start":"2026-11-27T10:02:33+01:00"}`, `{"start":"2026-11-27 10:02:33Z"}`,
		`{"start":"2026-11-27T10:02:33.123456789123Z"}`, `{"start":null}`, `{"start":"x"}`, `{"end":"2026-02-30T10:02:33Z"}`,
		`{"refused":[]}`, `{"refused":[{"form":1,"command":"a","error":"b"}]}`, `{"unknown":1}`, `{"unknown":{"a":[1]}}`,
		`{"seq":1,}`, `{,}`, `{"seq" 1}`, `{"seq":1 "id":"x"}`, `{"seq":1}x`, `{"seq":1}}`, `{"seq":1`, `{"id":"x`, `{`, ``,
		`[]`, `null`, `"s"`, `{"id":"x"} `, "\n{\"id\":\r\n\t\"x\"}\n",
		`{"lets":[]}`, `{"lets":null}`, `{"lets":{}}`, `{"lets":"x"}`, `{"lets":[{"name":"a","value":"b"}]}`, `{"lets":[{"value":"b","name":"a"}]}`,
		`{"lets":[{"name":"a","value":"b"},{"name":"c","value":""}]}`, `{"lets":[{"name":"a"}]}`, `{"lets":[{}]}`, `{"lets":[null]}`,
		`{"lets":[{"name":"a","value":"b","x":1}]}`, `{"lets":[{"Name":"a","value":"b"}]}`, `{"lets":[{"name":1,"value":"b"}]}`,
		`{"lets":[{"name":"a","value":"b","name":"c"}]}`, `{"lets":[{"name":"a","value":"b"}],"lets":[{"name":"c"}]}`,
		`{"lets":[{"name":"a","value":"b"},{"name":"x","value":"y"}],"lets":[{"name":"c","value":"d"}]}`,
		`{"lets":[{"name":"a","value":"\u00ab"}]}`, `{"lets":[{"name":"a","value":"b"},]}`, `{"lets":[{"name":"a","value":"b"}`,
		`{"lets":[{"name":"a","value":"b"} , { "name" : "c" , "value" : "d" } ]}`, `{"lets":[{"name":"a","value":"b"}{"name":"c","value":"d"}]}`,
	} {
		srcs = append(srcs, []byte(s))
	}
	return srcs
}

// sameAsUnmarshal fails t unless unmarshalRecord decodes src as
// json.Unmarshal does: the same record, or an error where it fails.
func sameAsUnmarshal(t testing.TB, src []byte) {
	t.Helper()
	var want engine.StepRecord
	werr := json.Unmarshal(src, &want)
	var got engine.StepRecord
	got.Seq, got.Note = 99, "left over"
	err := unmarshalRecord(src, &got)
	if (err != nil) != (werr != nil) {
		t.Fatalf("%q: error %v, json.Unmarshal's %v", src, err, werr)
	}
	if werr != nil {
		if err.Error() != werr.Error() {
			t.Fatalf("%q: error %q, json.Unmarshal's %q", src, err, werr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", src, got, want)
	}
}

// TestUnmarshalRecordAsUnmarshal: unmarshalRecord decodes each record as
// json.Unmarshal does, and decodes the usual one itself.
func TestUnmarshalRecordAsUnmarshal(t *testing.T) {
	for _, src := range recordJSONCases(t) {
		sameAsUnmarshal(t, src)
	}
	cases := recordCases()
	for _, rec := range append(cases[1:3:3], cases[13]) { // the usual records, one with lets
		b, err := appendJSON(nil, rec)
		if err != nil {
			t.Fatal(err)
		}
		ind, err := appendIndent(nil, b, "    ", "  ")
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range [][]byte{b, ind} {
			var got engine.StepRecord
			if !decodeRecord(src, &got) {
				t.Errorf("record %d: the usual record %s is left to json.Unmarshal", rec.Seq, src)
			}
		}
	}
}

// TestDecodeRecordEveryField: a record with every field set (everyField)
// is decoded without json.Unmarshal, as json.Unmarshal decodes it, so a
// field added to engine.StepRecord and not to decodeRecord fails here
// rather than making every record take the slow way.
func TestDecodeRecordEveryField(t *testing.T) {
	rec := everyField(t, "decodeRecord")
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got, want engine.StepRecord
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !decodeRecord(b, &got) {
		t.Fatalf("decodeRecord does not know a field of engine.StepRecord: %s", b)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decodeRecord(%s):\n got %#v\nwant %#v", b, got, want)
	}
}

// FuzzUnmarshalRecord: for any bytes, unmarshalRecord gives what
// json.Unmarshal gives.
func FuzzUnmarshalRecord(f *testing.F) {
	for _, src := range recordJSONCases(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) { sameAsUnmarshal(t, src) })
}

// scanDecoder is scan as it was written with json.Decoder, which scan
// must agree with.
func scanDecoder(r io.Reader, fn func(engine.StepRecord) error) (*engine.Manifest, error) {
	dec := json.NewDecoder(r)
	delim := func(want json.Delim) error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); !ok || d != want {
			return fmt.Errorf("manifest: want %q, got %v", want, t)
		}
		return nil
	}
	if err := delim('{'); err != nil {
		return nil, err
	}
	var rest bytes.Buffer
	rest.WriteByte('{')
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("manifest: want a key, got %v", t)
		}
		if key == "steps" {
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			if t == nil {
				continue
			}
			if d, ok := t.(json.Delim); !ok || d != '[' {
				return nil, fmt.Errorf("manifest: steps: want an array, got %v", t)
			}
			for dec.More() {
				var rec engine.StepRecord
				if err := dec.Decode(&rec); err != nil {
					return nil, err
				}
				if err := fn(rec); err != nil {
					return nil, err
				}
			}
			if err := delim(']'); err != nil {
				return nil, err
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if rest.Len() > 1 {
			rest.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		rest.Write(k)
		rest.WriteByte(':')
		rest.Write(raw)
	}
	if err := delim('}'); err != nil {
		return nil, err
	}
	rest.WriteByte('}')
	var m engine.Manifest
	if err := json.Unmarshal(rest.Bytes(), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// sameAsDecoder fails t unless scan reads src as scanDecoder does: the
// same records handed over in the same order, the same manifest, an
// error where it fails (its words may differ). Reads come a few bytes at
// a time, so values cross the lexer's buffer.
func sameAsDecoder(t testing.TB, src []byte) {
	t.Helper()
	var want, got []engine.StepRecord
	wm, werr := scanDecoder(bytes.NewReader(src), func(s engine.StepRecord) error { want = append(want, s); return nil })
	l := newLexer(&chunked{src: src, n: 7})
	l.buf = l.buf[:5]
	gm, err := scanLexer(l, func(s engine.StepRecord) error { got = append(got, s); return nil })
	if (err != nil) != (werr != nil) {
		t.Fatalf("%q: error %v, json.Decoder's %v", src, err, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: steps\n got %#v\nwant %#v", src, got, want)
	}
	if werr == nil && !reflect.DeepEqual(gm, wm) {
		t.Fatalf("%q: manifest\n got %#v\nwant %#v", src, gm, wm)
	}
	// and so in batches, reused, with the strings made a batch at a time,
	// values crossing the lexer's buffer or read where they lie: the same
	// records, but those of a batch an error ends
	for _, small := range []bool{true, false} {
		var b []engine.StepRecord
		l := newLexer(bytes.NewReader(src))
		if small {
			l = newLexer(&chunked{src: src, n: 7})
			l.buf = l.buf[:5]
		}
		batch := make([]engine.StepRecord, 3)
		bm, err := scanBatches(l, batch, &arena{}, func(recs []engine.StepRecord) ([]engine.StepRecord, error) {
			if len(recs) == 0 || len(recs) > 3 || &recs[0] != &batch[0] {
				t.Fatalf("%q: handed %d records, at %p, not the batch %p", src, len(recs), recs, batch)
			}
			b = append(b, recs...)
			return batch, nil
		})
		if (err != nil) != (werr != nil) {
			t.Fatalf("%q: in batches (small buffer %v): error %v, json.Decoder's %v", src, small, err, werr)
		}
		if werr == nil && !reflect.DeepEqual(bm, wm) {
			t.Fatalf("%q: in batches: manifest\n got %#v\nwant %#v", src, bm, wm)
		}
		if len(b) > len(want) || (werr == nil && len(b) != len(want)) || (len(b) > 0 && !reflect.DeepEqual(b, want[:len(b)])) {
			t.Fatalf("%q: in batches (small buffer %v): steps\n got %#v\nwant %#v", src, small, b, want)
		}
	}
	// and fn's error stops both after the first record
	stop := errors.New("stop")
	_, werr = scanDecoder(bytes.NewReader(src), func(engine.StepRecord) error { return stop })
	_, err = scan(bytes.NewReader(src), func(engine.StepRecord) error { return stop })
	if errors.Is(werr, stop) != errors.Is(err, stop) {
		t.Fatalf("%q: fn's error: got %v, json.Decoder's %v", src, err, werr)
	}
}

// chunked reads src n bytes at a time.
type chunked struct {
	src []byte
	n   int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.src) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.src[:min(c.n, len(c.src))])
	c.src = c.src[n:]
	return n, nil
}

// manifestCases are manifests writeManifest writes (no step, one, each
// of recordCases) and forms it never writes, valid or not.
func manifestCases(t testing.TB) [][]byte {
	t.Helper()
	m := &engine.Manifest{Playbook: engine.ManifestPlaybook{Name: "p"}, Target: engine.ManifestTarget{Name: "fw1"}, Status: "ok", Notes: []string{"n<1>"}, Params: map[string]any{"a": "b\"c", "n": 1.5}}
	var srcs [][]byte
	for _, recs := range [][]engine.StepRecord{nil, recordCases()[1:2], recordCases()} {
		var lines [][]byte
		for _, r := range recs {
			if b, err := json.Marshal(r); err == nil {
				lines = append(lines, b)
			}
		}
		path := t.TempDir() + "/manifest.json"
		_, err := writeManifest(path, m, func(fn func([]byte) error) error {
			for _, l := range lines {
				if err := fn(l); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, b)
		srcs = append(srcs, b[:len(b)/2], b[:len(b)-3])
		srcs = append(srcs, bytes.Replace(b, []byte(`"steps": [`), []byte(`"steps"  :  [ `), 1))
	}
	for _, s := range []string{
		`{}`, `{"steps":null}`, `{"steps":[]}`, `{"steps":[{}]}`, `{"steps":[{},]}`, `{"steps":[,{}]}`, `{"steps":[{} {}]}`,
		`{"steps":{}}`, `{"steps":"x"}`, `{"steps":1}`, `{"steps":[1]}`, `{"steps":[{"seq":"x"}]}`, `{"steps":[{"seq":1}],"steps":[{"seq":2}]}`,
		`{"playbook":"a","steps":[{"seq":1}],"target":"b"}`, `{"Steps":[{"seq":1}]}`, `{"st\u0065ps":[{"seq":1}]}`, `{"playbook":tru,"steps":[{}]}`,
		`{"playbook":"a"`, `{"playbook":"a",}`, `{"playbook" "a"}`, `{"playbook":"a" "target":"b"}`, `{1:2}`, `{"a":1}x`, `{"a":[1,2}]}`,
		`{"a":{"b":"}"}}`, `{"a":"\"}","steps":[{"note":"\\\"]"}]}`, `{"a":nul}`, `{"a":-}`, `{"a":1e5,"b":false,"c":null}`, `{"a":1"b"}`,
		`[]`, `null`, ``, ` `, `{`, `{"steps":[`, `{"steps":[{"seq":1}`, `{"steps":[{"seq":1}]`, "\ufeff{}", `{"steps":[{"seq":1}]}{`,
	} {
		srcs = append(srcs, []byte(s))
	}
	return srcs
}

// TestScanAsDecoder: scan reads each manifest as json.Decoder did.
func TestScanAsDecoder(t *testing.T) {
	for _, src := range manifestCases(t) {
		sameAsDecoder(t, src)
	}
	if _, err := scan(strings.NewReader(""), nil); err != io.EOF {
		t.Errorf("empty manifest: error %v, want io.EOF", err)
	}
	if _, err := scan(strings.NewReader(`{"steps":[`), nil); err != io.ErrUnexpectedEOF {
		t.Errorf("cut manifest: error %v, want io.ErrUnexpectedEOF", err)
	}
}

// FuzzScan: for any bytes, scan reads what json.Decoder read.
func FuzzScan(f *testing.F) {
	for _, src := range manifestCases(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) { sameAsDecoder(t, src) })
}
