// Package report renders a run's manifest as report.html: a single,
// self-contained page (inline CSS and inline SVG charts; no JavaScript, no
// fonts, stylesheets or images fetched from anywhere) that shows what
// summary.md shows, plus a chart of every repeated numeric sample with its
// per-interval deltas. Every string from the manifest is escaped by
// html/template.
//
// It owns the page only. It reads engine.Manifest and must not import a
// transport, cobra, or anything that writes to os.Stdout.
package report
