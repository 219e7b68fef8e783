package report

import (
	"html/template"
	"strings"
)

// Row is the step's row of the timeline, escaped exactly as html/template
// escapes the same row written as a template (TestStepRow pins that). It
// is written in Go because the template evaluated a dozen fields per row:
// the most part of the report of a long run.
func (s stepView) Row() template.HTML {
	var b strings.Builder
	s.writeRow(&b)
	return template.HTML(b.String())
}

// rowSize is about the length of the step's row, its escapes aside.
func (s *stepView) rowSize() int {
	return 220 + len(s.Seq) + len(s.Time) + len(s.ID) + len(s.Kind) + len(s.Item) + len(s.Via) +
		len(s.Text) + len(s.Lets) + len(s.Note) + len(s.Error) + len(s.Class) + len(s.Status) + 2*len(s.Output)
}

func (s *stepView) writeRow(b *strings.Builder) {
	b.WriteString(`<tr><td class="n">`)
	escapeHTML(b, s.Seq)
	b.WriteString(`</td><td class="mono t">`)
	escapeHTML(b, s.Time)
	b.WriteString(`</td><td class="s">`)
	if s.ID != "" {
		b.WriteString(`<code>`)
		escapeHTML(b, s.ID)
		b.WriteString(`</code>`)
	}
	b.WriteString(` <span class="muted">`)
	escapeHTML(b, s.Kind)
	b.WriteString(`</span>`)
	if s.Item != "" {
		b.WriteString(` <span class="muted">item `)
		escapeHTML(b, s.Item)
		b.WriteString(`</span>`)
	}
	if s.Via != "" {
		b.WriteString(` <span class="muted">via `)
		escapeHTML(b, s.Via)
		b.WriteString(`</span>`)
	}
	b.WriteString(`</td><td class="cmd"><code>`)
	escapeHTML(b, s.Text)
	b.WriteString(`</code>`)
	if s.Lets != "" {
		b.WriteString(`<span class="note">let `)
		escapeHTML(b, s.Lets)
		b.WriteString(`</span>`)
	}
	if s.Note != "" {
		b.WriteString(`<span class="note">`)
		escapeHTML(b, s.Note)
		b.WriteString(`</span>`)
	}
	if s.Error != "" {
		b.WriteString(`<span class="err">`)
		escapeHTML(b, s.Error)
		b.WriteString(`</span>`)
	}
	b.WriteString(`</td><td class="st `)
	escapeHTML(b, s.Class)
	b.WriteString(`">`)
	escapeHTML(b, s.Status)
	b.WriteString(`</td><td class="o">`)
	writeOutput(b, s.Output, s.Link)
	b.WriteString(`</td></tr>`)
}

// cleanupRows is the cleanup table's rows, each and a newline, as the
// page template wrote them (TestCleanupRow pins that): a run that undoes
// a thousand commands drew a thousand rows through the template.
func cleanupRows(cs []cleanupView) template.HTML {
	var b strings.Builder
	for i := range cs {
		cs[i].writeRow(&b)
		b.WriteByte('\n')
	}
	return template.HTML(b.String())
}

func (c *cleanupView) writeRow(b *strings.Builder) {
	b.WriteString(`<tr><td class="s">`)
	escapeHTML(b, c.Kind)
	b.WriteString(`</td><td class="cmd"><code>`)
	escapeHTML(b, c.Command)
	b.WriteString(`</code>`)
	if c.Error != "" {
		b.WriteString(`<span class="err">`)
		escapeHTML(b, c.Error)
		b.WriteString(`</span>`)
	}
	b.WriteString(`</td><td class="st `)
	escapeHTML(b, c.Class)
	b.WriteString(`">`)
	escapeHTML(b, c.Status)
	if c.Note != "" {
		b.WriteString(`<span class="note">`)
		escapeHTML(b, c.Note)
		b.WriteString(`</span>`)
	}
	b.WriteString(`</td><td class="o">`)
	writeOutput(b, c.Output, c.Link)
	b.WriteString(`</td></tr>`)
}

// writeOutput writes a row's output: a link when link and the path is
// linkable, else its text.
func writeOutput(b *strings.Builder, out string, link bool) {
	if link && linkable(out) {
		// A linkable path is letters, digits and ._-/ : nothing a URL
		// or an attribute would escape.
		b.WriteString(`<a href="`)
		b.WriteString(out)
		b.WriteString(`">`)
		b.WriteString(out)
		b.WriteString(`</a>`)
	} else {
		escapeHTML(b, out)
	}
}

// escapeHTML writes s as html/template writes a string in text or in a
// quoted attribute: NUL as U+FFFD, and " & ' + < > as entities.
func escapeHTML(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case 0:
			rep = "\uFFFD"
		case '"':
			rep = "&#34;"
		case '&':
			rep = "&amp;"
		case '\'':
			rep = "&#39;"
		case '+':
			rep = "&#43;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(rep)
		last = i + 1
	}
	b.WriteString(s[last:])
}
