package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileCache: a file is parsed again only when its content changed; an unchanged stamp skips the
// read, a changed stamp with the same content skips the parse, and a write inside the racy window
// is never missed; read or mapped.
func TestFileCache(t *testing.T) {
	for _, mapped := range []bool{false, true} {
		t.Run(fmt.Sprintf("mapped=%v", mapped), func(t *testing.T) { testFileCache(t, mapped) })
	}
}

func testFileCache(t *testing.T, mapped bool) {
	path := filepath.Join(t.TempDir(), "f")
	var c fileCache
	parses := 0
	parse := func(data [][]byte) (any, error) {
		parses++
		if string(data[0]) == "bad" {
			return nil, errors.New("bad")
		}
		s := string(data[0])
		return &s, nil
	}
	old := time.Now().Add(-time.Hour)
	write := func(content string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	get := func() *string {
		t.Helper()
		v, err := c.load("k", []string{path}, mapped, parse)
		if err != nil {
			t.Fatal(err)
		}
		return v.(*string)
	}
	write("one", old)
	a := get()
	if *a != "one" || parses != 1 {
		t.Fatalf("first load: %q after %d parses", *a, parses)
	}
	if b := get(); b != a || parses != 1 {
		t.Errorf("unchanged file: parsed again (%d) or another value", parses)
	}
	write("one", old.Add(time.Minute)) // touched, same content
	if b := get(); b != a || parses != 1 {
		t.Errorf("same content, new time: parsed again (%d) or another value", parses)
	}
	write("two", old.Add(time.Minute)) // same size and time, other content: only a hash tells
	if b := get(); b != a {
		t.Errorf("a stamp without the racy mark must be trusted: got %q", *b)
	}
	write("two", old.Add(2*time.Minute))
	if b := get(); *b != "two" || parses != 2 {
		t.Errorf("changed file: %q after %d parses", *b, parses)
	}
	now := time.Now()
	write("tri", now) // a write within the racy window
	get()
	write("fou", now) // same size and time
	if b := get(); *b != "fou" {
		t.Errorf("a write within the racy window was missed: %q", *b)
	}
	n := parses
	write("bad", old)
	if _, err := c.load("k", []string{path}, mapped, parse); err == nil || parses != n+1 {
		t.Errorf("a bad file: %v after %d parses", err, parses-n)
	}
	write("fou", old)
	if b := get(); *b != "fou" {
		t.Errorf("after a refused file: %q", *b)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.load("k", []string{path}, mapped, parse); err == nil {
		t.Errorf("a missing file loaded")
	}
	c.forget(map[string]bool{})
	if len(c.m) != 0 {
		t.Errorf("forget kept %d entries", len(c.m))
	}
}
