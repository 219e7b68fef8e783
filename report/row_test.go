package report

import (
	"html/template"
	"strings"
	"testing"
)

// stepRowTemplate is the timeline row as the page template wrote it
// before Row: Row must write exactly what it wrote.
const stepRowTemplate = `<tr><td class="n">{{.Seq}}</td><td class="mono t">{{.Time}}</td><td class="s">{{with .ID}}<code>{{.}}</code>{{end}} <span class="muted">{{.Kind}}</span>{{with .Item}} <span class="muted">item {{.}}</span>{{end}}{{with .Via}} <span class="muted">via {{.}}</span>{{end}}</td><td class="cmd"><code>{{.Text}}</code>{{with .Lets}}<span class="note">let {{.}}</span>{{end}}{{with .Note}}<span class="note">{{.}}</span>{{end}}{{with .Error}}<span class="err">{{.}}</span>{{end}}</td><td class="st {{.Class}}">{{.Status}}</td><td class="o">{{if .Link}}<a href="{{.Output}}">{{.Output}}</a>{{else}}{{.Output}}{{end}}</td></tr>`

func TestStepRow(t *testing.T) {
	tmpl := template.Must(template.New("row").Parse(stepRowTemplate))
	odd := []string{"", "show clock", `a<b>&"c"'d'+e`, "\x00nul", "«redacted» → ok", "bad \xff utf-8", "<script>alert(1)</script>", "a\nb\tc", "&amp;"}
	var rows []stepView
	for i, s := range odd {
		o := odd[(i+3)%len(odd)]
		rows = append(rows,
			stepView{Seq: s, Time: o, ID: s, Kind: o, Text: s, Status: o, Class: s, Error: o, Note: s, Item: o, Output: s, Via: o, Lets: o},
			stepView{Seq: "1", Time: "10:02:33", Kind: "run", Text: s, Status: "ok", Class: "st-ok", Output: "steps/001-show-clock.txt", Link: true},
			stepView{Seq: "2", Kind: "note", Text: o, Status: "failed", Error: s, Output: s, Link: false},
		)
	}
	for _, r := range rows {
		var want strings.Builder
		if err := tmpl.Execute(&want, r); err != nil {
			t.Fatal(err)
		}
		if got := string(r.Row()); got != want.String() {
			t.Errorf("Row() of %+v\n got %q\nwant %q", r, got, want.String())
		}
	}
}

// cleanupRowTemplate is the cleanup table's rows as the page template
// wrote them before cleanupRows: it must write exactly what they wrote.
const cleanupRowTemplate = `{{range .}}<tr><td class="s">{{.Kind}}</td><td class="cmd"><code>{{.Command}}</code>{{with .Error}}<span class="err">{{.}}</span>{{end}}</td><td class="st {{.Class}}">{{.Status}}{{with .Note}}<span class="note">{{.}}</span>{{end}}</td><td class="o">{{if .Link}}<a href="{{.Output}}">{{.Output}}</a>{{else}}{{.Output}}{{end}}</td></tr>
{{end}}`

func TestCleanupRow(t *testing.T) {
	tmpl := template.Must(template.New("rows").Parse(cleanupRowTemplate))
	odd := []string{"", "debug off", `a<b>&"c"'d'+e`, "\x00nul", "«redacted» → ok", "bad \xff utf-8", "<script>alert(1)</script>", "a\nb\tc", "&amp;"}
	var rows []cleanupView
	for i, s := range odd {
		o := odd[(i+3)%len(odd)]
		rows = append(rows,
			cleanupView{Kind: s, Command: o, Status: s, Class: o, Error: s, Output: o, Note: s, Link: linkable(o)},
			cleanupView{Kind: "undo", Command: s, Status: "ok", Class: "st-ok", Output: "steps/001-undo.txt", Link: true},
			cleanupView{Kind: "cleanup", Command: o, Status: "failed", Class: "st-bad", Error: s, Output: s, Note: o},
		)
	}
	for _, set := range [][]cleanupView{nil, rows[:1], rows} {
		var want strings.Builder
		if err := tmpl.Execute(&want, set); err != nil {
			t.Fatal(err)
		}
		if got := string(cleanupRows(set)); got != want.String() {
			t.Errorf("cleanupRows of %+v\n got %q\nwant %q", set, got, want.String())
		}
	}
}
