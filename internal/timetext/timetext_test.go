package timetext

import (
	"testing"
	"time"
)

// TestAppendAsAppendFormat: a run of times through one Last, repeated or
// not, in zones or not, nil or not, writes what AppendFormat writes.
func TestAppendAsAppendFormat(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 7, 3, 39, 568889379, time.UTC)
	cet := time.FixedZone("CET", 3600)
	times := []time.Time{t0, t0, t0.Add(time.Nanosecond), t0.In(cet), t0.In(cet), t0, time.Now(), time.Now().Round(0), {}}
	var l Last
	for _, last := range []*Last{nil, &l} {
		prefix := []byte("x:")
		for i, tm := range times {
			got := string(last.Append(prefix, tm))
			want := string(tm.AppendFormat(prefix, time.RFC3339Nano))
			if got != want {
				t.Errorf("time %d (last %v): %q, want %q", i, last != nil, got, want)
			}
		}
	}
	if !l.Holds(times[len(times)-1]) || l.Holds(t0) {
		t.Errorf("Holds: the last time appended is held, no other")
	}
	if (*Last)(nil).Holds(t0) || new(Last).Holds(time.Time{}) {
		t.Errorf("Holds: a nil or new Last holds no time")
	}
}

// TestAppendInAZone: the same instant in two zones, and two
// instants in one, are written each as itself after the stamp kept the
// other.
func TestAppendInAZone(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 568889379, time.UTC)
	east := at.In(time.FixedZone("east", 3600))
	var st Last
	for _, tm := range []time.Time{at, east, east, at, at.Add(time.Nanosecond), at, at.Add(time.Hour).In(time.FixedZone("east", 3600))} {
		got := string(st.Append(nil, tm))
		if want := tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("%v: got %s, want %s", tm, got, want)
		}
	}
}
