// Command runbook runs declarative troubleshooting playbooks against network
// devices, with guaranteed cleanup. See the README.
package main

import (
	"os"
)

func main() {
	ignoreSIGPIPE()
	os.Exit(run(os.Args[1:], defaultStreams()))
}
