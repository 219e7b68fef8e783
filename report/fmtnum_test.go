package report

import "testing"

func TestFmtNum(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{1.004 - 0.001, "1.003"},
		{1.0010000000000001, "1.001"},
		{2130318046, "2130318046"},
		{123456789012345, "123456789012345"},
		{-0.002, "-0.002"},
		{0, "0"},
	} {
		if got := fmtNum(tc.in); got != tc.want {
			t.Errorf("fmtNum(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
