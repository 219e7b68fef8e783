// Package parse turns the output of PAN-OS commands into fields that
// playbook expressions can read: steps.<id>.fields.<name>.
//
// Each parser takes the CLI text of one command and, when the step ran over
// the XML API, the structured answer (the children of <result> as nested
// map[string]any / []any / string). Where a parser knows the XML shape it maps
// the element names to the field names of the text form, so one playbook
// expression works over both transports. docs/parsers.md lists every parser
// and its fields.
//
// Parsers are total: they never panic and return an error (wrapping
// ErrNotOutput) only when the text is plainly not the command's output, such
// as an "Unknown command:" line; otherwise they return what they found.
//
// This package owns the parsers and nothing else. It must not import any
// other package of this module: the engine imports it, never the reverse.
package parse
