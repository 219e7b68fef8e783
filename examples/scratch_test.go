package examples_test

// scratchCases are the cassettes of the playbooks under playbooks/ written
// from scratch (not built in); their cassettes are hand-written.
var scratchCases = []struct {
	name     string
	exit     int
	findings []string
}{}
