// Package playbook owns the playbook file format: the model with source
// positions (model.go), the expression environment (env.go), and the strict
// loader that decodes YAML through yaml.Node, expands includes, compiles
// every expression, and reports every mistake at once as file:line:col with
// a snippet and caret. It also holds the run-time helpers the engine uses to
// evaluate the compiled expressions and templates, and parameter binding.
//
// It must not import the engine, any transport, cobra, or anything that
// writes to the terminal; it imports only the standard library, yaml, expr
// and the secret package (for reference syntax).
package playbook
