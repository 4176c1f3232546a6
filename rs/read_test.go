package rs

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzCursor: UnmarshalText accepts exactly the text MarshalText produces, and round-trips it.
// Seeds: testdata/fuzz/FuzzCursor.
func FuzzCursor(f *testing.F) {
	for _, c := range []Cursor{{}, {set: true}, {set: true, inc: 7, a: 3, b: 1}, {set: true, inc: ^uint64(0), a: ^uint32(0), b: ^uint32(0)}} {
		b, _ := c.MarshalText()
		f.Add(b)
	}
	f.Add([]byte("c0000000000000007000000030000000"))   // one digit short
	f.Add([]byte("C00000000000000070000000300000001"))  // upper-case version
	f.Add([]byte("c0000000000000007000000030000000G"))  // not hexadecimal
	f.Add([]byte("c00000000000000070000000300000001 ")) // trailing space
	f.Fuzz(func(t *testing.T, text []byte) {
		var c Cursor
		if err := c.UnmarshalText(text); err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("%q: error %v is not ErrBadCursor", text, err)
			}
			return
		}
		out, err := c.MarshalText()
		if err != nil || !bytes.Equal(out, text) {
			t.Fatalf("%q → %+v → %q, %v", text, c, out, err)
		}
	})
}

func TestCursorText(t *testing.T) {
	c := Cursor{set: true, inc: 42, a: 7, b: 9}
	if c.String() != "c000000000000002a0000000700000009" {
		t.Errorf("text %q", c.String())
	}
	var d Cursor
	if err := d.UnmarshalText([]byte(c.String())); err != nil || d != c {
		t.Errorf("round trip %+v, %v", d, err)
	}
	if err := d.UnmarshalText(nil); err != nil || !d.IsZero() {
		t.Errorf("empty text: %+v, %v", d, err)
	}
}
