package rs

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ixrs/ixrs/speaker"
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

// TestReadBudgetSharedWithDumps: a table dump's work comes out of the pass budget that read jobs
// use, and reads keep a quarter of it, so a read completes while a dump runs, in more passes than
// on an idle RIB.
func TestReadBudgetSharedWithDumps(t *testing.T) {
	passesFor := func(dumping bool) int {
		s := newTestServer(t, func(c *Config) { c.WalkBatch, c.ReadBudget, c.ReadLimit = 64, 64, 1<<20 })
		a := addMember(t, s, "A", 64501, "192.0.2.11")
		if err := a.ss.Receive(&speaker.Update{Attrs: a.attrs(), NLRI: seqPrefixes(0, 4000, false)}); err != nil {
			t.Fatal(err)
		}
		b := addMember(t, s, "B", 64502, "192.0.2.12")
		readAll(t, s, a, b)
		if dumping {
			c := addMember(t, s, "C", 64503, "192.0.2.13") // its dump of 4,000 prefixes starts now
			defer readAll(t, s, a, b, c)
		}
		j := newRoutesJob(RoutesQuery{Neighbor: a.addr, View: ViewReceived, Limit: MaxPage})
		j.ctx, j.done = context.Background(), make(chan struct{})
		s.reads = append(s.reads, j)
		for i := 1; ; i++ {
			if i > 10_000 {
				t.Fatal("the read never finished")
			}
			s.pass()
			select {
			case <-j.done:
				if len(j.page.Routes) != MaxPage {
					t.Fatalf("page of %d routes", len(j.page.Routes))
				}
				return i
			default:
			}
		}
	}
	idle, dumping := passesFor(false), passesFor(true)
	if dumping <= idle {
		t.Errorf("a read took %d passes during a dump and %d without: the dump did not share the budget", dumping, idle)
	}
	if dumping > 4*idle+4 {
		t.Errorf("a read took %d passes during a dump and %d without: reads lost more than three quarters", dumping, idle)
	}
}
