package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/runbook-dev/runbook/engine"
	"github.com/runbook-dev/runbook/secret"
)

// terminalPrompter asks the operator on the terminal. One goroutine reads
// lines from In, so a prompt that times out never leaves a reader behind
// that would swallow the next answer. Prompts of parallel targets take
// turns.
type terminalPrompter struct {
	io    *IOStreams
	turn  sync.Mutex
	once  sync.Once
	lines chan string
}

func newTerminalPrompter(io *IOStreams) *terminalPrompter {
	return &terminalPrompter{io: io}
}

func (p *terminalPrompter) start() {
	p.once.Do(func() {
		p.lines = make(chan string)
		go func() {
			sc := bufio.NewScanner(p.io.In)
			for sc.Scan() {
				p.lines <- sc.Text()
			}
			close(p.lines)
		}()
	})
}

// Ask implements engine.Prompter: Enter continues, "abort" aborts.
func (p *terminalPrompter) Ask(ctx context.Context, message string, timeout time.Duration) (bool, error) {
	p.turn.Lock()
	defer p.turn.Unlock()
	p.start()
	hint := "[Enter] continue, 'abort' to stop and clean up"
	if timeout > 0 {
		hint += fmt.Sprintf(" (waiting up to %s)", timeout)
	}
	fmt.Fprintf(p.io.ErrOut, ">>> %s\n%s> ", message, hint)
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case l, ok := <-p.lines:
		if !ok {
			return false, fmt.Errorf("prompt: input closed")
		}
		return strings.TrimSpace(strings.ToLower(l)) != "abort", nil
	case <-tc:
		fmt.Fprintln(p.io.ErrOut)
		return false, engine.ErrPromptTimeout
	case <-ctx.Done():
		fmt.Fprintln(p.io.ErrOut)
		return false, context.Cause(ctx)
	}
}

// secret reads a secret without echo (secret.Prompter).
func (p *terminalPrompter) secret(ctx context.Context, label string) (string, error) {
	if !p.io.IsTerminal {
		return "", secret.ErrNoTerminal
	}
	p.turn.Lock()
	defer p.turn.Unlock()
	fmt.Fprintf(p.io.ErrOut, "%s: ", label)
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(p.io.ErrOut)
	if err != nil {
		return "", fmt.Errorf("prompt: %w", err)
	}
	return string(b), nil
}
