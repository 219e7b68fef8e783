package playbook

import (
	"regexp"
	"time"

	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Pos is a position in a YAML source file. Line and Col are 1-based.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// Playbook is a loaded, checked playbook: every expression is compiled and
// every include expanded. The engine runs it without parsing anything again.
type Playbook struct {
	Pos
	// SHA256 is the hex digest of the top-level source file.
	SHA256      string
	Name        string
	Title       string
	Description string
	Warnings    []string
	Params      []*Param // in the order written
	// Timeout is the default per-step timeout (zero: the engine's default).
	Timeout time.Duration
	// Steps are the top-level steps, when p holds them: nil for a long
	// playbook Load read from a file, whose steps are decoded from it
	// again as a run reaches them (lazy.go). EachStep goes over them
	// either way; AllSteps returns them all.
	Steps    []*Step
	Cleanup  []*Step
	Findings []*Finding
	// Case is the top-level case: section, nil when there is none: what
	// the targets of one run are to each other, and the findings that read
	// several of them. A run of a single target ignores it.
	Case *Case

	// reads is what the expressions and evidence read of the steps
	// (ReadsStep); nil when the playbook was not loaded.
	reads *stepReads
	// facts is what a run needs of the steps before they run (facts.go);
	// nil when the playbook was not loaded.
	facts *stepFacts
	// lazy reads the steps from the file again when Steps does not hold
	// them.
	lazy *lazySteps
}

// Case says that the first targets of a multi-target run are the ends of
// one tunnel (or any pair compared), and holds the findings that read
// them together. Its expressions see `ends.NAME` for each name of Ends,
// each exposing what a finding of that end sees (steps, vars, params,
// target), once every end ran.
type Case struct {
	Pos
	// Ends names the first len(Ends) targets of the run, in order.
	Ends     []string
	Findings []*Finding
}

// Param returns the parameter called name, or nil.
func (p *Playbook) Param(name string) *Param {
	for _, x := range p.Params {
		if x.Name == name {
			return x
		}
	}
	return nil
}

// ParamType is the type of a parameter.
type ParamType string

// The parameter types.
const (
	TypeString   ParamType = "string"
	TypeInt      ParamType = "int"
	TypeBool     ParamType = "bool"
	TypeDuration ParamType = "duration"
	TypeIP       ParamType = "ip"
	TypeCIDR     ParamType = "cidr"
	TypeEnum     ParamType = "enum"
	TypeSecret   ParamType = "secret"
)

// Param is a typed playbook parameter.
//
// In expressions a parameter's value has the Go type of its ParamType:
// string (string, ip, cidr, enum, secret: the resolved value, redacted
// everywhere it is written), int, bool, time.Duration (duration).
type Param struct {
	Pos
	Name        string
	Type        ParamType
	Required    bool
	Default     string // raw form; HasDefault tells "" from no default
	HasDefault  bool
	Description string
	Values      []string // enum only
}

// StepKind tells what a step does.
type StepKind string

// The step kinds. include is expanded at load time and never reaches the
// engine.
const (
	KindRun    StepKind = "run"
	KindWait   StepKind = "wait"
	KindPrompt StepKind = "prompt"
	KindExport StepKind = "export"
	KindIf     StepKind = "if"
	KindNote   StepKind = "note"
)

// OnError says what a failed step does to the run.
type OnError string

// The OnError values.
const (
	OnErrorFail     OnError = "fail"     // default: stop, clean up, exit 1
	OnErrorContinue OnError = "continue" // record the failure and go on
)

// Step is one step of a playbook, of one Kind. Fields that do not belong to
// its kind are zero.
type Step struct {
	Pos
	Kind StepKind
	// ID names the step in expressions (steps.<id>) and in its output file.
	// Empty when the author gave none.
	ID string
	// Name is an optional human label.
	Name string
	// Order is the step's place in the order of Walk over the playbook's
	// top-level steps, from 1, the same each time the steps are decoded;
	// 0 in cleanup, and in a Playbook built by hand until NumberSteps.
	Order int
	// Lets are the step's named expressions, in the order written (run,
	// wait, prompt, note and export steps): evaluated once each when the
	// run reaches the step, before When, each seeing the ones before it;
	// every expression and template of the step sees them all by name
	// (Step.Env). Nil when it has none.
	Lets    []*Let
	When    *Expr
	Timeout time.Duration
	OnError OnError

	// run
	//
	// Run is the command; with one_of it is the first form, and OneOf
	// holds every form (the first included), tried in order until the
	// device accepts one. OneOf is nil for a plain command.
	Run      *Template
	OneOf    OneOf
	XML      *Template // explicit XML API op form
	Prompts  []*Answer
	Repeat   *Repeat
	Until    *Expr
	Retry    *Retry // set whenever Until is
	Captures []*Capture
	Parse    string // parser name, "" for none
	// Undo are the step's undo entries, each with its forms (one, or
	// several given as one_of).
	Undo []OneOf
	// ForEach gives the items a run step runs for: its command once per
	// item, `item` in its templates (foreach.go). Nil when none.
	ForEach *Expr
	// NotEvidence is set by `evidence: false`: the step takes no evidence
	// (it deletes an old file, switches something back off, reads a level
	// only to restore it), or the playbook's own note says what its failure
	// costs, so its failure is not missing evidence and does not change the
	// run's outcome. Run and export steps only.
	NotEvidence bool

	// wait
	Wait *DurationValue

	// prompt, note, wait: the message shown
	Message *Template
	// prompt: what happens when PromptTimeout passes with no answer
	PromptTimeout time.Duration
	Default       string // "continue" or "abort"

	// export
	Export *Export

	// if
	If   *Expr
	Then []*Step
	Else []*Step
}

// OneOf are the forms of one command position, tried in order until the
// device accepts one: a plain command is one form, `{one_of: [...]}` two
// or more.
type OneOf []*Template

// Srcs are the forms as written.
func (o OneOf) Srcs() []string {
	out := make([]string, len(o))
	for i, t := range o {
		out[i] = t.Src
	}
	return out
}

// Forms are the forms of a run step (or cleanup entry): OneOf when given,
// else its one command.
func (s *Step) Forms() OneOf {
	if s.OneOf != nil {
		return s.OneOf
	}
	if s.Run == nil {
		return nil
	}
	return OneOf{s.Run}
}

// Answer answers an interactive question a command asks.
type Answer struct {
	Pos
	Match  *regexp.Regexp
	Answer *Template
	// Secret is true when Answer interpolates a secret parameter.
	Secret bool
}

// The bounds a playbook's counts and durations must keep, checked when it
// loads (a literal) or when the run starts (an expression of params). They
// refuse a typo such as 99999999999 that would keep debug on for ever.
const (
	// MaxRepeatCount bounds repeat: count.
	MaxRepeatCount = 10000
	// MaxRetry bounds retry: max.
	MaxRetry = 1000
	// MaxDuration bounds every duration: timeouts, waits, intervals.
	MaxDuration = 24 * time.Hour
)

// Repeat runs a step Count times, Interval apart.
type Repeat struct {
	Pos
	Count    *IntValue
	Interval *DurationValue
}

// Retry bounds an until loop: at most Max attempts, Interval apart.
type Retry struct {
	Pos
	Max      int
	Interval time.Duration
}

// Capture takes a named value from a step's output into vars.<Name>.
// Exactly one of Regex and Expr is set. A regex yields its first group (or
// the whole match when it has none); an expression sees `output`.
type Capture struct {
	Pos
	Name  string
	Regex *regexp.Regexp
	Expr  *Expr
}

// Export brings a file back from the device.
type Export struct {
	Pos
	Category string    // tech-support, debug-pcap, filters-pcap, ...
	File     *Template // file within the category; nil when none
	// ScpTo and ScpPassword are the `scp export` fallback for transports
	// that cannot pull files: user@host:path and its password.
	ScpTo       *Template
	ScpPassword *Template
}

// Finding is a rule evaluated after the steps.
type Finding struct {
	Pos
	ID       string
	Severity Severity
	// Lets are the finding's named expressions, in the order written:
	// each is evaluated once, before When, sees the ones before it, and
	// When and Message see them all by name (Finding.Env).
	Lets     []*Let
	When     *Expr
	Message  *Template
	Evidence []Evidence
}

// Let is one named expression of a finding's or a step's let: section.
type Let struct {
	Pos
	Name string
	Expr *Expr

	typ types.Type // of Expr once compiled, for the expressions after it
}

// Severity ranks findings.
type Severity string

// The severities, most severe first.
const (
	SeverityCritical Severity = "critical"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// Evidence names what a finding rests on: a step and a field of its parsed
// output; in a case finding, of the end named End.
type Evidence struct {
	End   string `json:"end,omitempty"`
	Step  string `json:"step"`
	Field string `json:"field,omitempty"`
}

// Expr is a compiled expression with its source and position.
type Expr struct {
	Pos
	Src     string
	Program *vm.Program
}

// Template is a string with ${ expr } interpolations, compiled.
type Template struct {
	Pos
	Src   string
	Parts []Part
}

// Part is one piece of a Template: literal text, or an expression.
type Part struct {
	Lit  string
	Expr *Expr
}

// IntValue is an int written literally or as a single ${ expr }.
type IntValue struct {
	Value int
	Expr  *Expr
}

// DurationValue is a duration written literally or as a single ${ expr }
// whose value is a time.Duration or a duration string.
type DurationValue struct {
	Value time.Duration
	Expr  *Expr
}
