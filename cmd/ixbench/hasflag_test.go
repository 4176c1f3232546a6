package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestHasFlag: a flag is found in a program's usage as the flag package prints it, and a name that
// is only the prefix of another flag, or appears in a description, is not.
func TestHasFlag(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rs")
	usage := "Usage:\n  rs -config FILE\n\nFlags:\n  -config FILE\n    \tread FILE\n  -tracer\n    \tnot it\n" +
		"  -memprofile FILE\n    \twrite a heap profile, like -trace does\n  -version\n    \tprint the version\n"
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ncat >&2 <<'END'\n"+usage+"END\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"config": true, "memprofile": true, "version": true, "trace": false, "cpuprofile": false} {
		if got := hasFlag(bin, name); got != want {
			t.Errorf("hasFlag(%q) = %v, want %v", name, got, want)
		}
	}
	if hasFlag(filepath.Join(t.TempDir(), "missing"), "config") {
		t.Error("a program that does not run has no flags")
	}
}
