package playbook

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/secret"
)

// ParseValue converts the text form of a value of parameter p into its
// typed value: string (string, ip, cidr, enum), int, bool, time.Duration
// (duration) or secret.Ref (secret). Errors never repeat a secret's text.
func ParseValue(p *Param, s string) (any, error) {
	switch p.Type {
	case TypeString:
		return s, nil
	case TypeInt:
		i, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return i, nil
	case TypeBool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	case TypeDuration:
		return ParseDuration(s)
	case TypeIP:
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", s)
		}
		return a.String(), nil
	case TypeCIDR:
		pf, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix such as 10.0.0.0/24", s)
		}
		return pf.String(), nil
	case TypeEnum:
		if !slices.Contains(p.Values, s) {
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(p.Values, ", "))
		}
		return s, nil
	case TypeSecret:
		r, err := secret.Parse(s)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	return nil, fmt.Errorf("unknown parameter type %q", p.Type)
}

// ErrParams is wrapped by every error Bind returns, so callers can tell bad
// parameters (exit 2) with errors.Is.
var ErrParams = errors.New("invalid parameters")

// ParamError is one problem with one parameter given to Bind.
type ParamError struct {
	Name string
	Msg  string
}

// Error formats e as "param NAME: message".
func (e *ParamError) Error() string { return fmt.Sprintf("param %s: %s", e.Name, e.Msg) }

// Unwrap makes errors.Is(err, ErrParams) true.
func (e *ParamError) Unwrap() error { return ErrParams }

// Bind checks the given --param values against p's parameters and returns
// every parameter's typed value (see ParseValue), defaults applied, and the
// zero value of its type for an optional parameter with no default (a zero
// secret.Ref for a secret). Unknown names (with the closest known name
// suggested), bad values and missing required parameters are reported all
// at once, each a *ParamError joined with errors.Join. So is every repeat
// count, repeat interval and wait computed from params alone that its step
// would refuse (see checkBounds): the run is refused before it starts.
func (p *Playbook) Bind(given map[string]string) (map[string]any, error) {
	var errs []error
	out := make(map[string]any, len(p.Params))
	names := make([]string, 0, len(p.Params))
	for _, x := range p.Params {
		names = append(names, x.Name)
	}
	var unknown []string
	for k := range given {
		if p.Param(k) == nil {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		msg := "unknown parameter"
		if s := suggest(k, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		} else if len(names) > 0 {
			msg += "; known: " + strings.Join(names, ", ")
		} else {
			msg += "; this playbook takes none"
		}
		errs = append(errs, &ParamError{Name: k, Msg: msg})
	}
	for _, x := range p.Params {
		s, ok := given[x.Name]
		switch {
		case ok && x.Required && strings.TrimSpace(s) == "":
			errs = append(errs, &ParamError{Name: x.Name, Msg: "required, but given an empty value"})
			continue
		case ok:
		case x.HasDefault:
			s = x.Default
		case x.Required:
			msg := "required"
			if x.Description != "" {
				msg += " (" + x.Description + ")"
			}
			errs = append(errs, &ParamError{Name: x.Name, Msg: msg})
			continue
		default:
			out[x.Name] = zeroValue(x.Type)
			continue
		}
		v, err := ParseValue(x, s)
		if err != nil {
			errs = append(errs, &ParamError{Name: x.Name, Msg: err.Error()})
			continue
		}
		out[x.Name] = v
	}
	if len(errs) == 0 {
		errs = p.checkBounds(out)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func zeroValue(t ParamType) any {
	switch t {
	case TypeInt:
		return 0
	case TypeBool:
		return false
	case TypeDuration:
		return time.Duration(0)
	case TypeSecret:
		return secret.Ref{}
	}
	return ""
}
