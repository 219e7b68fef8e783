package playbook

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ParseDuration reads a duration in its string form ("30s", "10m", "1h30m",
// "500ms"). Unlike time.ParseDuration it rejects zero and negative values
// and bare numbers: every duration in a playbook is a positive span with a
// unit.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number and a unit, such as 30s, 10m or 1h30m", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be greater than zero", s)
	}
	return d, nil
}

// FormatDuration writes d the way a person would: "10s", "5m", "1h30m",
// "1.5s", without the trailing zero units time.Duration.String adds.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
