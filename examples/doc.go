// Package examples embeds the recorded sessions (cassettes) shipped with
// runbook: the demo target replays them, and the tests pin the commands each
// built-in playbook sends against them.
package examples
