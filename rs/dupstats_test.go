package rs

import "testing"

// TestDuplicateCounters: re-announcing a prefix with the attributes it has counts a duplicate
// announcement (also when only the verdict could change); new attributes do not; withdrawing a
// prefix the session does not hold counts a duplicate withdrawal, a real withdrawal does not.
func TestDuplicateCounters(t *testing.T) {
	s := newTestServer(t, nil)
	a := addMember(t, s, "A", 64501, "192.0.2.11")
	addMember(t, s, "B", 64502, "192.0.2.12")
	attrs := a.attrs(64512)
	a.announce(attrs, "203.0.113.0/24", "198.51.100.0/24")
	settle(t, s)
	a.announce(attrs, "203.0.113.0/24")           // duplicate
	a.announce(a.attrs(64513), "198.51.100.0/24") // a change
	a.announce(attrs, "203.0.113.0/24")           // duplicate again
	a.withdraw("198.51.100.0/24")                 // real
	a.withdraw("198.51.100.0/24", "10.0.0.0/8")   // both duplicates now
	settle(t, s)
	st := s.sessionStatus(a.ss)
	if st.DuplicateAnnouncements != 2 || st.DuplicateWithdrawals != 2 {
		t.Errorf("duplicates: %d announcements, %d withdrawals; want 2 and 2", st.DuplicateAnnouncements, st.DuplicateWithdrawals)
	}
}
