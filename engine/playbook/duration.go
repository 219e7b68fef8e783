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

// checkDuration refuses a duration longer than MaxDuration.
func checkDuration(d time.Duration) error {
	if d > MaxDuration {
		return fmt.Errorf("duration %s is longer than %s, the most a playbook allows", FormatDuration(d), FormatDuration(MaxDuration))
	}
	return nil
}

// CheckCount refuses a repeat count outside 1..MaxRepeatCount.
func CheckCount(n int) error {
	switch {
	case n < 1:
		return fmt.Errorf("repeat count must be at least 1, not %d", n)
	case n > MaxRepeatCount:
		return fmt.Errorf("repeat count must be at most %d, not %d", MaxRepeatCount, n)
	}
	return nil
}
