package rs

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"unsafe"
)

// prefixEntry is everything the route server holds for one prefix: every route received for it
// (the Adj-RIB-In rows of all sessions), the Adj-RIB-Out state, and its place in the change list.
//
// There is one per prefix, a million at a large exchange, so it is kept to 64 bytes (a size class):
// the prefix as its address bytes and length (a netip.Prefix is 32 bytes with a pointer the
// collector must scan), a 16-bit candidate count (a prefix has at most one route per session).
// Most prefixes have one route and one Adj-RIB-Out entry (every session but the announcing
// member's): both sit in the entry itself, so such a prefix costs no allocation of its own beyond
// it. A prefix with more of either keeps them in a prefixExt (routes, out).
//
// The address takes 8 bytes: all of an IPv4 address, and the half of an IPv6 address that a prefix
// of up to 64 bits has (the table holds prefixes without host bits, as UPDATEs are decoded). A
// longer IPv6 prefix, rare at an exchange, is a wideEntry with the other half after the entry. The
// change-list node comes first and fi right after it, the layout of listHead: that is how the list
// tells its prefix nodes from its markers without a pointer back to the entry (changelist.go).
type prefixEntry struct {
	node clNode // change list; must be first (clNode.entry)
	fi   famIdx // must follow node (listHead.fi); never headFam
	bits uint8
	nacc int16
	slot int32 // index in prefixTable.slab
	// r1 holds the only route while the routes are not in ext; nil for none.
	r1 [1]*route
	// o1 holds the only Adj-RIB-Out entry while they are not in ext; o1[0].set is nil for none.
	o1   [1]adjOut
	ext  *prefixExt
	addr [8]byte // IPv4 in the first 4 bytes; the first half of an IPv6 address
}

// wideEntry is the entry of an IPv6 prefix longer than 64 bits: the address's last 8 bytes follow
// the entry in the same allocation.
type wideEntry struct {
	prefixEntry
	lo [8]byte
}

// wide reports whether pe is the prefixEntry of a wideEntry.
func (pe *prefixEntry) wide() bool { return pe.fi == 1 && pe.bits > 64 }

// addrLo returns the last 8 bytes of pe's IPv6 address: zero unless pe is wide.
func (pe *prefixEntry) addrLo() [8]byte {
	if !pe.wide() {
		return [8]byte{}
	}
	return (*wideEntry)(unsafe.Pointer(pe)).lo
}

// addr16 returns pe's address as 16 bytes (an IPv4 address in the first 4).
func (pe *prefixEntry) addr16() (a [16]byte) {
	copy(a[:8], pe.addr[:])
	lo := pe.addrLo()
	copy(a[8:], lo[:])
	return a
}

// prefixExt holds the routes and the Adj-RIB-Out entries of a prefix that has more than one of
// either. Routes stay here, once moved, until the last is released (a replaced route is removed and
// inserted again, and keeps the capacity); entries until the last is removed.
type prefixExt struct {
	routes []*route
	out    []adjOut
}

// routes returns every route of the prefix: the accepted routes first, in decision order (the
// candidates), then the rejected ones in no particular order. Appending to the result and passing
// it to setRoutes is how the list grows.
func (pe *prefixEntry) routes() []*route {
	if pe.ext != nil && cap(pe.ext.routes) > 0 {
		return pe.ext.routes
	}
	if pe.r1[0] == nil {
		return pe.r1[:0]
	}
	return pe.r1[:]
}

// setRoutes makes rs, the result of routes() after changes, the prefix's routes.
func (pe *prefixEntry) setRoutes(rs []*route) {
	switch {
	case pe.ext != nil && cap(pe.ext.routes) > 0:
		pe.ext.routes = rs
	case len(rs) <= 1:
		var r *route // rs may be r1[:]
		if len(rs) == 1 {
			r = rs[0]
		}
		pe.r1[0] = r
	default:
		if pe.ext == nil {
			pe.ext = &prefixExt{}
		}
		pe.ext.routes, pe.r1[0] = rs, nil
	}
}

// releaseRoutes gives back the capacity of an empty route list.
func (pe *prefixEntry) releaseRoutes() {
	if pe.ext != nil {
		pe.ext.routes = nil
		if pe.ext.out == nil {
			pe.ext = nil
		}
	}
}

// out returns the prefix's Adj-RIB-Out: one entry per outgoing attribute set. Appending to the
// result and passing it to setOut is how it grows.
func (pe *prefixEntry) out() []adjOut {
	if pe.ext != nil && pe.ext.out != nil {
		return pe.ext.out
	}
	if pe.o1[0].set == nil {
		return pe.o1[:0]
	}
	return pe.o1[:]
}

// setOut makes es, the result of out() after changes, the prefix's Adj-RIB-Out.
func (pe *prefixEntry) setOut(es []adjOut) {
	switch {
	case pe.ext != nil && pe.ext.out != nil:
		if len(es) == 0 {
			pe.ext.out = nil
			if pe.ext.routes == nil {
				pe.ext = nil
			}
			return
		}
		pe.ext.out = es
	case len(es) <= 1:
		var e adjOut // es may be o1[:]
		if len(es) == 1 {
			e = es[0]
		}
		pe.o1[0] = e
	default:
		if pe.ext == nil {
			pe.ext = &prefixExt{}
		}
		pe.ext.out, pe.o1[0] = es, adjOut{}
	}
}

// newPrefixEntry makes the entry of p, which has no host bits set.
func newPrefixEntry(p netip.Prefix) *prefixEntry {
	a := p.Addr()
	if a.Is4() {
		pe := &prefixEntry{bits: uint8(p.Bits())}
		a4 := a.As4()
		copy(pe.addr[:], a4[:])
		return pe
	}
	a16 := a.As16()
	var pe *prefixEntry
	if p.Bits() > 64 {
		w := &wideEntry{lo: [8]byte(a16[8:])}
		pe = &w.prefixEntry
	} else {
		if [8]byte(a16[8:]) != [8]byte{} {
			panic("rs: prefix with host bits set: " + p.String())
		}
		pe = &prefixEntry{}
	}
	pe.addr, pe.bits, pe.fi = [8]byte(a16[:8]), uint8(p.Bits()), 1
	return pe
}

// prefix returns the entry's prefix.
func (pe *prefixEntry) prefix() netip.Prefix {
	if pe.fi == 0 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(pe.addr[:4])), int(pe.bits))
	}
	return netip.PrefixFrom(netip.AddrFrom16(pe.addr16()), int(pe.bits))
}

// fam returns the entry's family index.
func (pe *prefixEntry) fam() famIdx { return pe.fi }

// candidates returns the accepted routes, best first.
func (pe *prefixEntry) candidates() []*route { return pe.routes()[:pe.nacc] }

// find returns p's route for this prefix, or nil. A prefix has a handful of routes, so a scan
// beats any index.
func (pe *prefixEntry) find(p *session) *route {
	for _, r := range pe.routes() {
		if r.p == p {
			return r
		}
	}
	return nil
}

// unused reports whether the entry holds nothing and can be deleted.
func (pe *prefixEntry) unused() bool {
	return len(pe.routes()) == 0 && len(pe.out()) == 0 && !pe.node.linked()
}

// prefixTable maps prefixes to entries. Entries sit in a slab so that long walks (clearing a
// departed session's Adj-RIB-Out bits, looking-glass pages) can resume at an index across loop
// passes; freed slots are reused, and a walk that misses an entry created behind it loses
// nothing, because new entries are on the change list.
//
// The lookup is an open-addressing hash index over the slab, not a Go map: a map keyed by
// netip.Prefix costs some 84 bytes per prefix, and its keys hold a pointer (netip's address
// family handle), so the collector scans them all. idx holds no pointers and costs 4 bytes a
// cell, 5.3 to 10.7 bytes per prefix at its 3/8 to 3/4 load. A cell is 0 (empty) or, in the
// bits below len(idx), the entry's slab slot plus one (which fits: the slab never grows past
// 3/4 len(idx) entries, since freed slots are reused first), and in the bits above, a tag: the
// same bits of the upper half of the prefix's hash. The tag turns away nearly every wrong cell
// without loading its entry. Probing is linear from the cell named by the low bits of the hash;
// deletion shifts the rest of the cluster back, so there are no tombstones and churn does not
// degrade the table. Members choose the prefixes, so every table has its own random hash keys:
// no one can aim prefixes at one cluster.
//
// Growth is incremental. Refiling every entry at once cost one pass some 35 ns per entry (a
// random write into the new index and a load of the entry to rehash it: 10 ms at 300,000
// prefixes, while a member's table arrives). Instead, grow allocates the doubled index and keeps
// the old one beside it; every insert and delete then moves whole clusters of the old index,
// at least migrateStep cells, into the new one, so the move is done long before the new index
// fills. Meanwhile an entry is in exactly one of the two: inserts go to the new index, lookups
// and deletes try both. The move runs cyclically from an empty cell of the old index and stops
// only at empty cells, so what is left of the old index is whole clusters, in which lookups
// and backward-shift deletes work as before.
type prefixTable struct {
	idx []uint32 // a power of two long, or nil while the table is empty
	n   int      // entries
	// old is the index before the last growth while its entries move to idx, else nil; cur is
	// the next cell of old to move and left the cells not yet visited.
	old       []uint32
	cur, left uint32
	// lens counts the entries per family and prefix length: revalidation probes only the lengths
	// the table holds (reeval.go).
	lens [numFams][129]int32
	seed [4]uint64 // hash keys
	entrySlab
}

// migrateStep is the least number of old cells an insert or delete moves during growth. With an
// old index of S cells, the move ends after at most S/migrateStep inserts, while the new index of
// 2S cells, holding at most 3S/4 entries at the start, fills to 3/4 after no fewer than 3S/4.
const migrateStep = 8

// settleCells is how many old cells a pass with nothing to route moves (prefixTable.settle): some
// 65,536 × 35 ns, 2 ms.
const settleCells = 1 << 16

// entrySlab holds prefix entries at stable slots (pe.slot), reusing freed slots first. Beside
// each entry it keeps the low half of its prefix's hash, which names the entry's home cell in the
// index at every size: growth and deletion rehash other entries from it without loading them. A
// growth's move loaded every entry (a cache miss each) to rehash its key, 9% of the RIB's work
// while 100 members converge on 100,000 routes (BenchmarkConverge); 4 bytes a prefix instead.
type entrySlab struct {
	slab []*prefixEntry
	lo   []uint32 // per slot: uint32 of the prefix's hash
	free []int32
}

// add files a new entry for p, of hash h, in a free slot, or at the end.
func (sl *entrySlab) add(p netip.Prefix, h uint64) *prefixEntry {
	pe := newPrefixEntry(p)
	if n := len(sl.free); n > 0 {
		pe.slot = sl.free[n-1]
		sl.free = sl.free[:n-1]
		sl.slab[pe.slot] = pe
		sl.lo[pe.slot] = uint32(h)
	} else {
		pe.slot = int32(len(sl.slab))
		sl.slab = append(sl.slab, pe)
		sl.lo = append(sl.lo, uint32(h))
	}
	return pe
}

// remove frees pe's slot.
func (sl *entrySlab) remove(pe *prefixEntry) {
	sl.slab[pe.slot] = nil
	sl.free = append(sl.free, pe.slot)
}

const prefixTableMin = 64 // cells of the first idx

func newPrefixTable() *prefixTable {
	t := &prefixTable{}
	for i := range t.seed {
		// Odd, so that no key turns a multiplication into zero.
		t.seed[i] = rand.Uint64() | 1
	}
	return t
}

// prefixKey is a prefix as two words of its 16-byte address (IPv4 in its IPv4-mapped IPv6 form),
// its length and its family. Two prefixes are equal as netip.Prefix, which tells 10.0.0.0/8 from
// ::ffff:10.0.0.0/104 by family, exactly when their keys are.
type prefixKey struct {
	hi, lo uint64
	bits   uint8
	fi     famIdx
}

func keyOf(p netip.Prefix) prefixKey {
	a := p.Addr()
	b := a.As16()
	k := prefixKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), uint8(p.Bits()), 1}
	if a.Is4() {
		k.fi = 0
	}
	return k
}

func (pe *prefixEntry) key() prefixKey {
	if pe.fi == 0 {
		return prefixKey{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(pe.addr[:4])), pe.bits, 0}
	}
	lo := pe.addrLo()
	return prefixKey{binary.BigEndian.Uint64(pe.addr[:]), binary.BigEndian.Uint64(lo[:]), pe.bits, 1}
}

// hash hashes p's key. It is a keyed multiply-fold over the key's words (the construction of the
// wyhash family, which the Go runtime's own map hash falls back to): two 64×64→128-bit
// multiplications. Growth rehashes every entry and deletion rehashes the rest of a cluster, so
// the hash is most of their cost; this one needs no netip.Prefix rebuilt from the entry. The keys
// are secret and per table: members choose the prefixes, and without the keys no one can aim
// prefixes at one cluster.
func (t *prefixTable) hash(p netip.Prefix) uint64 { return t.hashKey(keyOf(p)) }

func (t *prefixTable) hashKey(k prefixKey) uint64 {
	c := uint64(k.bits) | uint64(k.fi)<<8
	h := fold(k.hi^t.seed[0], k.lo^t.seed[1])
	return fold(h^c^t.seed[2], t.seed[3])
}

// fold multiplies a and b and folds the 128-bit product to 64 bits.
func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (t *prefixTable) get(p netip.Prefix) *prefixEntry {
	if t.n == 0 {
		return nil
	}
	k := keyOf(p)
	h := t.hashKey(k)
	if pe, _, _ := find(t.idx, t.slab, k, h); pe != nil {
		return pe
	}
	if t.old != nil {
		pe, _, _ := find(t.old, t.slab, k, h)
		return pe
	}
	return nil
}

// find looks k, of hash h, up in a non-empty index of slab. It returns k's entry, or else the
// empty cell where k would go and the tag its cell would carry.
func find(idx []uint32, slab []*prefixEntry, k prefixKey, h uint64) (pe *prefixEntry, free, tag uint32) {
	mask := uint32(len(idx) - 1)
	tag = uint32(h>>32) &^ mask
	for i := uint32(h) & mask; ; i = (i + 1) & mask {
		c := idx[i]
		if c == 0 {
			return nil, i, tag
		}
		if c&^mask == tag {
			if pe := slab[c&mask-1]; pe.key() == k {
				return pe, 0, 0
			}
		}
	}
}

func (t *prefixTable) getOrCreate(p netip.Prefix) *prefixEntry {
	k := keyOf(p)
	h := t.hashKey(k)
	var i, tag uint32
	if len(t.idx) > 0 {
		var pe *prefixEntry
		if pe, i, tag = find(t.idx, t.slab, k, h); pe != nil {
			return pe
		}
		if t.old != nil {
			if pe, _, _ := find(t.old, t.slab, k, h); pe != nil {
				return pe
			}
		}
	}
	if (t.n+1)*4 > len(t.idx)*3 {
		t.grow()
		_, i, tag = find(t.idx, t.slab, k, h)
	}
	pe := t.add(p, h)
	t.idx[i] = tag | uint32(pe.slot+1)
	t.n++
	t.lens[pe.fi][pe.bits]++
	t.migrate(migrateStep)
	return pe
}

// grow doubles idx and starts moving the entries of the old index to it. A move still under way is
// finished first; by migrateStep there is none, but the guard costs nothing.
func (t *prefixTable) grow() {
	t.migrate(len(t.old))
	size := max(2*len(t.idx), prefixTableMin)
	if size > 1<<31 {
		panic("rs: prefix table full")
	}
	old := t.idx
	t.idx = make([]uint32, size)
	if t.n == 0 {
		return
	}
	// Start after an empty cell (there is one: the old index is at most 3/4 full), so that no
	// cluster is cut by the start.
	start := uint32(0)
	for old[start] != 0 {
		start++
	}
	t.old, t.cur, t.left = old, start, uint32(len(old))
}

// migrate moves at least min cells of the old index (all that is left, if fewer), and then the
// rest of the cluster it is in, to idx.
func (t *prefixTable) migrate(min int) {
	old := t.old
	if old == nil {
		return
	}
	omask := uint32(len(old) - 1)
	mask := uint32(len(t.idx) - 1)
	i, left := t.cur, t.left
	for n := 0; left > 0 && (n < min || old[i] != 0); n++ {
		if c := old[i]; c != 0 {
			// The home cell comes from the hash's low half kept with the slot, the tag (the
			// high half's bits above the mask) from the old cell: the bits above the new mask
			// are the old tag's.
			slot := c&omask - 1
			j := t.lo[slot] & mask
			for t.idx[j] != 0 {
				j = (j + 1) & mask
			}
			t.idx[j] = c&^mask | (slot + 1)
			old[i] = 0
		}
		i, left = (i+1)&omask, left-1
	}
	t.cur, t.left = i, left
	if left == 0 {
		t.old = nil
	}
}

// settle moves up to max cells (and the rest of a cluster) of a growth's old index, and reports
// whether it moved any. The RIB loop calls it in passes with nothing to route, so that a table
// that stops growing in the middle of a move (a member's table fully arrived) does not keep the
// old index, 4 bytes a cell, until the next writes.
func (t *prefixTable) settle(max int) bool {
	if t.old == nil {
		return false
	}
	t.migrate(max)
	return true
}

// delete removes an unused entry.
func (t *prefixTable) delete(pe *prefixEntry) {
	if !pe.unused() {
		panic("rs: deleting a prefix entry still in use: " + pe.prefix().String())
	}
	h := t.hashKey(pe.key())
	if !t.unfile(t.idx, pe, h) && (t.old == nil || !t.unfile(t.old, pe, h)) {
		panic("rs: deleting a prefix entry not in the table: " + pe.prefix().String())
	}
	t.n--
	t.lens[pe.fi][pe.bits]--
	t.remove(pe)
	t.migrate(migrateStep)
}

// unfile removes pe's cell from idx, if it is there.
func (t *prefixTable) unfile(idx []uint32, pe *prefixEntry, h uint64) bool {
	mask := uint32(len(idx) - 1)
	want := uint32(pe.slot + 1)
	i := uint32(h) & mask
	for idx[i]&mask != want || want > mask {
		if idx[i] == 0 {
			return false
		}
		i = (i + 1) & mask
	}
	// Backward shift: move later cells of the cluster into the hole unless their home cell lies
	// after the hole (then the hole does not interrupt their probe sequence).
	for j := (i + 1) & mask; idx[j] != 0; j = (j + 1) & mask {
		c := idx[j]
		home := t.lo[c&mask-1] & mask
		if (j-home)&mask >= (j-i)&mask {
			idx[i] = c
			i = j
		}
	}
	idx[i] = 0
	return true
}

func (t *prefixTable) len() int { return t.n }

// all yields every entry, in index order (the new index, then what is left of the old one):
// lookups, not just the slab, must find what it yields. The table must not change during the
// walk.
func (t *prefixTable) all() iter.Seq2[netip.Prefix, *prefixEntry] {
	return func(yield func(netip.Prefix, *prefixEntry) bool) {
		for _, idx := range [2][]uint32{t.idx, t.old} {
			mask := uint32(len(idx) - 1)
			for _, c := range idx {
				if c != 0 {
					if pe := t.slab[c&mask-1]; !yield(pe.prefix(), pe) {
						return
					}
				}
			}
		}
	}
}
