package report

import "testing"

func TestFmtNum(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{45, "45"},
		{-7, "-7"},
		{999, "999"},
		{999.6, "1k"},
		{1000, "1k"},
		{1530000, "1.53M"},
		{1500000, "1.5M"},
		{388265, "388k"},
		{2160195281.5, "2.16G"},
		{999_960_000, "1G"},
		{123456789012345, "123T"},
		{4.8, "4.8"},
		{39.25, "39.3"},
		{-0.265000000000001, "-0.265"},
		{1.004 - 0.001, "1"},
		{0.00012345, "0.000123"},
		{-48314, "-48.3k"},
	} {
		if got := fmtNum(tc.in); got != tc.want {
			t.Errorf("fmtNum(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := fmtExact(1.004 - 0.001); got != "1.003" {
		t.Errorf("fmtExact = %q", got)
	}
	for in, want := range map[float64]string{2130318046: "2130318046", 12345678901234567: "12345678901234568",
		-0.265000000000001: "-0.265", 2160195281.5: "2160195281.5"} {
		if got := fmtExact(in); got != want {
			t.Errorf("fmtExact(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestNiceAxis(t *testing.T) {
	for _, tc := range []struct {
		in           []float64
		lo, hi, step float64
	}{
		{[]float64{0, 0}, 0, 1, 1},
		{[]float64{3, 3}, 0, 3, 1},
		{[]float64{2, 2}, 0, 2, 1},
		{[]float64{48314, 45472}, 0, 60000, 20000},
		{[]float64{4.8, 4.4, 5.2}, 0, 6, 2},
		{[]float64{-5, 37}, -20, 40, 20},
		{[]float64{0.1, 0.365}, 0, 0.4, 0.1},
	} {
		lo, hi, step := niceAxis(tc.in)
		if lo != tc.lo || hi != tc.hi || step != tc.step {
			t.Errorf("niceAxis(%v) = %v..%v step %v, want %v..%v step %v", tc.in, lo, hi, step, tc.lo, tc.hi, tc.step)
		}
	}
}
