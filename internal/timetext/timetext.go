// Package timetext writes times as time.RFC3339Nano formats them, keeping
// the text of the last one: the records and journal lines of a step (and
// every one of a replay in virtual time) mostly hold the same time.
package timetext

import "time"

// Last is the last time appended, and its text. The zero Last holds
// none; a nil *Last formats every time.
type Last struct {
	t time.Time
	b []byte // nil before the first
}

// Holds reports whether l keeps the text of t. The same Time value (wall
// clock, monotonic reading and zone: == on the struct, cheaper than Equal
// and stricter) is the same instant in the same zone, which formats as the
// same text.
func (l *Last) Holds(t time.Time) bool {
	return l != nil && l.b != nil && t == l.t
}

// Append appends t as t.AppendFormat(dst, time.RFC3339Nano) does, from
// the last text when l holds t, and keeps t's text for the next.
func (l *Last) Append(dst []byte, t time.Time) []byte {
	if l == nil {
		return t.AppendFormat(dst, time.RFC3339Nano)
	}
	if l.Holds(t) {
		return append(dst, l.b...)
	}
	n := len(dst)
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	l.t, l.b = t, append(l.b[:0], dst[n:]...)
	return dst
}
