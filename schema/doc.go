// Package schema embeds the JSON Schema (2020-12) of a playbook and
// validates playbook YAML against it, mapping every schema error to the
// file:line:col of the YAML node it is about.
//
// The schema describes the same grammar the Go loader (engine/playbook)
// enforces, so editors complete and check playbooks; expressions are beyond
// it and only the loader checks them. Check is the one check every command
// makes of a playbook: the loader and the schema, their errors merged.
// This package imports engine/playbook for its Error type and its loader;
// it must not import the engine, a transport or cobra.
package schema
