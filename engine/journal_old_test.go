package engine

import (
	"bytes"
	"strconv"
	"time"
)

// appendPlainOld is appendPlain as it was before it appended to a []byte
// and took undo and forms: FuzzJournalPlain pins that the new one writes
// the same bytes for every entry the old one took.
func appendPlainOld(b *bytes.Buffer, e *JournalEntry) bool {
	if e.Undo != nil || e.Forms != nil || e.Params != nil || e.Pause != nil || e.Plan != nil || e.PID != 0 || e.Time.Year() < 0 || e.Time.Year() > 9999 {
		return false
	}
	for _, s := range [...]string{e.Event, e.Step, e.Command, e.Item, e.Kind, e.Hold, e.Key, e.Status, e.Error, e.Message, e.Playbook, e.Target, e.Transport, e.Cassette} {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
		}
	}
	var num [64]byte
	b.WriteString(`{"time":"`)
	// RFC3339Nano alone, quotes outside: the layout time formats
	// without parsing it.
	b.Write(e.Time.AppendFormat(num[:0], time.RFC3339Nano))
	b.WriteString(`","event":"`)
	b.WriteString(e.Event)
	b.WriteByte('"')
	str := func(key, v string) {
		if v != "" {
			b.WriteString(`,"` + key + `":"`)
			b.WriteString(v)
			b.WriteByte('"')
		}
	}
	integer := func(key string, v int64) {
		if v != 0 {
			b.WriteString(`,"` + key + `":`)
			b.Write(strconv.AppendInt(num[:0], v, 10))
		}
	}
	str("step", e.Step)
	integer("seq", int64(e.Seq))
	str("command", e.Command)
	str("item", e.Item)
	if e.NotEvidence {
		b.WriteString(`,"not_evidence":true`)
	}
	integer("run", int64(e.Run))
	integer("try", int64(e.Try))
	integer("item_no", int64(e.ItemNo))
	if e.Stopped {
		b.WriteString(`,"stopped":true`)
	}
	str("kind", e.Kind)
	integer("wait_ms", e.WaitMS)
	str("hold", e.Hold)
	str("key", e.Key)
	str("status", e.Status)
	str("error", e.Error)
	str("message", e.Message)
	str("playbook", e.Playbook)
	str("target", e.Target)
	str("transport", e.Transport)
	str("cassette", e.Cassette)
	integer("version", int64(e.Version))
	b.WriteString("}\n")
	return true
}
