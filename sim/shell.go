package sim

import (
	"context"
	"strings"
)

// Shell is one CLI session on a Device: the mode (operational or
// configuration) and the per-session CLI settings. The SSH server runs one
// per connection; tests may drive one directly.
type Shell struct {
	dev  *Device
	user string
	via  string

	config    bool
	pager     bool
	scripting bool
	width     int
}

// NewShell opens a CLI session for user on d, in operational mode with the
// pager on.
func (d *Device) NewShell(user, via string) *Shell {
	if via == "" {
		via = "shell:" + user
	}
	return &Shell{dev: d, user: user, via: via, pager: true, width: 80}
}

// Prompt is the prompt the CLI shows now: "user@host> ", or in
// configuration mode "[edit]\nuser@host# ".
func (s *Shell) Prompt() string {
	if s.config {
		return "[edit]\n" + s.user + "@" + s.dev.opts.Hostname + "# "
	}
	return s.dev.Prompt(s.user)
}

// ConfigMode reports whether the session is in configuration mode.
func (s *Shell) ConfigMode() bool { return s.config }

// Pager reports whether the pager is on (`set cli pager off` turns it off).
func (s *Shell) Pager() bool { return s.pager }

// Exec runs one line typed at the prompt. It returns the output, or a
// *CommandError, ErrDropConnection or ctx's error. exit reports that the
// line ended the session (exit/quit in operational mode).
func (s *Shell) Exec(ctx context.Context, line string, ask Asker) (out string, exit bool, err error) {
	w := strings.Fields(line)
	if len(w) == 0 {
		return "", false, nil
	}
	if s.config {
		switch {
		case len(w) == 1 && (w[0] == "exit" || w[0] == "quit"):
			s.config = false
			s.dev.record(s.via, line, "")
			return "Exiting configuration mode\n", false, nil
		case w[0] == "run" && len(w) > 1:
			out, err := s.opExec(ctx, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "run")), ask)
			return out, false, err
		case w[0] == "show" || w[0] == "set" || w[0] == "delete" || w[0] == "edit" || w[0] == "top" || w[0] == "up":
			s.dev.record(s.via, line, "")
			return "", false, nil
		}
		s.dev.record(s.via, line, "Unknown command: "+w[0])
		return "", false, unknownCmd(w[0])
	}
	switch {
	case len(w) == 1 && (w[0] == "exit" || w[0] == "quit"):
		s.dev.record(s.via, line, "")
		return "", true, nil
	case len(w) == 1 && w[0] == "configure":
		s.config = true
		s.dev.record(s.via, line, "")
		return "Entering configuration mode\n", false, nil
	}
	out, err = s.opExec(ctx, line, ask)
	return out, false, err
}

func (s *Shell) opExec(ctx context.Context, line string, ask Asker) (string, error) {
	out, err := s.dev.exec(ctx, s.via, line, ask)
	if err == nil {
		w := strings.Fields(line)
		if len(w) >= 4 && w[0] == "set" && w[1] == "cli" {
			switch w[2] {
			case "pager":
				s.pager = w[3] == "on"
			case "scripting-mode":
				s.scripting = w[3] == "on"
			}
		}
		if len(w) == 5 && w[0] == "set" && w[1] == "cli" && w[2] == "terminal" && w[3] == "width" {
			n, _ := checkNum("width", w[4], 500)
			s.width = n
		}
	}
	return out, err
}
