package rs

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"github.com/ixrs/ixrs/speaker"
)

// checkTable verifies the whole table against ref: every cell of the index (and, while growth
// moves entries, of the old index) names a live slab entry under the right tag, is reachable from
// its home cell without crossing an empty cell, and names a different entry; every entry of ref
// is found by get and is in the slab where it says; the free list holds exactly the empty slab
// slots; the part of the old index already moved is empty and the move stopped between clusters.
func checkTable(t *testing.T, tb *prefixTable, ref map[netip.Prefix]*prefixEntry) {
	t.Helper()
	if tb.len() != len(ref) {
		t.Fatalf("len %d, reference %d", tb.len(), len(ref))
	}
	size := len(tb.idx)
	if size != 0 && (size&(size-1) != 0 || size < prefixTableMin) {
		t.Fatalf("index of %d cells", size)
	}
	if size != 0 && tb.n*4 > size*3 {
		t.Fatalf("%d entries in %d cells", tb.n, size)
	}
	seen := make([]bool, len(tb.slab))
	nseen := checkIndex(t, tb, tb.idx, ref, seen)
	if old := tb.old; old != nil {
		if len(old)*2 != size || tb.left == 0 || tb.left > uint32(len(old)) {
			t.Fatalf("old index of %d cells beside %d, %d cells left", len(old), size, tb.left)
		}
		if old[tb.cur] != 0 {
			t.Fatalf("move stopped inside a cluster, at old cell %d", tb.cur)
		}
		mask := uint32(len(old) - 1)
		for k := uint32(1); k <= uint32(len(old))-tb.left; k++ {
			if i := (tb.cur - k) & mask; old[i] != 0 {
				t.Fatalf("old cell %d moved but not empty", i)
			}
		}
		nseen += checkIndex(t, tb, old, ref, seen)
	}
	if nseen != len(ref) {
		t.Fatalf("%d cells, reference %d entries", nseen, len(ref))
	}
	for p, pe := range ref {
		if got := tb.get(p); got != pe {
			t.Fatalf("get(%v) = %p, want %p", p, got, pe)
		}
		if tb.lo[pe.slot] != uint32(tb.hash(p)) {
			t.Fatalf("%v: the slab keeps %#x as its hash's low half, not %#x", p, tb.lo[pe.slot], uint32(tb.hash(p)))
		}
	}
	if len(tb.lo) != len(tb.slab) {
		t.Fatalf("%d hashes beside %d slots", len(tb.lo), len(tb.slab))
	}
	free := make([]bool, len(tb.slab))
	for _, s := range tb.free {
		if free[s] || tb.slab[s] != nil {
			t.Fatalf("free slot %d listed twice or in use", s)
		}
		free[s] = true
	}
	if len(tb.free)+len(ref) != len(tb.slab) {
		t.Fatalf("slab of %d: %d free, %d live", len(tb.slab), len(tb.free), len(ref))
	}
	n := 0
	for p, pe := range tb.all() {
		if ref[p] != pe || pe.prefix() != p {
			t.Fatalf("all yields %v, not the reference's", p)
		}
		n++
	}
	if n != len(ref) {
		t.Fatalf("all yields %d entries, reference %d", n, len(ref))
	}
}

// randPrefix draws from a small pool of addresses at several lengths, so that keys share
// addresses and lengths and differ in the other, and IPv4 addresses come back as IPv4-mapped
// IPv6 prefixes of the same address and length+96. Prefixes are masked, as the table's callers
// pass them.
func randPrefix(r *rand.Rand, pool int) netip.Prefix {
	k := r.IntN(pool)
	switch r.IntN(4) {
	case 0, 1:
		a := netip.AddrFrom4([4]byte{10, byte(k >> 8), byte(k), 0})
		return netip.PrefixFrom(a, 8+r.IntN(25)).Masked()
	case 2:
		b := netip.AddrFrom4([4]byte{10, byte(k >> 8), byte(k), 0}).As16()
		return netip.PrefixFrom(netip.AddrFrom16(b), 104+r.IntN(25)).Masked()
	default:
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(k >> 8), byte(k)})
		return netip.PrefixFrom(a, 32+r.IntN(97)).Masked()
	}
}

// TestPrefixTableRandom runs random insert, lookup and delete sequences against a Go map, in

// checkIndex checks the cells of one index of tb (see checkTable), marks their slots in seen and
// returns how many it found.
func checkIndex(t *testing.T, tb *prefixTable, idx []uint32, ref map[netip.Prefix]*prefixEntry, seen []bool) int {
	t.Helper()
	size := len(idx)
	mask := uint32(size - 1)
	// run[i]: the cells in use up to and including i since the last empty one, cyclically. A
	// cell is reachable if its home lies within that run.
	run := make([]uint32, size)
	for start := 0; start < size; start++ {
		if idx[start] != 0 {
			continue
		}
		for k := 1; k < size; k++ {
			i := (start + k) & int(mask)
			if idx[i] != 0 {
				run[i] = run[(i-1)&int(mask)] + 1
			}
		}
		break
	}
	nseen := 0
	for i, c := range idx {
		if c == 0 {
			continue
		}
		slot := int32(c&mask) - 1
		if slot < 0 || int(slot) >= len(tb.slab) || tb.slab[slot] == nil {
			t.Fatalf("cell %d of %d: slot %d not live", i, size, slot)
		}
		if seen[slot] {
			t.Fatalf("cell %d of %d: slot %d in two cells", i, size, slot)
		}
		seen[slot] = true
		nseen++
		pe := tb.slab[slot]
		if pe.slot != slot || ref[pe.prefix()] != pe {
			t.Fatalf("cell %d: slot %d holds %v (slot %d), not the reference's entry", i, slot, pe.prefix(), pe.slot)
		}
		h := tb.hash(pe.prefix())
		if c&^mask != uint32(h>>32)&^mask {
			t.Fatalf("cell %d of %d: wrong tag for %v", i, size, pe.prefix())
		}
		if home := uint32(h) & mask; (uint32(i)-home)&mask >= run[i] {
			t.Fatalf("cell %d of %d: %v unreachable from its home %d, an empty cell between", i, size, pe.prefix(), home)
		}
	}
	return nseen
}

// phases that grow the table through several index sizes, empty it and grow it again.
func TestPrefixTableRandom(t *testing.T) {
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 1))
		tb := newPrefixTable()
		ref := map[netip.Prefix]*prefixEntry{}
		var keys []netip.Prefix // ref's keys, for random deletes
		var lastFree int32 = -1
		sizes := map[int]bool{}
		ops := 0
		// Per phase: probability of an insert (against a delete), and the steps.
		for _, ph := range []struct {
			insert float64
			steps  int
		}{{0.9, 6000}, {0.5, 8000}, {0.1, 6000}, {0.6, 10000}, {0, 6000}, {0.95, 4000}, {0.5, 8000}} {
			for range ph.steps {
				ops++
				p := randPrefix(r, 1500)
				if r.Float64() < ph.insert || len(keys) == 0 {
					want := ref[p]
					pe := tb.getOrCreate(p)
					if want != nil {
						if pe != want {
							t.Fatalf("seed %d op %d: getOrCreate(%v) made a second entry", seed, ops, p)
						}
					} else {
						if pe == nil || pe.prefix() != p || !pe.unused() || pe.node.entry() != pe || tb.slab[pe.slot] != pe {
							t.Fatalf("seed %d op %d: getOrCreate(%v) made a bad entry", seed, ops, p)
						}
						if lastFree >= 0 && pe.slot != lastFree {
							t.Fatalf("seed %d op %d: new entry in slot %d, last freed %d", seed, ops, pe.slot, lastFree)
						}
						ref[p] = pe
						keys = append(keys, p)
					}
				} else {
					i := r.IntN(len(keys))
					p = keys[i]
					keys[i] = keys[len(keys)-1]
					keys = keys[:len(keys)-1]
					pe := ref[p]
					delete(ref, p)
					tb.delete(pe)
					if tb.get(p) != nil {
						t.Fatalf("seed %d op %d: %v found after delete", seed, ops, p)
					}
				}
				if n := len(tb.free); n > 0 {
					lastFree = tb.free[n-1]
				} else {
					lastFree = -1
				}
				// Every step: the length, the key just used, and a few others, present or not.
				if tb.len() != len(ref) {
					t.Fatalf("seed %d op %d: len %d, reference %d", seed, ops, tb.len(), len(ref))
				}
				for range 4 {
					if got := tb.get(p); got != ref[p] {
						t.Fatalf("seed %d op %d: get(%v) = %p, want %p", seed, ops, p, got, ref[p])
					}
					p = randPrefix(r, 1500)
				}
				if !sizes[len(tb.idx)] || ops%61 == 0 {
					sizes[len(tb.idx)] = true
					checkTable(t, tb, ref)
				}
			}
			checkTable(t, tb, ref)
		}
		if len(sizes) < 6 {
			t.Errorf("seed %d: index sizes %v: too few growths", seed, sizes)
		}
	}
}

// TestPrefixTableFamilies: prefixes of one address are told apart by length and family, as
// netip.Prefix equality does.
func TestPrefixTableFamilies(t *testing.T) {
	ss := []string{
		"10.0.0.0/8", "::ffff:10.0.0.0/104", "10.0.0.0/16", "::ffff:10.0.0.0/112", "10.0.0.0/32",
		"::ffff:10.0.0.0/128", "0.0.0.0/0", "::/0", "::ffff:0.0.0.0/96", "::/96", "0.0.0.0/32",
		"::/128", "a00::/8", "2001:db8::/32", "2001:db8::/48",
	}
	tb := newPrefixTable()
	ref := map[netip.Prefix]*prefixEntry{}
	for _, s := range ss {
		p := netip.MustParsePrefix(s)
		ref[p] = tb.getOrCreate(p)
	}
	if len(ref) != len(ss) {
		t.Fatalf("test prefixes not distinct")
	}
	checkTable(t, tb, ref)
	for _, s := range ss {
		p := netip.MustParsePrefix(s)
		tb.delete(ref[p])
		delete(ref, p)
		checkTable(t, tb, ref)
	}
}

// TestPrefixTableSeeded: every table has its own hash seed, so nobody can choose prefixes that
// collide in the tables of another process.
func TestPrefixTableSeeded(t *testing.T) {
	p := netip.MustParsePrefix("192.0.2.0/24")
	a, b := newPrefixTable(), newPrefixTable()
	if a.hash(p) == b.hash(p) {
		t.Fatal("two tables hash alike")
	}
	if a.hash(p) != a.hash(netip.MustParsePrefix("192.0.2.0/24")) {
		t.Fatal("hash not a function of the prefix")
	}
}

// clusterKeys returns n distinct prefixes whose home cells in an index of size cells lie in
// [size-lo, size) or [0, hi): one cluster that wraps around the end of the index.
func clusterKeys(tb *prefixTable, r *rand.Rand, n, size, lo, hi int) []netip.Prefix {
	mask := uint64(size - 1)
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	for len(out) < n {
		p := randPrefix(r, 1<<16)
		if seen[p] {
			continue
		}
		if h := int(tb.hash(p) & mask); h >= size-lo || h < hi {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// TestPrefixTableClusters builds one long cluster across the end of the index and deletes from
// it in random order (every delete shifts a long run back), re-inserting now and then.
func TestPrefixTableClusters(t *testing.T) {
	const size = 1024
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 2))
		tb := newPrefixTable()
		ref := map[netip.Prefix]*prefixEntry{}
		keys := clusterKeys(tb, r, 700, size, 6, 3)
		for _, p := range keys {
			ref[p] = tb.getOrCreate(p)
		}
		if len(tb.idx) != size {
			t.Fatalf("index of %d cells, want %d", len(tb.idx), size)
		}
		// The cluster covers the window and runs on past it.
		for i := size - 6; i != 690; i = (i + 1) % size {
			if tb.idx[i] == 0 {
				t.Fatalf("cell %d empty: no single cluster", i)
			}
		}
		checkTable(t, tb, ref)
		live := append([]netip.Prefix(nil), keys...)
		var gone []netip.Prefix
		for len(live) > 0 {
			if len(gone) > 0 && r.IntN(4) == 0 {
				i := r.IntN(len(gone))
				p := gone[i]
				gone[i] = gone[len(gone)-1]
				gone = gone[:len(gone)-1]
				ref[p] = tb.getOrCreate(p)
				live = append(live, p)
			} else {
				i := r.IntN(len(live))
				p := live[i]
				live[i] = live[len(live)-1]
				live = live[:len(live)-1]
				tb.delete(ref[p])
				delete(ref, p)
				gone = append(gone, p)
			}
			checkTable(t, tb, ref)
			for _, p := range gone {
				if tb.get(p) != nil {
					t.Fatalf("seed %d: deleted %v still found", seed, p)
				}
			}
		}
		if tb.len() != 0 || len(tb.idx) != size {
			t.Fatalf("seed %d: emptied table: %d entries, %d cells", seed, tb.len(), len(tb.idx))
		}
		for _, c := range tb.idx {
			if c != 0 {
				t.Fatalf("seed %d: emptied table has a cell in use", seed)
			}
		}
	}
}

// TestPrefixTableTags: prefixes with the same home cell and the same tag (found by the
// birthday paradox over 32 bits of hash) are told apart by comparing the prefixes.
func TestPrefixTableTags(t *testing.T) {
	const size = 1024 // the index size with 385 to 768 entries
	mask := uint64(size - 1)
	r := rand.New(rand.NewPCG(7, 3))
	tb := newPrefixTable()
	key := func(p netip.Prefix) uint64 {
		h := tb.hash(p)
		return h&mask | h>>32&^mask // home and tag: 32 bits
	}
	byKey := map[uint64]netip.Prefix{}
	used := map[netip.Prefix]bool{} // in a pair already: random prefixes repeat
	var pairs [][2]netip.Prefix
	for len(pairs) < 8 {
		p := randPrefix(r, 1<<16)
		if len(byKey) > 1<<22 {
			t.Fatal("no colliding prefixes found")
		}
		if used[p] {
			continue
		}
		k := key(p)
		if q, ok := byKey[k]; ok && q != p {
			pairs = append(pairs, [2]netip.Prefix{q, p})
			used[p], used[q] = true, true
			delete(byKey, k)
			continue
		}
		byKey[k] = p
	}
	ref := map[netip.Prefix]*prefixEntry{}
	for _, pr := range pairs {
		for _, p := range pr {
			if ref[p] != nil {
				t.Fatalf("%v in two pairs", p)
			}
			ref[p] = tb.getOrCreate(p)
		}
	}
	for len(ref) < 600 {
		p := randPrefix(r, 1<<16)
		ref[p] = tb.getOrCreate(p)
	}
	if len(tb.idx) != size {
		t.Fatalf("index of %d cells, want %d", len(tb.idx), size)
	}
	checkTable(t, tb, ref)
	// Delete each pair's first prefix, then its second; the other stays found.
	for i := range 2 {
		for _, pr := range pairs {
			p := pr[i]
			tb.delete(ref[p])
			delete(ref, p)
			if tb.get(p) != nil {
				t.Fatalf("deleted %v still found", p)
			}
			if q := pr[1-i]; tb.get(q) != ref[q] {
				t.Fatalf("%v lost with its twin", q)
			}
			checkTable(t, tb, ref)
		}
	}
}

// mapPrefixTable is the prefix table as it was before the hash index, a Go map beside the slab,
// for BenchmarkPrefixTable to compare against.
type mapPrefixTable struct {
	m map[netip.Prefix]*prefixEntry
	entrySlab
}

func (t *mapPrefixTable) get(p netip.Prefix) *prefixEntry { return t.m[p] }

func (t *mapPrefixTable) getOrCreate(p netip.Prefix) *prefixEntry {
	if pe := t.m[p]; pe != nil {
		return pe
	}
	pe := t.add(p, 0)
	t.m[p] = pe
	return pe
}

func (t *mapPrefixTable) delete(pe *prefixEntry) {
	delete(t.m, pe.prefix())
	t.remove(pe)
}

// benchPrefixes returns n distinct prefixes in random order, shaped like a route server's
// table: four in five IPv4 /16 to /24, the rest IPv6 /29 to /48.
func benchPrefixes(n int) []netip.Prefix {
	r := rand.New(rand.NewPCG(1, 1))
	seen := make(map[netip.Prefix]bool, n)
	out := make([]netip.Prefix, 0, n)
	for len(out) < n {
		var p netip.Prefix
		if r.IntN(5) > 0 {
			a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.IntN(256)), byte(r.IntN(256))})
			p = netip.PrefixFrom(a, 16+r.IntN(9)).Masked()
		} else {
			a := netip.AddrFrom16([16]byte{0x20, byte(r.IntN(16)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
			p = netip.PrefixFrom(a, 29+r.IntN(20)).Masked()
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

type benchTable interface {
	get(netip.Prefix) *prefixEntry
	getOrCreate(netip.Prefix) *prefixEntry
	delete(*prefixEntry)
}

// BenchmarkPrefixTable: lookups in a table of 300,000 prefixes, the hash index against the Go map
// it replaced. index-B/prefix is the lookup structure alone (idx; the map's heap, entries
// excluded), table-B/prefix the whole table with its entries.
func BenchmarkPrefixTable(b *testing.B) {
	const n = 300_000
	ps := benchPrefixes(n)
	miss := benchPrefixes(n + n/4)[n:] // drawn after ps by the same generator: none in ps
	impls := []struct {
		name string
		make func() benchTable
		idx  func(benchTable) float64
	}{
		{"index", func() benchTable { return newPrefixTable() },
			func(t benchTable) float64 { return float64(4 * len(t.(*prefixTable).idx)) }},
		{"map", func() benchTable { return &mapPrefixTable{m: map[netip.Prefix]*prefixEntry{}} },
			func(t benchTable) float64 {
				// Rebuild the map alone, entries already made, and weigh it.
				var m0, m1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m0)
				m := map[netip.Prefix]*prefixEntry{}
				for _, pe := range t.(*mapPrefixTable).slab {
					m[pe.prefix()] = pe
				}
				runtime.GC()
				runtime.ReadMemStats(&m1)
				runtime.KeepAlive(m)
				return float64(m1.HeapAlloc - m0.HeapAlloc)
			}},
	}
	for _, im := range impls {
		build := func() benchTable {
			t := im.make()
			for _, p := range ps {
				t.getOrCreate(p)
			}
			return t
		}
		b.Run(im.name+"/getOrCreate", func(b *testing.B) {
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			t := build()
			runtime.GC()
			runtime.ReadMemStats(&m1)
			tableB, indexB := float64(m1.HeapAlloc-m0.HeapAlloc)/n, im.idx(t)/n
			// Each op creates one prefix into a table that grows to 300,000 from empty.
			for i := 0; b.Loop(); i++ {
				if i%n == 0 {
					b.StopTimer()
					t = im.make()
					runtime.GC()
					b.StartTimer()
				}
				t.getOrCreate(ps[i%n])
			}
			b.ReportMetric(tableB, "table-B/prefix")
			b.ReportMetric(indexB, "index-B/prefix")
		})
		t := build()
		b.Run(im.name+"/get-hit", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if t.get(ps[i%n]) == nil {
					b.Fatal("lost")
				}
			}
		})
		b.Run(im.name+"/get-miss", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if t.get(miss[i%len(miss)]) != nil {
					b.Fatal("found")
				}
			}
		})
		// One op deletes a prefix and creates another: the table stays at 300,000.
		live, spare := append([]netip.Prefix(nil), ps...), append([]netip.Prefix(nil), miss...)
		b.Run(im.name+"/churn", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				j, k := i%n, i%len(spare)
				t.delete(t.get(live[j]))
				t.getOrCreate(spare[k])
				live[j], spare[k] = spare[k], live[j]
			}
		})
	}
}

// TestPrefixEntrySize: one entry per prefix, a million at a large exchange; 64 bytes is a size
// class, and a field added carelessly moves every entry to the next one. The change list reads an
// entry's first fields as a listHead (clNode.entry), and a wide entry's lo past its end.
func TestPrefixEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(prefixEntry{}); n > 64 {
		t.Errorf("prefixEntry is %d bytes, more than 64", n)
	}
	if unsafe.Offsetof(prefixEntry{}.node) != 0 || unsafe.Offsetof(listHead{}.node) != 0 ||
		unsafe.Offsetof(prefixEntry{}.fi) != unsafe.Offsetof(listHead{}.fi) || unsafe.Offsetof(marker{}.head) != 0 {
		t.Errorf("prefixEntry, listHead and marker do not start alike")
	}
	for _, s := range []string{"10.1.2.0/24", "0.0.0.0/0", "2001:db8::/32", "::ffff:10.0.0.0/104", "::/0", "1.2.3.4/32",
		"255.255.255.255/32", "2001:db8:1:2::/64", "2001:db8:1:2:3::/80", "2001:db8::1/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"} {
		p := netip.MustParsePrefix(s)
		pe := newPrefixEntry(p)
		if got := pe.prefix(); got != p {
			t.Errorf("%v comes back as %v", p, got)
		}
		if pe.key() != keyOf(p) {
			t.Errorf("%v: the entry's key %v is not the prefix's %v", p, pe.key(), keyOf(p))
		}
		if pe.node.entry() != pe {
			t.Errorf("%v: the entry's node does not lead back to it", p)
		}
		if wantWide := p.Addr().Is6() && p.Bits() > 64; pe.wide() != wantWide {
			t.Errorf("%v: wide %v", p, pe.wide())
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("an IPv6 prefix of 64 bits or fewer with host bits in the last 8 bytes was taken")
		}
	}()
	newPrefixEntry(netip.PrefixFrom(netip.MustParseAddr("2001:db8::1"), 64))
}

// TestPrefixEntryLists grows and shrinks a prefix's routes and Adj-RIB-Out entries through the
// accessors, across the move from the entry's own slot to prefixExt, and checks each step against a
// plain slice.
func TestPrefixEntryLists(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pe := newPrefixEntry(netip.MustParsePrefix("192.0.2.0/24"))
	var wantR []*route
	var wantO []adjOut
	pool := make([]*route, 6)
	sets := make([]*attrSet, 6)
	for i := range pool {
		pool[i], sets[i] = &route{}, &attrSet{}
	}
	for step := 0; step < 2000; step++ {
		switch rng.IntN(5) {
		case 0, 1: // routes grow at a random position, as insert does
			if len(wantR) < len(pool) {
				r := pool[len(wantR)]
				i := rng.IntN(len(wantR) + 1)
				wantR = slices.Insert(wantR, i, r)
				rs := append(pe.routes(), nil)
				copy(rs[i+1:], rs[i:])
				rs[i] = r
				pe.setRoutes(rs)
			}
		case 2: // a route leaves, as remove does; an empty list is released, as dropRoute does
			if len(wantR) > 0 {
				i := rng.IntN(len(wantR))
				wantR = slices.Delete(wantR, i, i+1)
				rs := pe.routes()
				copy(rs[i:], rs[i+1:])
				rs[len(rs)-1] = nil
				pe.setRoutes(rs[:len(rs)-1])
				if len(wantR) == 0 && rng.IntN(2) == 0 {
					pe.releaseRoutes()
				}
			}
		case 3: // an entry is added at the end, as adjoutAdd does
			if len(wantO) < len(sets) {
				e := adjOut{set: sets[len(wantO)]}
				wantO = append(wantO, e)
				pe.setOut(append(pe.out(), e))
			}
		case 4: // an entry is removed by moving the last into its place, as removeOut does
			if len(wantO) > 0 {
				i := rng.IntN(len(wantO))
				last := len(wantO) - 1
				wantO[i] = wantO[last]
				wantO = wantO[:last]
				out := pe.out()
				out[i] = out[last]
				out[last] = adjOut{}
				pe.setOut(out[:last])
			}
		}
		if !slices.Equal(pe.routes(), wantR) {
			t.Fatalf("step %d: routes %v, want %v", step, pe.routes(), wantR)
		}
		if !slices.Equal(pe.out(), wantO) {
			t.Fatalf("step %d: out %v, want %v", step, pe.out(), wantO)
		}
		if len(wantR) == 0 && len(wantO) == 0 {
			pe.releaseRoutes()
			if !pe.unused() || pe.ext != nil {
				t.Fatalf("step %d: empty entry not unused or still extended", step)
			}
		}
	}
}

// TestPrefixTableGrowth: while growth moves entries from the old index to the new, inserts,
// deletes (of entries in either index), lookups and walks all see the table as the reference map
// has it, checked in full after every operation; and the move ends before the next growth.
func TestPrefixTableGrowth(t *testing.T) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 4))
		tb := newPrefixTable()
		// The table's own keys are random: which entries the move leaves in the old index, and so
		// whether the operations below reach it, would differ from run to run.
		for i := range tb.seed {
			tb.seed[i] = r.Uint64() | 1
		}
		ref := map[netip.Prefix]*prefixEntry{}
		var keys []netip.Prefix
		insert := func() {
			for {
				p := randPrefix(r, 1<<14)
				if ref[p] == nil {
					ref[p] = tb.getOrCreate(p)
					keys = append(keys, p)
					return
				}
			}
		}
		// Grow to 1,024 cells, with the move from 512 just begun.
		for len(tb.idx) < 1024 {
			insert()
		}
		checkTable(t, tb, ref)
		if tb.old == nil {
			t.Fatalf("seed %d: growth moved everything at once", seed)
		}
		var ops, writes, fromOld, foundOld int
		for ; tb.old != nil; ops++ {
			if ops > 10_000 {
				t.Fatalf("seed %d: move not done after %d operations", seed, ops)
			}
			switch k := r.IntN(10); {
			case k < 4:
				insert()
				writes++
			case k < 7:
				writes++
				i := r.IntN(len(keys))
				p := keys[i]
				keys[i] = keys[len(keys)-1]
				keys = keys[:len(keys)-1]
				pe := ref[p]
				if inOld(tb, pe) {
					fromOld++
				}
				delete(ref, p)
				tb.delete(pe)
			default:
				p := keys[r.IntN(len(keys))]
				if inOld(tb, ref[p]) {
					foundOld++
				}
				if tb.get(p) != ref[p] {
					t.Fatalf("seed %d op %d: %v lost", seed, ops, p)
				}
			}
			checkTable(t, tb, ref)
		}
		if fromOld == 0 || foundOld == 0 {
			t.Fatalf("seed %d: %d deletes from and %d lookups in the old index", seed, fromOld, foundOld)
		}
		// 512 old cells at migrateStep or more per insert or delete.
		if writes > 512/migrateStep {
			t.Errorf("seed %d: move took %d inserts and deletes", seed, writes)
		}
		// Fill to the next growth: the move has ended by then.
		for len(tb.idx) < 2048 {
			insert()
		}
		if len(tb.old) != 1024 {
			t.Fatalf("seed %d: old index of %d cells after growing to 2048", seed, len(tb.old))
		}
		checkTable(t, tb, ref)
	}
}

// inOld reports whether pe is filed in tb's old index.
func inOld(tb *prefixTable, pe *prefixEntry) bool {
	mask := uint32(len(tb.old) - 1)
	for _, c := range tb.old {
		if c != 0 && c&mask-1 == uint32(pe.slot) {
			return true
		}
	}
	return false
}

// TestPrefixTableSettle: a move left unfinished when inserts stop is finished by settle, a
// bounded step at a time, and by the RIB loop's passes with nothing to route.
func TestPrefixTableSettle(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 5))
	tb := newPrefixTable()
	ref := map[netip.Prefix]*prefixEntry{}
	for len(tb.idx) < 4096 {
		p := randPrefix(r, 1<<16)
		ref[p] = tb.getOrCreate(p)
	}
	if tb.old == nil {
		t.Fatal("no move under way")
	}
	steps := 0
	for tb.settle(64) {
		if steps++; steps > 2048/64+1 {
			t.Fatalf("move of 2048 cells not done after %d steps of 64", steps)
		}
		checkTable(t, tb, ref)
	}
	if tb.old != nil || steps < 2 {
		t.Fatalf("settled in %d steps, old index %d cells", steps, len(tb.old))
	}
	checkTable(t, tb, ref)

	s := newTestServer(t, nil)
	p := benchPeer(t, s, 1)
	a := &speaker.Attrs{NextHop: p.addr, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{p.m.asn}}}}
	for k := 0; s.prefixes.old == nil; k += 100 {
		if k > 1<<20 {
			t.Fatal("the table never grew")
		}
		s.importUpdate(p, &speaker.Update{Attrs: a, NLRI: seqPrefixes(k, 100, false)})
	}
	for range 1000 {
		if !s.pass() {
			break
		}
	}
	if s.prefixes.old != nil {
		t.Fatal("idle passes left the old index")
	}
}
