package schema

import (
	"cmp"
	"errors"
	"slices"

	"github.com/runbook-dev/runbook/engine/playbook"
)

// Check is the one check of a playbook that run, show, validate and test
// make: the strict loader (load, which reads the file and its includes)
// and this schema on the top-level source src, named file. It returns the
// loaded playbook when both accept it, else every mistake as one
// playbook.ErrorList: the loader's first, and a schema error only on a
// line the loader said nothing about, so one mistake is reported once.
// Other errors (the file cannot be read, src is not YAML at all) are
// returned as they are.
func Check(file string, src []byte, load func() (*playbook.Playbook, error)) (*playbook.Playbook, error) {
	var all playbook.ErrorList
	pb, err := load()
	if err != nil {
		var list playbook.ErrorList
		if !errors.As(err, &list) {
			return nil, err
		}
		all = append(all, list...)
	}
	seen := map[playbook.Pos]bool{}
	for _, e := range all {
		seen[playbook.Pos{File: e.File, Line: e.Line}] = true
	}
	if serr := Validate(file, src); serr != nil {
		var list playbook.ErrorList
		if !errors.As(serr, &list) && len(all) == 0 {
			return nil, serr
		}
		for _, e := range list {
			if !seen[playbook.Pos{File: e.File, Line: e.Line}] {
				all = append(all, e)
			}
		}
	}
	if len(all) == 0 {
		return pb, nil
	}
	// The loader's order of files (the playbook, then its fragments as
	// they were read), each by position.
	rank := map[string]int{file: -1}
	for i, e := range all {
		if _, ok := rank[e.File]; !ok {
			rank[e.File] = i
		}
	}
	slices.SortStableFunc(all, func(a, b *playbook.Error) int {
		return cmp.Or(cmp.Compare(rank[a.File], rank[b.File]), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), cmp.Compare(a.Msg, b.Msg))
	})
	all = slices.CompactFunc(all, func(a, b *playbook.Error) bool { return a.Pos == b.Pos && a.Msg == b.Msg })
	return nil, all
}
