package main

import (
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
)

// refAccept is a deliberately simple second implementation of the realistic policy: a linear scan of
// every list and VRP. It returns the reason a route is dropped, or "".
func refAccept(w *Workload, m *Member, pfx netip.Prefix, g Group) string {
	a := g.Attrs
	for _, r := range bogonASNRanges {
		for _, s := range a.ASPath {
			for _, x := range s.ASNs {
				if x >= r[0] && x <= r[1] {
					return reasonBogonASN
				}
			}
		}
	}
	if a.ASPath[0].ASNs[0] != m.ASN {
		return reasonFirstAS
	}
	list, lo, hi, nh := bogonPrefixes4, minLen4, maxLen4, a.NextHop
	if pfx.Addr().Is6() {
		list, lo, hi, nh = bogonPrefixes6, minLen6, maxLen6, a.MPNextHop
	}
	for _, b := range list {
		bp := netip.MustParsePrefix(b)
		if bp.Bits() <= pfx.Bits() && bp.Contains(pfx.Addr()) {
			return reasonBogonPrefix
		}
	}
	if pfx.Bits() > hi {
		return reasonTooLong
	}
	if pfx.Bits() < lo {
		return reasonTooShort
	}
	inLAN := false
	for _, l := range peeringLANs {
		inLAN = inLAN || l.Contains(nh)
	}
	if !inLAN {
		return reasonNextHop
	}
	last := a.ASPath[len(a.ASPath)-1].ASNs
	origin := last[len(last)-1]
	covered, valid := false, false
	for _, v := range w.Policy.VRPs {
		if v.Prefix.Bits() <= pfx.Bits() && v.Prefix.Contains(pfx.Addr()) {
			covered = true
			valid = valid || v.ASN == origin && pfx.Bits() <= v.MaxLen
		}
	}
	if covered && !valid {
		return "RPKI invalid"
	}
	return ""
}

// TestRealisticFilteredExactly checks the expected table against the reference policy: every route of
// the workload, generated or planted, is dropped exactly when the reference drops it, the expected counts
// leave out exactly the prefixes whose every route is dropped, and the VRPs make some routes valid.
func TestRealisticFilteredExactly(t *testing.T) {
	w, err := Realistic(Spec{Name: "t", Members: 20, Routes: 20000, Seed: 3, Policy: true})
	if err != nil {
		t.Fatal(err)
	}
	dropped, valid, kinds := 0, 0, map[string]bool{}
	live := make([]bool, len(w.Prefixes))
	for _, m := range w.Members {
		for _, g := range m.Groups {
			for _, p := range g.Prefixes {
				why := refAccept(w, m, w.Prefixes[p], g)
				if (why == "") != w.accepted(m.Index, p) {
					t.Fatalf("member %s, %s: reference says %q, workload accepted=%v", m.Name, w.Prefixes[p], why, w.accepted(m.Index, p))
				}
				if why != "" {
					dropped++
					kinds[why] = true
				} else {
					live[p] = true
					last := g.Attrs.ASPath[0].ASNs
					if w.Policy.rov(w.Prefixes[p], last[len(last)-1]) == rpkiValid {
						valid++
					}
				}
			}
		}
	}
	if len(kinds) < 7 { // the reasons of refAccept
		t.Fatalf("%d routes dropped for %d reasons %v; want every check to drop some", dropped, len(kinds), kinds)
	}
	if valid < 10 {
		t.Fatalf("%d RPKI-valid routes accepted; want some", valid)
	}
	total := 0
	for _, l := range live {
		if l {
			total++
		}
	}
	own := make([]int, len(w.Members))
	for p, ann := range w.Announcers {
		if live[p] {
			for _, m := range ann {
				own[m]++
			}
		}
	}
	exp := w.Expected(w.AllActive(), announcedAll)
	for m := range exp {
		if exp[m] != total-own[m] {
			t.Fatalf("member %d: expected %d prefixes, reference %d", m, exp[m], total-own[m])
		}
	}
	// The checker expects, for the prefix with a valid and an invalid announcer, the valid route only,
	// although the invalid one has the shorter path.
	chk := newChecker(w)
	chk.expect(w.AllActive(), announcedAll, nil)
	for _, x := range w.Policy.Planted {
		if x.Reason == "" {
			k := 0
			for k = range w.Announcers[x.Prefix] {
				if int(w.Announcers[x.Prefix][k]) == x.Member {
					break
				}
			}
			if chk.pre[x.Prefix].exp != 1<<(candID(k, false)-1) {
				t.Fatalf("prefix %s: expected candidates %b, want only member %d's", w.Prefixes[x.Prefix], chk.pre[x.Prefix].exp, x.Member)
			}
		}
	}
}

// TestDecimalRange checks the regular expressions FRR gets for the bogon ASN ranges against the ranges.
func TestDecimalRange(t *testing.T) {
	re := regexp.MustCompile("^" + asRangeRegexp(bogonASNRanges) + "$")
	in := func(x uint64) bool {
		for _, r := range bogonASNRanges {
			if x >= uint64(r[0]) && x <= uint64(r[1]) {
				return true
			}
		}
		return false
	}
	rng := rand.New(rand.NewPCG(1, 2))
	try := []uint64{0, 1, 9, 10, 23455, 23456, 23457, 64495, 64496, 65535, 65536, 131071, 131072, 4199999999, 4200000000, 4294967295}
	for range 20000 {
		try = append(try, rng.Uint64N(1<<32), rng.Uint64N(200000))
	}
	for _, x := range try {
		if got := re.MatchString(strconv.FormatUint(x, 10)); got != in(x) {
			t.Fatalf("%d: regexp matches %v, ranges say %v", x, got, in(x))
		}
	}
	for _, r := range [][2]uint64{{5, 5}, {7, 123}, {99, 1000}, {100, 199}, {1234, 98765}} {
		re := regexp.MustCompile("^(" + joinAlt(decimalRange(r[0], r[1])) + ")$")
		for x := uint64(0); x < 200000; x++ {
			if re.MatchString(strconv.FormatUint(x, 10)) != (x >= r[0] && x <= r[1]) {
				t.Fatalf("range %v: %d wrong", r, x)
			}
		}
	}
}

func joinAlt(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += "|"
		}
		out += x
	}
	return out
}
