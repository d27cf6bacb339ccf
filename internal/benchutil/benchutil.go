// Package benchutil holds the small helpers the benchmark suites share:
// medians of interleaved rounds and the machine's load, printed next to
// every figure because the machine is shared.
package benchutil

import (
	"os"
	"slices"
	"strings"
)

// Median returns the median of v (0 for none), leaving v unchanged.
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	switch {
	case len(s) == 0:
		return 0
	case len(s)%2 == 1:
		return s[len(s)/2]
	default:
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
}

// LoadAvg returns the 1, 5 and 15 minute load averages from /proc/loadavg,
// or "unknown".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
