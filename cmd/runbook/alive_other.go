//go:build !unix

package main

// processAlive cannot tell here; runbook cleanup then trusts the operator.
func processAlive(pid int) bool { return false }
