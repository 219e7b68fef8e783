// Package report renders a run's manifest as report.html: a single,
// self-contained page (inline CSS and inline SVG charts; no JavaScript, no
// fonts, stylesheets or images fetched from anywhere) that shows what
// summary.md shows, with the charts each finding rests on in its box and
// the other repeated samples after, each in the view its kind calls for
// (docs/run-folder.md, "Charts in report.html"). Every string from the
// manifest is escaped by html/template.
//
// It owns the page only. It reads engine.Manifest and must not import a
// transport, cobra, or anything that writes to os.Stdout.
package report
