package rpki

import (
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestCacheDataMatchesModel: responses of random announcements and withdrawals, serials and resets
// mixed, are checked and committed as RFC 8210 wants against a plain set of records: an
// announcement of a record the committed data (or the response so far) holds, or a withdrawal of
// one it does not, is refused with the code the set predicts, and a refused response is dropped
// whole, as the client drops the connection. After each commit the snapshot holds exactly the set,
// the changed prefixes are exactly those whose records differ, and the records are counted.
// The draws come from few prefixes, with several max lengths and origins each, so that one prefix
// holds several records and most draws hit a record that is there.
func TestCacheDataMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	randVRP := randVRPs(rng, 3, true)
	pdu := func(v VRP, announce bool) *PrefixPDU {
		return &PrefixPDU{Version: 1, Announce: announce, Prefix: v.Prefix, MaxLength: v.MaxLength, ASN: v.ASN}
	}
	d := newCacheData()
	set := map[VRP]bool{}
	refused := 0
	for step := range 400 {
		reset := step%25 == 0
		x := newDelta(reset)
		next := maps.Clone(set)
		if reset {
			next = map[VRP]bool{}
		}
		ok := true
		if reset {
			// A reset announces the records again, less a few: on every other reset nothing
			// else, so the new data is a subset of the old, a change of withdrawals only.
			for _, v := range slices.SortedFunc(maps.Keys(set), compareVRP) {
				if rng.IntN(5) > 0 {
					if err := d.add(x, pdu(v, true)); err != nil {
						t.Fatalf("step %d: a reset's announcement of %v refused: %v", step, v, err)
					}
					next[v] = true
				}
			}
			if step%50 == 0 {
				goto commit
			}
		}
		for range 1 + rng.IntN(40) {
			v := randVRP()
			if len(next) > 0 && rng.IntN(3) == 0 {
				present := slices.SortedFunc(maps.Keys(next), compareVRP)
				v = present[rng.IntN(len(present))]
			}
			// Mostly what the protocol allows (a record there is withdrawn, one not there
			// announced); one in fifty the opposite.
			announce := !next[v] != (rng.IntN(50) == 0)
			err := d.add(x, pdu(v, announce))
			var want ErrorCode
			bad := true
			switch {
			case announce && next[v]:
				want = CodeDuplicate
			case !announce && !next[v]:
				want = CodeUnknownWithdrawal
			default:
				bad = false
			}
			if bad {
				pe, isPDU := err.(*PDUError)
				if !isPDU || pe.Code != want {
					t.Fatalf("step %d: %s %v with the record there %v: %v, want code %v", step, map[bool]string{true: "announcing", false: "withdrawing"}[announce], v, next[v], err, want)
				}
				ok = false
				refused++
				break
			}
			if err != nil {
				t.Fatalf("step %d: %v refused: %v", step, v, err)
			}
			if announce {
				next[v] = true
			} else {
				delete(next, v)
			}
		}
		if !ok {
			continue // the response is dropped; the committed data stays
		}
	commit:
		before := d.table
		changed := d.commit(x)
		var wantChanged []netip.Prefix
		for v := range set {
			if !next[v] {
				wantChanged = append(wantChanged, v.Prefix)
			}
		}
		for v := range next {
			if !set[v] {
				wantChanged = append(wantChanged, v.Prefix)
			}
		}
		cmpPrefix := func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr())*256 + a.Bits() - b.Bits() }
		slices.SortFunc(wantChanged, cmpPrefix)
		wantChanged = slices.Compact(wantChanged)
		slices.SortFunc(changed, cmpPrefix)
		if !slices.Equal(changed, wantChanged) {
			t.Fatalf("step %d: changed prefixes %v, want %v", step, changed, wantChanged)
		}
		if len(changed) == 0 && d.table != before {
			t.Fatalf("step %d: a response that changed nothing made a new snapshot", step)
		}
		set = next
		if got, want := d.table.sortedVRPs(), slices.SortedFunc(maps.Keys(set), compareVRP); !slices.Equal(got, want) {
			t.Fatalf("step %d: the snapshot holds %v, want %v", step, got, want)
		}
		if d.records() != len(set) {
			t.Fatalf("step %d: %d records counted, %d held", step, d.records(), len(set))
		}
	}
	t.Logf("%d responses refused, %d records at the end", refused, len(set))
	if refused < 20 || len(set) < 50 {
		t.Fatalf("the draws did not exercise the checks: %d responses refused, %d records at the end", refused, len(set))
	}
}
