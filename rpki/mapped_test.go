package rpki

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"testing"
	"unsafe"
)

// TestParseHalvesFaultOnMapping: a VRP file mapped into memory and truncated while its second half
// is read on the other goroutine makes that goroutine fault; under debug.SetPanicOnFault (how the
// route server's file cache reads a mapped file) the fault comes back to the caller as a panic with
// its address, after both halves have stopped, rather than killing the process.
func TestParseHalvesFaultOnMapping(t *testing.T) {
	data := vrpFileJSON(100_000, 0)
	path := filepath.Join(t.TempDir(), "vrps.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, len(data), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	splitHook = func() {
		// The first half (up to the middle) stays readable; the second half's pages from three
		// quarters on go. (At a page boundary: the rest of a file's last page reads as zeros.)
		if err := os.Truncate(path, int64(len(data)*3/4)&^int64(os.Getpagesize()-1)); err != nil {
			t.Error(err)
		}
	}
	defer func() { splitHook = nil }()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var r any
	func() {
		defer func() { r = recover() }()
		fastParseJSON(m, 0)
	}()
	if f, ok := r.(interface{ Addr() uintptr }); !ok {
		t.Fatalf("recovered %v, want a fault", r)
	} else if off := int(f.Addr() - uintptr(unsafe.Pointer(&m[0]))); off < len(data)/2 || off >= len(data) {
		t.Fatalf("fault at %d of the file's %d bytes, not in the second half", off, len(data))
	}
}
