package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/runbook-dev/runbook/transports/sessionlog"
)

// sessionLogs are the files of run --session-log: FILE for one target;
// for several, one file per target, its name before FILE's extension
// (session.log: session-fw1.log, session-fw2.log).
type sessionLogs struct {
	files   []*os.File
	writers map[string]*sessionlog.Writer
	paths   map[string]string
}

// openSessionLogs creates the session log of each target, redacting
// through redact. An empty path opens nothing.
func openSessionLogs(path string, targets []string, redact func(string) string) (*sessionLogs, error) {
	l := &sessionLogs{writers: map[string]*sessionlog.Writer{}, paths: map[string]string{}}
	if path == "" {
		return l, nil
	}
	for _, name := range targets {
		p := path
		if len(targets) > 1 {
			ext := filepath.Ext(path)
			p = strings.TrimSuffix(path, ext) + "-" + name + ext
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("run: --session-log: %w", err)
		}
		l.files = append(l.files, f)
		l.writers[name] = sessionlog.New(f, redact)
		l.paths[name] = p
	}
	return l, nil
}

// tap is the session log of target name, or nil when there is none.
func (l *sessionLogs) tap(name string) io.Writer {
	if w, ok := l.writers[name]; ok {
		return w
	}
	return nil
}

// path is the file of target name's session log, or "".
func (l *sessionLogs) path(name string) string { return l.paths[name] }

// close writes what is pending and closes the files.
func (l *sessionLogs) close() error {
	var errs []error
	for _, w := range l.writers {
		errs = append(errs, w.Close())
	}
	for _, f := range l.files {
		errs = append(errs, f.Close())
	}
	l.writers, l.files = nil, nil
	return errors.Join(errs...)
}
