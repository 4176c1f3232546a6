package rs

import (
	"net/netip"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// preferredOf returns each member's preferred count for fam, by member name.
func preferredOf(s *Server, fam speaker.Family) map[string]int {
	out := map[string]int{}
	for _, st := range sessionsSync(s) {
		for _, f := range st.Families {
			if f.Family == fam {
				out[st.Member] += f.Preferred
			}
		}
	}
	return out
}

// TestPreferredCounts follows the per-session count of routes that are their prefix's best
// candidate through announcements, a better route, withdrawals, a rejected route and a session
// going down.
func TestPreferredCounts(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	c := addMember(t, s, "C", 64503, "2001:db8::13")
	check := func(step string, fam speaker.Family, want map[string]int) {
		t.Helper()
		settle(t, s)
		checkInvariants(t, s, false)
		got := preferredOf(s, fam)
		for _, m := range []string{"A", "B", "C"} {
			if got[m] != want[m] {
				t.Errorf("%s: %v preferred %v, want %v", step, fam, got, want)
				return
			}
		}
	}
	a.announce(a.attrs(64510, 64511), "10.1.0.0/24", "10.2.0.0/24")
	check("A alone", speaker.IPv4Unicast, map[string]int{"A": 2})
	b.announce(b.attrs(), "10.1.0.0/24", "10.3.0.0/24") // shorter path: B's 10.1 is best
	check("B better", speaker.IPv4Unicast, map[string]int{"A": 1, "B": 2})
	b.announce(b.attrs(64520, 64521, 64522), "10.1.0.0/24") // now longer: A's wins back
	check("B worse", speaker.IPv4Unicast, map[string]int{"A": 2, "B": 1})
	a.withdraw("10.1.0.0/24")
	check("A withdraws", speaker.IPv4Unicast, map[string]int{"A": 1, "B": 2})
	// A route whose next hop is not the member's is rejected: never a candidate, never best.
	bad := a.attrs()
	bad.NextHop = netip.MustParseAddr("192.0.2.99")
	a.announce(bad, "10.4.0.0/24")
	check("rejected", speaker.IPv4Unicast, map[string]int{"A": 1, "B": 2})
	c.announce(c.attrs(), "2001:db8:1::/48")
	check("IPv6", speaker.IPv6Unicast, map[string]int{"C": 1})
	check("IPv6 leaves IPv4 alone", speaker.IPv4Unicast, map[string]int{"A": 1, "B": 2})
	b.ss.DownWithReason("test")
	check("B down", speaker.IPv4Unicast, map[string]int{"A": 1}) // 10.2 (10.1 was withdrawn)
}
