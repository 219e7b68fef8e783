//go:build unix && !linux

package main

// zombie cannot tell here: a process that exists is taken as running.
func zombie(int) bool { return false }
