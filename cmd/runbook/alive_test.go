//go:build linux

package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestProcessAlive: this process is alive; a child that exited and is not
// reaped yet (a zombie, as a killed run whose parent has not waited for
// it) is not, nor is it once reaped.
func TestProcessAlive(t *testing.T) {
	if !processAlive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start true:", err)
	}
	pid := cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for !zombie(pid) {
		if time.Now().After(deadline) {
			cmd.Wait()
			t.Fatalf("child %d did not exit within 10s", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if processAlive(pid) {
		t.Errorf("exited child %d, not reaped: alive", pid)
	}
	cmd.Wait()
	if processAlive(pid) {
		t.Errorf("reaped child %d: alive", pid)
	}
}
