//go:build race

package loadtest

// RaceEnabled reports whether this binary was built with -race.
const RaceEnabled = true
