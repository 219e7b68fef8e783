package ssh

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The regexps refusal and appendClean replaced, kept as their oracles.
var (
	refusalRE = regexp.MustCompile(`(?m)^\s*(Unknown command:.*|Invalid [Ss]yntax\..*|Validation Error:.*|Server error.*)$`)
	ansiOnly  = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]`)
)

func oracleRefusal(out string) (string, bool) {
	if m := refusalRE.FindStringSubmatch(out); m != nil {
		return m[1], true
	}
	return "", false
}

func oracleClean(b []byte) []byte {
	b = ansiOnly.ReplaceAll(b, nil)
	b = bytes.ReplaceAll(b, []byte("\r"), nil)
	return bytes.ReplaceAll(b, []byte{0}, nil)
}

var refusalCases = []string{
	"",
	"Unknown command: frobnicate\n",
	"\n\n  Unknown command: frobnicate\n",
	"ok\n \t Invalid syntax.\n",
	"Invalid Syntax.\nmore\n",
	"Validation Error:\n host '1.2.3' is not a valid IP address\n",
	"Server error : boom\n",
	"Server error",
	"Server erro\n",
	"tunnel  sap-sap\n        id:  207\n",
	"the Unknown command: is not at the start\n",
	"\r\n\fServer error x\r\n",
	"\vServer error\n",
	"Invalid syntax\n",
	"line\nUnknown command:",
}

func TestRefusalMatchesRegexp(t *testing.T) {
	for _, out := range refusalCases {
		got, ok := refusal(out)
		want, wantOK := oracleRefusal(out)
		if got != want || ok != wantOK {
			t.Errorf("refusal(%q) = %q, %v; the regexp says %q, %v", out, got, ok, want, wantOK)
		}
	}
}

func FuzzRefusal(f *testing.F) {
	for _, c := range refusalCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, out string) {
		got, ok := refusal(out)
		want, wantOK := oracleRefusal(out)
		if got != want || ok != wantOK {
			t.Errorf("refusal(%q) = %q, %v; the regexp says %q, %v", out, got, ok, want, wantOK)
		}
	})
}

var cleanCases = []string{
	"",
	"plain text\n",
	"show clock\r\nTue Dec  1 10:00:00 UTC 2026\r\n\r\nadmin@pa-sim> ",
	"\x1b[?1h\x1b=admin@fw> \x1b[K",
	"a\x00b\r\rc",
	"\x1b[\r1m",
	"\x1b(B\x1b)0\x1b>x",
	"\x1b",
	"--more--\r        \r",
}

func TestAppendCleanMatchesRegexp(t *testing.T) {
	for _, in := range cleanCases {
		if got, want := appendClean([]byte("kept"), []byte(in)), append([]byte("kept"), oracleClean([]byte(in))...); !bytes.Equal(got, want) {
			t.Errorf("appendClean(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzAppendClean(f *testing.F) {
	for _, c := range cleanCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if got, want := appendClean(nil, in), oracleClean(in); !bytes.Equal(got, want) {
			t.Errorf("appendClean(%q) = %q, want %q", in, got, want)
		}
	})
}

func BenchmarkAppendClean(b *testing.B) {
	chunk := bytes.Repeat([]byte("        inner interface:        tunnel.10\r\n"), 30)
	var dst []byte
	for b.Loop() {
		dst = appendClean(dst[:0], chunk)
	}
}

var tailCases = []string{
	"", " ", "show vpn flow tu", "Are you sure? (y or n) ", "(y or n)?", "--more--", "--more--  \n",
	"(yes/no)?:", "(yes/no)", "Password: ", "password:", "lines 1-24 ", "lines 1-24", "lines 1-",
	"admin@fw> ", "admin@fw(active)# ", "admin@fw>  ", "x>", "#", "ok\t",
}

// TestPrefiltersAgreeWithRegexps checks that the quick tests before the
// prompt and question regexps never skip a text the regexp matches.
func TestPrefiltersAgreeWithRegexps(t *testing.T) {
	prompt := regexp.MustCompile(`(?:^|\n)(\[edit\]\n)?` + regexp.QuoteMeta("admin@fw") + `(?:\([\w.\-]+\))?[>#] ?$`)
	for _, c := range tailCases {
		checkPrefilters(t, prompt, []byte(c))
	}
}

func checkPrefilters(t *testing.T, prompt *regexp.Regexp, b []byte) {
	t.Helper()
	if unexpectedPrompt.Match(b) && !mayAskUnexpected(b) {
		t.Errorf("mayAskUnexpected(%q) = false, the regexp matches", b)
	}
	for _, re := range []*regexp.Regexp{prompt, anyPrompt} {
		if re.Match(b) && !endsLikePrompt(b) {
			t.Errorf("endsLikePrompt(%q) = false, %v matches", b, re)
		}
	}
}

func FuzzPrefilters(f *testing.F) {
	for _, c := range tailCases {
		f.Add([]byte(c))
	}
	prompt := regexp.MustCompile(`(?:^|\n)(\[edit\]\n)?` + regexp.QuoteMeta("admin@fw") + `(?:\([\w.\-]+\))?[>#] ?$`)
	f.Fuzz(func(t *testing.T, b []byte) { checkPrefilters(t, prompt, b) })
}

// oracleFinish is finish as it was written on strings.
func oracleFinish(out, cli string) string {
	if i := strings.IndexByte(out, '\n'); i >= 0 && strings.TrimSpace(out[:i]) == strings.TrimSpace(cli) {
		out = out[i+1:]
	} else if strings.TrimSpace(out) == strings.TrimSpace(cli) {
		out = ""
	}
	out = strings.TrimLeft(out, "\n")
	out = strings.TrimRight(out, " \n\t")
	if out != "" {
		out += "\n"
	}
	return out
}

func FuzzFinishText(f *testing.F) {
	f.Add("show clock\nTue Dec  1 10:00:00 UTC 2026\n\n", "show clock")
	f.Add(" show clock \n\n\nx \t\n", "show clock ")
	f.Add("show clock", "show clock")
	f.Add("", "")
	f.Add("\u00a0show clock\u2003\nx", "show clock")
	f.Fuzz(func(t *testing.T, out, cli string) {
		if got, want := finishText([]byte(out), cli, nil), oracleFinish(out, cli); got != want {
			t.Errorf("finishText(%q, %q) = %q, want %q", out, cli, got, want)
		}
	})
}

// promptRE is the prompt promptAt finds, as a regexp: its oracle.
func promptRE(userHost string) *regexp.Regexp {
	return regexp.MustCompile(`(?:^|\n)(\[edit\]\n)?` + regexp.QuoteMeta(userHost) + `(?:\([\w.\-]+\))?[>#] ?$`)
}

var promptCases = []string{
	"", ">", "admin@fw1> ", "admin@fw1>", "admin@fw1# ", "admin@fw1>  ", "xadmin@fw1> ",
	"show clock\nTue Dec  1 10:00:00 UTC 2026\n\nadmin@fw1> ",
	"[edit]\nadmin@fw1# ", "configure\nEntering configuration mode\n[edit]\nadmin@fw1# ",
	"\n[edit]\nadmin@fw1# ", "x[edit]\nadmin@fw1# ", "[edit]\n\nadmin@fw1# ",
	"admin@fw1(active)> ", "admin@fw1(passive)# ", "admin@fw1(suspended)> ", "admin@fw1(active-primary)> ",
	"admin@fw1()> ", "admin@fw1(act ive)> ", "admin@fw1(a)(b)> ", "[edit]\nadmin@fw1(active)# ",
	"out\nadmin@fw1> more", "admin@fw2> ", "admin@fw1.example> ",
}

func TestPromptAtMatchesRegexp(t *testing.T) {
	for _, uh := range []string{"admin@fw1", "a(b@fw1", "a)@fw1", "x.y@pa-5060"} {
		re := promptRE(uh)
		for _, c := range promptCases {
			checkPromptAt(t, re, uh, c)
			checkPromptAt(t, re, uh, strings.ReplaceAll(c, "admin@fw1", uh))
		}
	}
}

func checkPromptAt(t *testing.T, re *regexp.Regexp, userHost, text string) {
	t.Helper()
	want := -1
	if loc := re.FindStringIndex(text); loc != nil {
		want = loc[0]
	}
	if got := promptAt([]byte(text), userHost); got != want {
		t.Errorf("promptAt(%q, %q) = %d, the regexp says %d", text, userHost, got, want)
	}
}

func FuzzPromptAt(f *testing.F) {
	for _, c := range promptCases {
		f.Add(c, "admin@fw1")
	}
	f.Add("a)(x)> ", "a)")
	f.Fuzz(func(t *testing.T, text, userHost string) {
		if userHost == "" || !utf8.ValidString(userHost) {
			return // the regexp cannot say it: no oracle
		}
		checkPromptAt(t, promptRE(userHost), userHost, text)
	})
}
