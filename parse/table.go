package parse

import (
	"strconv"
	"strings"
)

// A table is one column table of the CLI: a header line, a line of dashes
// under it, and rows. Columns are split by the header's character offsets
// (the starts of the dash runs when the dashes line has one run per column,
// else of the header's words), so a cell may contain spaces
// ("PSK/ DH2/A128/SHA1").
type table struct {
	title   string   // the non-blank line above the header, if any
	columns []string // header labels, as printed
	starts  []int    // column start offsets
	rows    [][]string
	lines   []string // the rows as printed (tabs expanded), one per row
	labels  [][2]int // header label spans, only for tables without per-column dashes
	end     int      // index of the first line after the table
}

// findTables returns every table of text, in order.
func findTables(ls []string) []table {
	var ts []table
	for i := 0; i < len(ls); i++ {
		t, ok := tableAt(ls, i)
		if !ok {
			continue
		}
		ts = append(ts, t)
		i = t.end - 1
	}
	return ts
}

// isDashes reports whether l is made of '-' and spaces only, with at least
// three dashes.
func isDashes(l string) bool {
	t := strings.TrimSpace(l)
	if strings.Count(t, "-") < 3 {
		return false
	}
	return strings.Trim(t, "- \t") == ""
}

// nextNonBlank returns the index of the first non-blank line at or after i.
func nextNonBlank(ls []string, i int) int {
	for ; i < len(ls); i++ {
		if strings.TrimSpace(ls[i]) != "" {
			return i
		}
	}
	return len(ls)
}

// isHeader reports whether ls[i] is a table header: not dashes itself, and
// the next non-blank line is dashes.
func isHeader(ls []string, i int) bool {
	if i >= len(ls) || strings.TrimSpace(ls[i]) == "" || isDashes(ls[i]) || isPrompt(ls[i]) {
		return false
	}
	j := nextNonBlank(ls, i+1)
	return j < len(ls) && isDashes(ls[j])
}

func tableAt(ls []string, i int) (table, bool) {
	if !isHeader(ls, i) {
		return table{}, false
	}
	header := strings.TrimRight(expandTabs(ls[i]), " ")
	dashIdx := nextNonBlank(ls, i+1)
	dashes := expandTabs(ls[dashIdx])
	t := table{}
	if i > 0 {
		if p := strings.TrimSpace(ls[i-1]); p != "" && !isDashes(p) && !isPrompt(p) {
			t.title = p
		}
	}
	runs := wordStarts(dashes)
	perColumn := len(runs) > 1
	if perColumn {
		t.starts = runs
	} else {
		t.starts = headerStarts(header)
	}
	var raw []string
	j := dashIdx + 1
	for j < len(ls) {
		k := nextNonBlank(ls, j)
		if k >= len(ls) || !t.isRow(ls, k) {
			break
		}
		raw = append(raw, expandTabs(ls[k]))
		j = k + 1
	}
	if !perColumn {
		t.starts = mergeStarts(header, t.starts, raw)
	}
	for k, s := range t.starts {
		end := len(header)
		if k+1 < len(t.starts) {
			end = t.starts[k+1]
		}
		t.columns = append(t.columns, strings.TrimSpace(slice(header, s, end)))
	}
	if !perColumn {
		for k, s := range t.starts {
			lbl := strings.TrimRight(slice(header, s, s+len(t.columns[k])+1), " ")
			t.labels = append(t.labels, [2]int{s, s + len(lbl)})
		}
	}
	for _, r := range raw {
		t.rows = append(t.rows, t.cells(r))
	}
	t.lines = raw
	t.end = j
	return t, true
}

// isRow reports whether ls[k] is a data row of t: not the end of the table
// (a totals line, a prompt, dashes, a new header, a "There is no" line) and
// its words fall into at least two columns (or the table has one column).
func (t table) isRow(ls []string, k int) bool {
	l := ls[k]
	s := strings.ToLower(strings.TrimSpace(l))
	for _, p := range []string{"show ", "total ", "there is no", "no "} {
		if strings.HasPrefix(s, p) {
			return false
		}
	}
	if isDashes(l) || isPrompt(l) || isHeader(ls, k) {
		return false
	}
	// A line right above a header is the next table's title.
	if isHeader(ls, nextNonBlank(ls, k+1)) {
		return false
	}
	if len(t.starts) == 1 {
		return true
	}
	used := map[int]bool{}
	for _, w := range words(expandTabs(l)) {
		used[t.column(w[0])] = true
	}
	return len(used) >= 2
}

// column is the column a word starting at offset p belongs to: the last
// column starting at or before p.
func (t table) column(p int) int {
	c := 0
	for k, s := range t.starts {
		if s <= p {
			c = k
		}
	}
	return c
}

// wordColumn is the column of word w. Without per-column dashes a column
// may be right-aligned under its label ("    2341" under "  ID"): a word
// that does not start under its own column's label but overlaps the next
// column's label belongs to that next column.
func (t table) wordColumn(w [2]int) int {
	c := t.column(w[0])
	if len(t.labels) != len(t.starts) || c+1 >= len(t.labels) {
		return c
	}
	own, next := t.labels[c], t.labels[c+1]
	if w[0] >= own[0] && w[0] < own[1] {
		return c
	}
	if w[1] > next[0] && w[0] < next[1] {
		return c + 1
	}
	return c
}

// cells cuts a row into one string per column: each cell is the original
// text from its first word to its last, so inner spacing is kept.
func (t table) cells(l string) []string {
	out := make([]string, len(t.starts))
	first := make([]int, len(t.starts))
	last := make([]int, len(t.starts))
	for k := range first {
		first[k] = -1
	}
	for _, w := range words(l) {
		c := t.wordColumn(w)
		if first[c] < 0 {
			first[c] = w[0]
		}
		last[c] = w[1]
	}
	for k := range out {
		if first[k] >= 0 {
			out[k] = l[first[k]:last[k]]
		}
	}
	return out
}

// words returns the [start, end) offsets of each space-separated word of l.
func words(l string) [][2]int {
	var ws [][2]int
	start := -1
	for i := 0; i < len(l); i++ {
		if l[i] == ' ' || l[i] == '\t' {
			if start >= 0 {
				ws = append(ws, [2]int{start, i})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		ws = append(ws, [2]int{start, len(l)})
	}
	return ws
}

// wordStarts returns the start offset of each word of l.
func wordStarts(l string) []int {
	var s []int
	for _, w := range words(l) {
		s = append(s, w[0])
	}
	return s
}

// headerStarts splits a header without a usable dashes line: each word
// starts a column.
func headerStarts(h string) []int {
	if s := wordStarts(h); len(s) > 0 {
		return s
	}
	return []int{0}
}

// mergeStarts joins a header word to the column before it when the two are
// one space apart and the rows show it is not a column of its own: no row
// has a word starting under it, or a row's cell runs across its start
// ("Local Proxy IP" is one column, "Status Result" two).
func mergeStarts(header string, starts []int, rows []string) []int {
	out := []int{starts[0]}
	for k := 1; k < len(starts); k++ {
		s := starts[k]
		if s < 2 || header[s-2] == ' ' {
			out = append(out, s)
			continue
		}
		end := 1 << 30
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		startsHere, crosses := false, false
		for _, r := range rows {
			if s-1 < len(r) && r[s-1] != ' ' && s < len(r) && r[s] != ' ' {
				crosses = true
			}
			for _, w := range words(r) {
				if w[0] >= s && w[0] < end {
					startsHere = true
				}
			}
		}
		if startsHere && !crosses {
			out = append(out, s)
		}
	}
	return out
}

// slice is l[a:b] clipped to l.
func slice(l string, a, b int) string {
	if a > len(l) {
		return ""
	}
	if b > len(l) {
		b = len(l)
	}
	if b < a {
		return ""
	}
	return l[a:b]
}

func expandTabs(l string) string {
	if !strings.Contains(l, "\t") {
		return l
	}
	var b strings.Builder
	n := 0
	for _, r := range l {
		if r == '\t' {
			for {
				b.WriteByte(' ')
				n++
				if n%8 == 0 {
					break
				}
			}
			continue
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// keepText lists the column keys whose cells stay strings in the generic
// table: hexadecimal SPIs and message ids may be all digits.
func keepText(key string) bool {
	return strings.Contains(key, "spi") || strings.Contains(key, "msgid")
}

// parseTable is the generic column-table parser. Fields: rows (the rows of
// the first table, each a map from the snake_case header label to the
// cell), columns (the first table's keys in order), count (its rows) and
// tables (every table of the output: title, columns, rows).
func parseTable(text string, _ any) (map[string]any, error) {
	ts := findTables(lines(text))
	all := make([]any, 0, len(ts))
	for _, t := range ts {
		keys := make([]any, len(t.columns))
		seen := map[string]int{}
		for k, c := range t.columns {
			key := snake(c)
			if seen[key]++; seen[key] > 1 && key != "" {
				key = key + "_" + strconv.Itoa(seen[key])
			}
			keys[k] = key
		}
		rows := make([]any, 0, len(t.rows))
		for _, r := range t.rows {
			m := map[string]any{}
			for k, c := range r {
				key := keys[k].(string)
				if key == "" {
					continue
				}
				if keepText(key) {
					setFirst(m, key, c)
				} else {
					setFirst(m, key, value(c))
				}
			}
			rows = append(rows, m)
		}
		all = append(all, map[string]any{"title": t.title, "columns": keys, "rows": rows})
	}
	out := map[string]any{"tables": all, "rows": []any{}, "columns": []any{}, "count": int64(0)}
	if len(all) > 0 {
		first := all[0].(map[string]any)
		out["rows"], out["columns"] = first["rows"], first["columns"]
		out["count"] = int64(len(first["rows"].([]any)))
	}
	return out, nil
}
