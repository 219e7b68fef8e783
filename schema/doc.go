// Package schema embeds the JSON Schema (2020-12) of a playbook and
// validates playbook YAML against it, mapping every schema error to the
// file:line:col of the YAML node it is about.
//
// The schema describes the same grammar the Go loader (engine/playbook)
// enforces, so editors complete and check playbooks; expressions are beyond
// it and only the loader checks them. This package imports engine/playbook
// only for its Error type; it must not import the engine, a transport or
// cobra.
package schema
