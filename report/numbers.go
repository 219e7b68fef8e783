package report

import (
	"math"
	"strconv"
	"strings"
)

// sigDigits is how many significant digits every number on the page shows.
const sigDigits = 3

// siPrefixes name the powers of 1000 fmtNum scales by.
var siPrefixes = []string{"", "k", "M", "G", "T", "P", "E"}

// fmtNum is the one number format of the page: three significant digits,
// scaled by k, M, G, T above a thousand (1.53M, 2.16G, 388k), trailing
// zeros dropped (1.5M, 45, 0.265), never an exponent nor float noise
// (-0.265000000000001 prints -0.265). Exact values are in the tooltips
// and in manifest.json.
func fmtNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	p := 0
	for a >= 999.5 && p < len(siPrefixes)-1 {
		a /= 1000
		p++
	}
	// Digits after the point for three significant ones, rounded; a
	// rounding that reaches 1000 moves to the next prefix (999.7k is 1M).
	d := sigDigits - 1 - int(math.Floor(math.Log10(a)))
	if d < 0 {
		d = 0
	}
	// Half away from zero (39.25 is 39.3), as people round.
	scale := math.Pow(10, float64(d))
	r := math.Round(a*scale) / scale
	if r >= 1000 && p < len(siPrefixes)-1 {
		p++
		r, d = r/1000, sigDigits-1
	}
	s := strconv.FormatFloat(r, 'f', d, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "0" {
		return "0"
	}
	if v < 0 {
		s = "-" + s
	}
	return s + siPrefixes[p]
}

// fmtSigned is fmtNum with a "+" before a positive number: a change.
func fmtSigned(v float64) string {
	if v > 0 {
		return "+" + fmtNum(v)
	}
	return fmtNum(v)
}

// fmtRate is a change per second.
func fmtRate(r float64) string { return fmtNum(r) + "/s" }

// fmtExact prints a number in full, without an exponent, for tooltips:
// an integer (a counter) exactly, a fraction to 12 significant digits, free
// of float noise (-0.265000000000001 prints -0.265).
func fmtExact(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e18 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		r = v
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}
