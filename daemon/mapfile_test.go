package daemon

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/rpki"
)

// TestFileCacheTruncatedMapping: a mapped file truncated while it is parsed makes that load an error
// naming the file, where reading the mapping past the file's new end would have killed the process
// (SIGBUS); the value loaded before stays in the cache, and the next load of a good file works.
func TestFileCacheTruncatedMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vrps.json")
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = 'a'
	}
	if err := os.WriteFile(path, big, 0o644); err != nil {
		t.Fatal(err)
	}
	var c fileCache
	first, err := c.load("k", []string{path}, true, func(data [][]byte) (any, error) { return len(data[0]), nil })
	if err != nil || first.(int) != len(big) {
		t.Fatalf("first load: %v, %v", first, err)
	}
	if err := os.WriteFile(path, append(big, 'b'), 0o644); err != nil {
		t.Fatal(err)
	}
	var sum byte
	_, err = c.load("k", []string{path}, true, func(data [][]byte) (any, error) {
		if err := os.Truncate(path, 0); err != nil {
			t.Error(err)
		}
		for _, b := range data[0] { // faults on the first page read after the truncation
			sum += b
		}
		return sum, nil
	})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("a file truncated while mapped: err %v (sum %d)", err, sum)
	}
	if e := c.m["k"]; e == nil || e.value.(int) != len(big) {
		t.Fatalf("the value before the truncated file was lost: %+v", e)
	}
	// A fault outside load's mappings (here another mapping, truncated) stays a panic.
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, big, 0o644); err != nil {
		t.Fatal(err)
	}
	m, ok, err := mapFile(other)
	if err != nil || !ok {
		t.Fatalf("mapFile: %v, mapped %v", err, ok)
	}
	defer unmapFile(m)
	if err := os.WriteFile(path, big, 0o644); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("a fault in another mapping was taken for the file's")
			}
		}()
		c.load("k2", []string{path}, true, func([][]byte) (any, error) {
			if err := os.Truncate(other, 0); err != nil {
				t.Error(err)
			}
			return m[len(m)/2], nil
		})
	}()
	if err := os.WriteFile(path, big[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := c.load("k", []string{path}, true, func(data [][]byte) (any, error) { return len(data[0]), nil }); err != nil || v.(int) != 10 {
		t.Fatalf("after the truncated file: %v, %v", v, err)
	}
}

// TestVRPFileTruncatedWhileParsed: a VRP file large enough to be read in two halves at once (one on
// another goroutine, rpki.ParseTable), truncated while mapped, is an error for that load whichever
// half reads past the new end first, not a fault of the process.
func TestVRPFileTruncatedWhileParsed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vrps.json")
	data := vrpFileData(100_000, 0) // about 9 MB
	if len(data) < 8<<20 {
		t.Fatalf("%d bytes: too few to be read in halves", len(data))
	}
	// Cut before the middle, where the halves are looked for; in the first half; in the second,
	// which only its goroutine reads.
	for round, size := range []int{0, 2 << 20, 6 << 20, 7 << 20, 8 << 20} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var c fileCache
		_, err := c.load("vrp", []string{path}, true, func(d [][]byte) (any, error) {
			if err := os.Truncate(path, int64(size)); err != nil {
				t.Error(err)
			}
			return rpki.ParseTable(d[0])
		})
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var c fileCache
	if tab, err := c.vrpFile(path); err != nil || tab == nil {
		t.Fatalf("the whole file: %v", err)
	}
}

// TestSumFaultOnTruncatedMapping: load hashes a mapping before parsing it, so a file truncated
// between the mapping and the hash faults inside sumOf, whose hashing is the runtime's assembly.
// Under SetPanicOnFault that fault must still arrive as a recoverable panic at an address inside
// the mapping, which is what load turns into an error.
func TestSumFaultOnTruncatedMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vrps.json")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	m, ok, err := mapFile(path)
	if err != nil || !ok {
		t.Fatalf("mapFile: %v, mapped %v", err, ok)
	}
	defer unmapFile(m)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var r any
	func() {
		defer func() { r = recover() }()
		sumOf(m)
	}()
	f, ok := r.(interface{ Addr() uintptr })
	if !ok || !within(m, f.Addr()) {
		t.Fatalf("hashing a truncated mapping: recovered %v, want a fault inside the mapping", r)
	}
}
