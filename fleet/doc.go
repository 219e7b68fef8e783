// Package fleet runs one playbook against several targets: each target's
// parameters bound before anything starts, every target checked before
// any is sent a command, at most Parallel runs at once, the undo and
// cleanup still pending across all of them for a signal handler to show,
// and the worst exit code of all (engine.WorseExit). Sync makes the ends
// of a case sample together (engine.Options.Sync): their repeated steps
// and waits start at one shared start, their prompts are asked once.
//
// It imports the engine and the playbook model only: no cobra, no
// transport, no os/signal (the CLI wires the flags and the signals).
package fleet
