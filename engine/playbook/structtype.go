package playbook

import (
	"reflect"

	"github.com/expr-lang/expr/checker/nature"
	"github.com/expr-lang/expr/types"
)

// structType describes a struct type in a types.Map environment.
//
// types.TypeOf(SomeStruct{}) builds its Nature without a cache, which leaves
// out the struct's field table: the checker accepts `output.text`, but the
// compiler then panics looking up the field index (expr v1.17.8). A Nature
// built through a nature.Cache carries the table.
type structType struct{ t reflect.Type }

func structOf(v any) types.Type { return structType{reflect.TypeOf(v)} }

// Nature describes the struct with its field table.
func (s structType) Nature() nature.Nature {
	var c nature.Cache
	return c.FromType(s.t)
}

// Equal reports whether t is the same struct type (or any).
func (s structType) Equal(t types.Type) bool {
	if t == types.Any {
		return true
	}
	o, ok := t.(structType)
	return ok && o.t == s.t
}

// String names the Go type.
func (s structType) String() string { return s.t.String() }
