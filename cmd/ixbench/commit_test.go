package main

import "testing"

// TestRunCommit: a mode's section names the commit scripts/benchmark built the route server from
// (-commit, --rev included), shortened, and keeps its "+dirty" mark.
func TestRunCommit(t *testing.T) {
	for flag, want := range map[string]string{
		"1d387ef21993aa0c3c9a2d3e5c6f7a8b9c0d1e2f":       "1d387ef21993",
		"9933fa85cbbb0a08d1c886711030d282817c0e5c+dirty": "9933fa85cbbb+dirty",
		"abc123": "abc123",
	} {
		if got := runCommit(flag); got != want {
			t.Errorf("runCommit(%q) = %q, want %q", flag, got, want)
		}
	}
}
