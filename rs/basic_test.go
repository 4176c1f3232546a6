package rs

import (
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

func TestBasicPropagation(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	b := addMember(t, s, "B", 64502, "192.0.2.12")
	readAll(t, s, a, b)
	if a.eor[speaker.IPv4Unicast] != 1 || a.eor[speaker.IPv6Unicast] != 1 {
		t.Fatalf("A: End-of-RIB %v", a.eor)
	}
	a.announce(a.attrs(65001), "203.0.113.0/24")
	readAll(t, s, a, b)
	got := b.has("203.0.113.0/24")
	if got == nil {
		t.Fatalf("B did not receive A's route")
	}
	if got.NextHop != a.addr || got.ASPath.String() != "64501 65001" {
		t.Errorf("B got %v via %v", got.ASPath, got.NextHop)
	}
	if a.has("203.0.113.0/24") != nil {
		t.Errorf("A got its own route back")
	}
	a.withdraw("203.0.113.0/24")
	readAll(t, s, a, b)
	if b.has("203.0.113.0/24") != nil {
		t.Errorf("withdrawal did not reach B")
	}
	st := s.snapshot()
	if st.Prefixes != 0 || st.Routes != 0 || st.AttrSets != 0 || st.AdjOutEntries != 0 || st.ChangeList != 0 {
		t.Errorf("state left behind: %+v", st)
	}
}
