package playbook

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/types"
)

// StepView is what expressions see of a step: steps.<id>. Before the step
// runs (or when it was skipped) it is the zero value with Ran false.
type StepView struct {
	Ran     bool   `expr:"ran"`
	Skipped bool   `expr:"skipped"`
	OK      bool   `expr:"ok"`
	Status  string `expr:"status"` // ok, failed, skipped, timeout
	Error   string `expr:"error"`
	// Text, Data and Fields are those of the last run.
	Text   string         `expr:"text"`
	Data   any            `expr:"data"`
	Fields map[string]any `expr:"fields"`
	Runs   []RunView      `expr:"runs"`
	// Form is the form the device accepted in the last run (RunView.Form).
	Form int `expr:"form"`
	// Items holds one view per item of a for_each step, in the order of
	// the list; it is empty for a step without for_each.
	Items []ItemView `expr:"items"`
}

// RunView is one run of a (possibly repeated) step.
type RunView struct {
	Text   string         `expr:"text"`
	Data   any            `expr:"data"`
	Fields map[string]any `expr:"fields"`
	Time   time.Time      `expr:"time"`
	// Item is the item of a for_each step this run was for ("" otherwise).
	Item string `expr:"item"`
	// Form is the index of the form the device accepted, for a command of
	// several forms (one_of): 0 for the first (and for a single form).
	Form int `expr:"form"`
}

// Output is what until and capture expressions see as `output`: the run
// that just finished.
type Output = RunView

// TargetView is what expressions see as `target`.
type TargetView struct {
	Name      string `expr:"name"`
	Transport string `expr:"transport"`
	Hostname  string `expr:"hostname"`
	Model     string `expr:"model"`
	Serial    string `expr:"serial"`
	Version   string `expr:"sw_version"`
}

// paramTypes maps a ParamType to the Go type of its value in expressions.
var paramTypes = map[ParamType]types.Type{
	TypeString:   types.String,
	TypeInt:      types.Int,
	TypeBool:     types.Bool,
	TypeDuration: types.TypeOf(time.Duration(0)),
	TypeIP:       types.String,
	TypeCIDR:     types.String,
	TypeEnum:     types.String,
	TypeSecret:   types.String,
}

// EnvTypes is the typed environment expressions of p compile against:
// params (each declared parameter), vars (each capture name), steps (each
// step id), target, and, when withOutput, output.
func EnvTypes(params []*Param, captures, stepIDs []string, withOutput bool) types.Map {
	pm := types.Map{}
	for _, p := range params {
		pm[p.Name] = paramTypes[p.Type]
	}
	vm := types.Map{}
	for _, c := range captures {
		vm[c] = types.String
	}
	sm := make(types.Map, len(stepIDs))
	st := structOf(StepView{})
	for _, id := range stepIDs {
		sm[id] = st
	}
	env := types.Map{
		"params": pm,
		"vars":   vm,
		"steps":  sm,
		"target": structOf(TargetView{}),
	}
	if withOutput {
		env["output"] = structOf(RunView{})
	}
	return env
}

// Env builds the run-time environment matching EnvTypes.
func Env(params map[string]any, vars map[string]string, steps map[string]StepView, target TargetView, output *RunView) map[string]any {
	ss := make(map[string]any, len(steps))
	for k, v := range steps {
		ss[k] = v
	}
	return EnvOf(params, vars, ss, target, output)
}

// EnvOf is Env with the steps already in the form expressions read (each a
// StepView). It does not copy steps: a run keeps that map up to date as its
// steps end and builds one environment per expression from it, so the cost
// of an environment does not grow with the number of steps. The caller must
// not change steps while an expression evaluates.
func EnvOf(params map[string]any, vars map[string]string, steps map[string]any, target TargetView, output *RunView) map[string]any {
	vs := make(map[string]any, len(vars))
	for k, v := range vars {
		vs[k] = v
	}
	env := map[string]any{"params": params, "vars": vs, "steps": steps, "target": target}
	if output != nil {
		env["output"] = *output
	}
	return env
}

// CaseEnvTypes is the typed environment of a case finding: ends, holding
// under each end's name the environment one run's findings see (perEnd,
// from EnvTypes without output).
func CaseEnvTypes(ends []string, perEnd types.Map) types.Map {
	em := types.Map{}
	for _, name := range ends {
		em[name] = perEnd
	}
	return types.Map{"ends": em}
}

// CaseEnv builds the run-time environment matching CaseEnvTypes: ends
// maps each end's name to its run's environment (Env without output).
func CaseEnv(ends map[string]map[string]any) map[string]any {
	em := make(map[string]any, len(ends))
	for k, v := range ends {
		em[k] = v
	}
	return map[string]any{"ends": em}
}

// Functions are the helpers every expression may call, in addition to
// expr's builtins (len, first, last, max, min, filter, map, ...):
//
//	samples(step, "field")  the field's numeric values, one per run
//	delta(step, "field")    last sample minus first (0 with fewer than 2)
//	rate(step, "field")     delta per second between first and last run
//	field(run, "a.b")       a (dotted) field of a run's parsed output, or nil
//	num(x)                  x as a number (strings with commas accepted), NaN if not
//	within(x, net)          every address of x is in net (false if either does not parse)
//	overlaps(x, y)          x and y have an address in common (false if either does not parse)
//
// within and overlaps take an address ("10.0.0.5"), a prefix
// ("10.0.0.0/24", host bits ignored) or a range ("10.0.0.0-10.0.0.255",
// the form of show vpn ike-sa detail's traffic selectors), IPv4 or IPv6;
// an IPv4 and an IPv6 set have nothing in common.
//
// A field path is dotted: "flow_ipsec_decap.value" walks nested maps.
//
// samples, delta and rate take a step or one of a for_each step's items
// (steps.x.items[0], or # inside any/all/filter). Given a for_each step
// that ran for more than one item they fail: its runs belong to different
// items, and mixing their counters would be wrong.
func Functions() []expr.Option {
	return []expr.Option{
		expr.Function("samples", func(a ...any) (any, error) {
			s, f, err := stepField("samples", a)
			if err != nil {
				return nil, err
			}
			return Samples(s, f), nil
		}, new(func(StepView, string) []float64), new(func(ItemView, string) []float64)),
		expr.Function("delta", func(a ...any) (any, error) {
			s, f, err := stepField("delta", a)
			if err != nil {
				return nil, err
			}
			return Delta(s, f), nil
		}, new(func(StepView, string) float64), new(func(ItemView, string) float64)),
		expr.Function("rate", func(a ...any) (any, error) {
			s, f, err := stepField("rate", a)
			if err != nil {
				return nil, err
			}
			return Rate(s, f), nil
		}, new(func(StepView, string) float64), new(func(ItemView, string) float64)),
		expr.Function("field", func(a ...any) (any, error) {
			r, ok := a[0].(RunView)
			if !ok {
				return nil, fmt.Errorf("field: want a run, got %T", a[0])
			}
			return Lookup(r.Fields, a[1].(string)), nil
		}, new(func(RunView, string) any)),
		expr.Function("num", func(a ...any) (any, error) {
			return Num(a[0]), nil
		}, new(func(any) float64)),
		expr.Function("within", func(a ...any) (any, error) {
			x, okx := AddrRange(fmt.Sprint(a[0]))
			n, okn := AddrRange(fmt.Sprint(a[1]))
			return okx && okn && x.Within(n), nil
		}, new(func(any, any) bool)),
		expr.Function("overlaps", func(a ...any) (any, error) {
			x, okx := AddrRange(fmt.Sprint(a[0]))
			y, oky := AddrRange(fmt.Sprint(a[1]))
			return okx && oky && x.Overlaps(y), nil
		}, new(func(any, any) bool)),
	}
}

// Range is a set of consecutive addresses of one family, First to Last.
type Range struct{ First, Last netip.Addr }

// AddrRange reads an address, a prefix (host bits ignored) or a range
// "FIRST-LAST" (both of one family, FIRST not after LAST).
func AddrRange(s string) (Range, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return Range{a, a}, true
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		p = p.Masked()
		first := p.Addr().Unmap()
		b := first.AsSlice()
		for i := p.Bits(); i < len(b)*8; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		last, _ := netip.AddrFromSlice(b)
		return Range{first, last}, true
	}
	if f, l, ok := strings.Cut(s, "-"); ok {
		first, err1 := netip.ParseAddr(strings.TrimSpace(f))
		last, err2 := netip.ParseAddr(strings.TrimSpace(l))
		if err1 == nil && err2 == nil {
			first, last = first.Unmap(), last.Unmap()
			if first.Is4() == last.Is4() && first.Compare(last) <= 0 {
				return Range{first, last}, true
			}
		}
	}
	return Range{}, false
}

// Within says whether every address of r is in n.
func (r Range) Within(n Range) bool {
	return r.First.Is4() == n.First.Is4() && n.First.Compare(r.First) <= 0 && r.Last.Compare(n.Last) <= 0
}

// Overlaps says whether r and n have an address in common.
func (r Range) Overlaps(n Range) bool {
	return r.First.Is4() == n.First.Is4() && r.First.Compare(n.Last) <= 0 && n.First.Compare(r.Last) <= 0
}

// stepField takes the arguments of samples, delta and rate: a step or an
// item (as a step holding the item's runs), and a field.
func stepField(fn string, a []any) (StepView, string, error) {
	f, _ := a[1].(string)
	switch s := a[0].(type) {
	case StepView:
		if len(s.Items) > 1 {
			return StepView{}, "", fmt.Errorf("%s: the step ran for %d items (for_each), whose runs must not be mixed: "+
				"give one item, as in any(steps.ID.items, %s(#, %q) > 0)", fn, len(s.Items), fn, f)
		}
		return s, f, nil
	case ItemView:
		return StepView{Runs: s.Runs}, f, nil
	}
	return StepView{}, "", fmt.Errorf("%s: want a step or an item, got %T", fn, a[0])
}

// Samples returns the numeric value of field in each run of s that has it.
func Samples(s StepView, field string) []float64 {
	out := make([]float64, 0, len(s.Runs))
	for _, r := range s.Runs {
		if v := Num(Lookup(r.Fields, field)); !math.IsNaN(v) {
			out = append(out, v)
		}
	}
	return out
}

// Delta is the last sample of field minus the first.
func Delta(s StepView, field string) float64 {
	x := Samples(s, field)
	if len(x) < 2 {
		return 0
	}
	return x[len(x)-1] - x[0]
}

// Rate is Delta per second of the time between the first and last runs.
func Rate(s StepView, field string) float64 {
	if len(s.Runs) < 2 {
		return 0
	}
	d := s.Runs[len(s.Runs)-1].Time.Sub(s.Runs[0].Time).Seconds()
	if d <= 0 {
		return 0
	}
	return Delta(s, field) / d
}

// Lookup walks a dotted path through nested maps.
func Lookup(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = mm[k]; !ok {
			return nil
		}
	}
	return cur
}

// Num converts v to a float64: numbers as they are, strings parsed (commas
// and a trailing % allowed). It returns NaN when v is not a number.
func Num(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	case float32:
		return float64(x)
	case string:
		s := strings.TrimSuffix(strings.ReplaceAll(strings.TrimSpace(x), ",", ""), "%")
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}
