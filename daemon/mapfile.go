package daemon

import (
	"os"
	"syscall"
	"unsafe"
)

// mapFile maps the file at path into memory, read-only, and returns its contents and whether they
// are a mapping (to be given to unmapFile); a file that cannot be mapped (empty, not a regular file,
// on a file system without mmap) is read instead. Reading a mapping faults where the file has been
// truncated meanwhile: see fileCache.load.
func mapFile(path string) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if n := fi.Size(); n > 0 && n == int64(int(n)) && fi.Mode().IsRegular() {
		if b, err := syscall.Mmap(int(f.Fd()), 0, int(n), syscall.PROT_READ, syscall.MAP_SHARED); err == nil {
			return b, true, nil
		}
	}
	b, err := os.ReadFile(path)
	return b, false, err
}

// unmapFile unmaps what mapFile mapped.
func unmapFile(b []byte) { syscall.Munmap(b) }

// within reports whether addr is in the pages of mapping b.
func within(b []byte, addr uintptr) bool {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	page := uintptr(os.Getpagesize())
	return addr >= start && addr < start+(uintptr(len(b))+page-1)/page*page
}
