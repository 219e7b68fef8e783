package main

import (
	"bytes"
	"os"
	"strconv"
)

// zombie reports whether process pid has exited and waits to be reaped
// (state Z, or X while it goes), as /proc/PID/stat says; false when it
// cannot be read.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	s := b[i+2]
	return s == 'Z' || s == 'X'
}
