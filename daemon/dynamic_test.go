package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

const testRange = `
[[member_range]]
name = "lan"
prefixes = ["127.0.4.0/24"]
asns = [65010, 65011]
max_sessions = 3
description = "self-service"

[[member_range.neighbor]]
address = "127.0.4.9"
asn = 65019
name = "Pinned"
`

var adr = netip.MustParseAddr

func (m *tmember) gotNotification(code, sub uint8) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.notifs {
		if n.Code == code && n.Subcode == sub {
			return true
		}
	}
	return false
}

// TestDynamicMembers: members connecting from inside a range are accepted with the AS of their OPEN
// when the range allows it, exchange routes with static members, appear in the looking glass as
// dynamic and in the metrics; a wrong AS gets Bad Peer AS and holds no slot; the limit and addresses
// outside every range are refused and counted; a member that disconnects is removed and its slot
// reused; a reload that changes the range removes its members and leaves static members alone.
func TestDynamicMembers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	base := testServer + memberTOML("A", 65001, "127.0.3.1", "") + testRange
	writeConfig(t, path, base)
	d, port := testDaemon(t, path)
	ctx := context.Background()
	a := startMember(t, port, "127.0.3.1", 65001)
	x := startMember(t, port, "127.0.4.1", 65010)
	p := startMember(t, port, "127.0.4.9", 65019)
	eventually(t, "sessions up", func() bool {
		ua, _, _, _ := a.state()
		ux, _, _, _ := x.state()
		up, _, _, _ := p.state()
		return ua && ux && up
	})
	x.announce(t, 65010, "11.0.10.0/24")
	a.announce(t, 65001, "11.0.1.0/24")
	eventually(t, "A has X's route", func() bool { _, _, n, _ := a.state(); return n == 1 })
	eventually(t, "X has A's route", func() bool { _, _, n, _ := x.state(); return n == 1 })
	eventually(t, "the pinned member has both", func() bool { _, _, n, _ := p.state(); return n == 2 })

	ss, err := d.LookingGlass().Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, s := range ss {
		found[s.Member] = s.Description
	}
	if got := found["lan-AS65010-127.0.4.1"]; got != "dynamic (lan): self-service" {
		t.Errorf("looking glass: dynamic member's description %q (sessions %v)", got, found)
	}
	if got, ok := found["Pinned"]; !ok || got != "dynamic (lan): self-service" {
		t.Errorf("looking glass: pinned member %q, %v (sessions %v)", got, ok, found)
	}

	// AdminStatus (rsctl) lists the dynamic members after the configured one, marked with their range.
	eventually(t, "dynamic members in AdminStatus", func() bool {
		st, err := d.AdminStatus(ctx)
		if err != nil || len(st.Members) != 3 || st.Members[0].Member != "A" || st.Members[0].Dynamic {
			return false
		}
		for _, m := range st.Members[1:] {
			if !m.Dynamic || m.Range != "lan" || len(m.Sessions) != 1 || m.ASN == 0 {
				return false
			}
		}
		return st.Members[1].Member == "Pinned" && st.Members[1].ASN == 65019 && st.Members[2].Member == "lan-AS65010-127.0.4.1"
	})

	metricsOf := func() (sessions int, rangeRefused, refused uint64) {
		snap, err := d.MetricsSource(nil).Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range snap.Connections.Ranges {
			if r.Name == "lan" {
				sessions, rangeRefused = r.Sessions, r.Refused
			}
		}
		return sessions, rangeRefused, snap.Connections.Refused
	}
	eventually(t, "two dynamic sessions in the metrics", func() bool { n, _, _ := metricsOf(); return n == 2 })

	// An AS the range does not allow (and the pinned address with another AS): Bad Peer AS.
	w := startMember(t, port, "127.0.4.3", 65099)
	eventually(t, "Bad Peer AS to W", func() bool { return w.gotNotification(speaker.ErrOpen, speaker.SubBadPeerAS) })
	w.peer.Stop(nil)

	// The third slot; a fourth address is refused for the limit and counted.
	y := startMember(t, port, "127.0.4.2", 65011)
	eventually(t, "Y up", func() bool { up, _, _, _ := y.state(); return up })
	v := startMember(t, port, "127.0.4.4", 65010)
	eventually(t, "the range's limit counted", func() bool { _, rr, _ := metricsOf(); return rr > 0 })
	if up, _, _, _ := v.state(); up {
		t.Fatal("a member beyond max_sessions was accepted")
	}

	// Outside every range: refused by the speaker, counted.
	_, _, before := metricsOf()
	startMember(t, port, "127.0.5.1", 65010)
	eventually(t, "outside address refused", func() bool { _, _, r := metricsOf(); return r > before })

	// A member that goes away is removed: the waiting member takes its slot.
	x.peer.Stop(nil)
	eventually(t, "X's route gone from A", func() bool { _, _, n, _ := a.state(); return n == 0 })
	eventually(t, "V accepted in X's slot", func() bool { up, _, _, _ := v.state(); return up })

	// A reload that changes the range removes its members (they come back); A stays up.
	writeConfig(t, path, strings.Replace(base, "max_sessions = 3", "max_sessions = 4", 1))
	if _, err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pinned member back after the range change", func() bool { up, ups, _, _ := p.state(); return up && ups >= 2 })
	if _, ups, _, _ := a.state(); ups != 1 {
		t.Errorf("A was reset by a change to a range (%d ups)", ups)
	}
	// An unchanged range keeps its members: the same speaker peer, no reset.
	pinned := d.Speaker().Peer(adr("127.0.4.9"))
	if _, err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if pinned == nil || d.Speaker().Peer(adr("127.0.4.9")) != pinned {
		t.Errorf("an unchanged range's member was removed by a reload")
	}
}
