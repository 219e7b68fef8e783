// Package yamlerr reads one YAML document into a yaml.Node and, when the
// text is not YAML, says where and why in words a person can act on.
//
// go.yaml.in/yaml/v3 reports a syntax error with a line only, sometimes
// the line before the problem (a parser error counts lines from zero, a
// tab is blamed on the line above), never a column, and an invalid byte at
// no line at all. Decode finds the place itself: the byte, the tab, the
// unclosed bracket. It also refuses a second document, which yaml would
// silently drop.
//
// It imports nothing of this module, so the playbook loader, the
// inventory, cassettes and expectations all use it.
package yamlerr
