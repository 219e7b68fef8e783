package xmlapi

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/transports"
)

func TestParseResponseText(t *testing.T) {
	body := "<response status=\"success\"><result><![CDATA[\nThu Aug 27 10:00:00 UTC 2026\n]]></result></response>"
	res, err := ParseResponse([]byte(body), "show clock")
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "Thu Aug 27 10:00:00 UTC 2026" || res.Data != "Thu Aug 27 10:00:00 UTC 2026" {
		t.Errorf("got Text %q Data %#v", res.Text, res.Data)
	}
}

func TestParseResponseStructured(t *testing.T) {
	body := `<response status = 'success'><result><entries>
<entry name="a"><gwid>90</gwid><tid>207</tid><name>sap-sap</name></entry>
<entry><gwid>91</gwid><tid>208</tid><name>b</name></entry>
</entries><ntun>2</ntun></result></response>`
	res, err := ParseResponse([]byte(body), "show vpn ipsec-sa")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"ntun": "2",
		"entries": map[string]any{"entry": []any{
			map[string]any{"@name": "a", "gwid": "90", "tid": "207", "name": "sap-sap"},
			map[string]any{"gwid": "91", "tid": "208", "name": "b"},
		}},
	}
	if !reflect.DeepEqual(res.Data, want) {
		t.Errorf("Data\n got %#v\nwant %#v", res.Data, want)
	}
	wantText := `<entries>
  <entry name="a">
    <gwid>90</gwid>
    <tid>207</tid>
    <name>sap-sap</name>
  </entry>
  <entry>
    <gwid>91</gwid>
    <tid>208</tid>
    <name>b</name>
  </entry>
</entries>
<ntun>2</ntun>`
	if res.Text != wantText {
		t.Errorf("Text\n got %s\nwant %s", res.Text, wantText)
	}
}

func TestParseResponseSystemInfo(t *testing.T) {
	body, err := os.ReadFile("testdata/show_system_info.xml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := ParseResponse(body, "show system info")
	if err != nil {
		t.Fatal(err)
	}
	sys := res.Data.(map[string]any)["system"].(map[string]any)
	for k, want := range map[string]string{"hostname": "PA-FIREWALL-01", "model": "PA-440", "serial": "012345678901", "sw-version": "10.1.12", "time": "Thu Jan 29 16:35:59 2026"} {
		if sys[k] != want {
			t.Errorf("system/%s = %#v, want %q", k, sys[k], want)
		}
	}
	if zs, ok := sys["ZTP"].([]any); !ok || len(zs) != 2 {
		t.Errorf("repeated ZTP = %#v, want a []any of 2", sys["ZTP"])
	}
}

func TestParseResponseErrors(t *testing.T) {
	tests := []struct {
		name, body, code, msg string
		unknown               bool
	}{
		{"msg line", `<response status="error" code="17"><msg><line><![CDATA[ show -> foo  is unexpected]]></line></msg></response>`, "17", "show -> foo  is unexpected", true},
		{"lines joined", `<response status="error" code="12"><msg><line>a</line><line>b</line></msg></response>`, "12", "a | b", false},
		{"msg text", `<response status="error" code="1"><msg>Unknown command</msg></response>`, "1", "Unknown command", true},
		{"result msg", `<response status = 'error' code = '403'><result><msg>Invalid credentials.</msg></result></response>`, "403", "Invalid credentials.", false},
		{"result msg line", `<response status="error" code="18"><result><msg><line>bad</line></msg></result></response>`, "18", "bad", false},
		{"no message", `<response status="error" code="7"></response>`, "7", "object not present", false},
		{"success with bad code", `<response status="success" code="14"><msg>nope</msg></response>`, "14", "nope", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseResponse([]byte(tt.body), "cmd")
			var de *transports.DeviceError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a DeviceError", err)
			}
			if de.Code != tt.code || de.Message != tt.msg || de.Command != "cmd" {
				t.Errorf("got code %q msg %q command %q", de.Code, de.Message, de.Command)
			}
			if errors.Is(err, transports.ErrUnknownCommand) != tt.unknown {
				t.Errorf("errors.Is(ErrUnknownCommand) = %v, want %v", !tt.unknown, tt.unknown)
			}
		})
	}
}

func TestParseResponseMalformed(t *testing.T) {
	for _, body := range []string{``, `not xml`, `<html><body>login</body></html>`, `<response status="success"><result>`,
		`<response/><response/>`, `text<response/>`, strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)} {
		_, err := ParseResponse([]byte(body), "cmd")
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseResponse(%q) = %v, want ErrMalformed", body, err)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`<response status="success"><result><a><b>1</b><b>2</b></a></result></response>`))
	f.Add([]byte(`<response status="error" code="17"><msg><line>x</line></msg></response>`))
	f.Add([]byte("<response status=\"success\"><result><![CDATA[text]]></result></response>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := ParseResponse(body, "cmd")
		if err != nil {
			var de *transports.DeviceError
			if !errors.As(err, &de) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is neither a DeviceError nor ErrMalformed", err)
			}
			return
		}
		if res.Data == nil {
			t.Fatal("success without Data")
		}
	})
}

// TestNotOverAPI: the API's refusal of a command it does not take from its
// clients ("debug not available to xmlapi client", the words PAN-OS gave
// in PaloAltoNetworks/pan-os-python issue 509; the envelope around them
// is ours) is ErrNotOverAPI, not an unknown command: the CLI runs it.
func TestNotOverAPI(t *testing.T) {
	body := `<response status="error" code="17"><msg><line> debug not available to xmlapi client</line></msg></response>`
	_, err := ParseResponse([]byte(body), "debug ike global on debug")
	var de *transports.DeviceError
	if !errors.As(err, &de) || !errors.Is(err, transports.ErrNotOverAPI) || errors.Is(err, transports.ErrUnknownCommand) {
		t.Fatalf("err = %v, want a DeviceError wrapping ErrNotOverAPI only", err)
	}
	if de.Message != "debug not available to xmlapi client" || de.Code != "17" {
		t.Errorf("DeviceError %+v", de)
	}
	other := `<response status="error" code="17"><msg><line> show bogus -> bogus  is unexpected</line></msg></response>`
	if _, err := ParseResponse([]byte(other), "show bogus"); errors.Is(err, transports.ErrNotOverAPI) || !errors.Is(err, transports.ErrUnknownCommand) {
		t.Errorf("an unknown command: %v", err)
	}
}
