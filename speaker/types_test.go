package speaker

import (
	"testing"
	"unsafe"
)

// TestAttrsSize: the route server holds an Attrs per distinct received and sent attribute set; 224
// bytes is a size class, and a field added in the wrong place moves every one to the next (240).
func TestAttrsSize(t *testing.T) {
	if n := unsafe.Sizeof(Attrs{}); n > 224 {
		t.Errorf("Attrs is %d bytes, more than 224", n)
	}
}
