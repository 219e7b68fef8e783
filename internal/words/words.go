// Package words writes counts the way the terminal, summary.md and
// report.html say them.
package words

import "strconv"

// Count is n and word, plural past one: "1 command", "3 commands",
// "0 commands". word takes an s in the plural.
func Count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
