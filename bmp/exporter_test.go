package bmp

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	gobmp "github.com/osrg/gobgp/v3/pkg/packet/bmp"

	"github.com/ixrs/ixrs/internal/rstest"
	"github.com/ixrs/ixrs/speaker"
)

// state is what a collector learns: per peer and table ("pre", "post", "out"), prefix → AS path.
type state struct {
	up     map[string]bool
	tables map[string]map[string]string // "peer table" → prefix → AS path
	eor    map[string]int               // "peer table" → End-of-RIBs seen
	syncs  int                          // Initiation messages seen
}

func newState() *state {
	return &state{up: map[string]bool{}, tables: map[string]map[string]string{}, eor: map[string]int{}}
}

func tableName(h gobmp.BMPPeerHeader) string {
	switch {
	case h.IsAdjRIBOut():
		return "out"
	case h.IsPostPolicy():
		return "post"
	}
	return "pre"
}

func (s *state) apply(t *testing.T, m *gobmp.BMPMessage) {
	t.Helper()
	peer := m.PeerHeader.PeerAddress.String()
	switch b := m.Body.(type) {
	case *gobmp.BMPInitiation:
		*s = *newState()
		s.syncs++
	case *gobmp.BMPPeerUpNotification:
		s.up[peer] = true
	case *gobmp.BMPPeerDownNotification:
		delete(s.up, peer)
		for k := range s.tables {
			if strings.HasPrefix(k, peer+" ") {
				delete(s.tables, k)
			}
		}
	case *gobmp.BMPRouteMonitoring:
		if !s.up[peer] {
			t.Errorf("route monitoring for %s before its peer up", peer)
		}
		key := peer + " " + tableName(m.PeerHeader)
		u := b.BGPUpdate.Body.(*bgp.BGPUpdate)
		if eor, _ := u.IsEndOfRib(); eor {
			s.eor[key]++
			return
		}
		tab := s.tables[key]
		if tab == nil {
			tab = map[string]string{}
			s.tables[key] = tab
		}
		path := ""
		for _, a := range u.PathAttributes {
			if p, ok := a.(*bgp.PathAttributeAsPath); ok {
				for _, seg := range p.Value {
					for _, as := range seg.GetAS() {
						path = strings.TrimSpace(fmt.Sprintf("%s %d", path, as))
					}
				}
			}
		}
		for _, n := range u.NLRI {
			tab[n.String()] = path
		}
		for _, n := range u.WithdrawnRoutes {
			delete(tab, n.String())
		}
		for _, a := range u.PathAttributes {
			switch mp := a.(type) {
			case *bgp.PathAttributeMpReachNLRI:
				for _, n := range mp.Value {
					tab[n.String()] = path
				}
			case *bgp.PathAttributeMpUnreachNLRI:
				for _, n := range mp.Value {
					delete(tab, n.String())
				}
			}
		}
		if len(tab) == 0 {
			delete(s.tables, key)
		}
	}
}

func (s *state) String() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(s.tables)) {
		for _, p := range slices.Sorted(maps.Keys(s.tables[k])) {
			fmt.Fprintf(&b, "%s %s [%s]\n", k, p, s.tables[k][p])
		}
	}
	return b.String()
}

// TestExporterDumpAndLive: a new collector gets the sessions, the pre-policy table with the filtered
// route, the post-policy table without it, the Adj-RIB-Out, End-of-RIBs, and then live changes.
func TestExporterDumpAndLive(t *testing.T) {
	s := rstest.StartRIB(t, 32)
	a := rstest.AddMember(t, s, "A", 64501, "192.0.2.11")
	b := rstest.AddMember(t, s, "B", 4200000002, "192.0.2.12")
	a.Announce(a.Attrs(), "11.0.0.0/24", "11.0.1.0/24")
	bad := a.Attrs()
	bad.ASPath = speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64666}}}
	a.Announce(bad, "11.0.2.0/24") // first AS not the member's: filtered
	b.Announce(b.Attrs(64999), "12.0.0.0/16", "2a00:1::/32")

	col := newCollector(t)
	e := runExporter(t, s, Config{Address: col.ln.Addr().String(), PrePolicy: true, PostPolicy: true, AdjRIBOut: true,
		SysName: "rs1", SysDescr: "ixrs test", StatsInterval: -1})
	st := newState()
	want := strings.Join([]string{
		"192.0.2.11 out 12.0.0.0/16 [4200000002 64999]",
		"192.0.2.11 out 2a00:1::/32 [4200000002 64999]",
		"192.0.2.11 post 11.0.0.0/24 [64501]",
		"192.0.2.11 post 11.0.1.0/24 [64501]",
		"192.0.2.11 pre 11.0.0.0/24 [64501]",
		"192.0.2.11 pre 11.0.1.0/24 [64501]",
		"192.0.2.11 pre 11.0.2.0/24 [64666]",
		"192.0.2.12 out 11.0.0.0/24 [64501]",
		"192.0.2.12 out 11.0.1.0/24 [64501]",
		"192.0.2.12 post 12.0.0.0/16 [4200000002 64999]",
		"192.0.2.12 post 2a00:1::/32 [4200000002 64999]",
		"192.0.2.12 pre 12.0.0.0/16 [4200000002 64999]",
		"192.0.2.12 pre 2a00:1::/32 [4200000002 64999]",
	}, "\n") + "\n"
	// The RIB may still be processing the announcements when the dump starts: wait for the state.
	col.until(t, "full table", func(m *gobmp.BMPMessage) bool {
		st.apply(t, m)
		return st.String() == want
	})
	if !st.up["192.0.2.11"] || !st.up["192.0.2.12"] {
		t.Errorf("peers up: %v", st.up)
	}
	col.until(t, "End-of-RIBs", func(m *gobmp.BMPMessage) bool {
		st.apply(t, m)
		n := 0
		for _, c := range st.eor {
			n += c
		}
		return n == 12 // 2 peers × 3 tables × IPv4, IPv6
	})
	for k, n := range st.eor {
		if n != 2 {
			t.Errorf("%s: %d End-of-RIBs, want 2 (IPv4, IPv6)", k, n)
		}
	}
	if got := st.String(); got != want {
		t.Errorf("after the End-of-RIBs:\n%s\nwant:\n%s", got, want)
	}
	if es := e.Status(); !es.Connected || !es.DumpDone || es.Sessions != 2 {
		t.Errorf("status %+v", es)
	}

	// Live: a withdrawal, then A's session goes down with a NOTIFICATION.
	a.Withdraw("11.0.1.0/24")
	col.until(t, "withdrawal", func(m *gobmp.BMPMessage) bool {
		st.apply(t, m)
		return !strings.Contains(st.String(), "11.0.1.0/24")
	})
	a.Peer.DownWithReason("received NOTIFICATION Cease/Administrative Shutdown")
	var down *gobmp.BMPPeerDownNotification
	col.until(t, "peer down", func(m *gobmp.BMPMessage) bool {
		st.apply(t, m)
		down, _ = m.Body.(*gobmp.BMPPeerDownNotification)
		return down != nil
	})
	if down.Reason != gobmp.BMP_PEER_DOWN_REASON_REMOTE_NO_NOTIFICATION {
		t.Errorf("peer down reason %d, want %d (received, no NOTIFICATION known without the hook)", down.Reason,
			gobmp.BMP_PEER_DOWN_REASON_REMOTE_NO_NOTIFICATION)
	}
	if st.up["192.0.2.11"] {
		t.Error("A still up at the collector")
	}
}

// TestExporterPeerUpOpens: the Peer Up carries both OPENs byte for byte.
func TestExporterPeerUpOpens(t *testing.T) {
	s := rstest.StartRIB(t, 32)
	a := rstest.AddMember(t, s, "A", 64501, "192.0.2.11")
	col := newCollector(t)
	runExporter(t, s, Config{Address: col.ln.Addr().String(), PrePolicy: true, StatsInterval: -1})
	var up *gobmp.BMPPeerUpNotification
	var hdr gobmp.BMPPeerHeader
	col.until(t, "peer up", func(m *gobmp.BMPMessage) bool {
		up, _ = m.Body.(*gobmp.BMPPeerUpNotification)
		hdr = m.PeerHeader
		return up != nil
	})
	sent, _ := up.SentOpenMsg.Serialize()
	recv, _ := up.ReceivedOpenMsg.Serialize()
	if !bytes.Equal(sent, a.Info.OpenSent) || !bytes.Equal(recv, a.Info.OpenReceived) {
		t.Errorf("OPENs differ:\nsent %x\nwant %x\nrecv %x\nwant %x", sent, a.Info.OpenSent, recv, a.Info.OpenReceived)
	}
	if hdr.PeerAS != 64501 || hdr.PeerAddress.String() != "192.0.2.11" || hdr.PeerBGPID.String() != "192.0.2.11" {
		t.Errorf("peer header %+v", hdr)
	}
	if up.LocalAddress.String() != "192.0.2.1" || up.LocalPort != 179 || up.RemotePort != 40011 {
		t.Errorf("Peer Up local address %s, ports %d and %d; want 192.0.2.1, 179 and 40011",
			up.LocalAddress, up.LocalPort, up.RemotePort)
	}
}

// TestExporterStalledCollector: a collector that stops reading is disconnected (the RIB never
// waits for it) and, connecting again, gets a whole, consistent table.
func TestExporterStalledCollector(t *testing.T) {
	s := rstest.StartRIB(t, 32)
	a := rstest.AddMember(t, s, "A", 64501, "192.0.2.11")
	col := newCollector(t)
	col.stallNext()
	e := runExporter(t, s, Config{Address: col.ln.Addr().String(), PrePolicy: true, StatsInterval: -1,
		QueueSize: 64, WriteTimeout: 200 * time.Millisecond, BackoffMin: 10 * time.Millisecond})
	// Announce until the socket buffers and the 64-event ring are full while nobody reads (bounded:
	// 100,000 routes at most).
	var ps []string
	for batch := 0; e.Status().Lost == 0; batch++ {
		if batch == 100 {
			t.Fatalf("stalled collector never dropped: %+v", e.Status())
		}
		var b []string
		for i := range 1000 {
			n := batch*1000 + i
			b = append(b, fmt.Sprintf("%d.%d.%d.0/24", 20+n/65536, n/256%256, n%256))
		}
		a.Announce(a.Attrs(), b...)
		ps = append(ps, b...)
		time.Sleep(20 * time.Millisecond)
	}
	slices.Sort(ps)
	var want strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&want, "192.0.2.11 pre %s [64501]\n", p)
	}
	st := newState()
	col.until(t, "consistent table after reconnect", func(m *gobmp.BMPMessage) bool {
		st.apply(t, m)
		return st.syncs > 0 && st.String() == want.String()
	})
}

// TestExporterStatsDuplicates: Statistics Reports carry the session's duplicate announcements
// (type 1) and duplicate withdrawals (type 2) as the RIB counted them.
func TestExporterStatsDuplicates(t *testing.T) {
	s := rstest.StartRIB(t, 32)
	a := rstest.AddMember(t, s, "A", 64501, "192.0.2.11")
	attrs := a.Attrs()
	a.Announce(attrs, "203.0.113.0/24")
	a.Announce(attrs, "203.0.113.0/24")
	a.Announce(attrs, "203.0.113.0/24")
	a.Withdraw("198.51.100.0/24")
	col := newCollector(t)
	runExporter(t, s, Config{Address: col.ln.Addr().String(), PrePolicy: true, StatsInterval: 50 * time.Millisecond})
	col.until(t, "statistics with 2 duplicate announcements and 1 duplicate withdrawal", func(m *gobmp.BMPMessage) bool {
		r, ok := m.Body.(*gobmp.BMPStatisticsReport)
		if !ok {
			return false
		}
		got := map[uint16]uint32{}
		for _, tlv := range r.Stats {
			if c, ok := tlv.(*gobmp.BMPStatsTLV32); ok {
				got[c.Type] = c.Value
			}
		}
		return got[gobmp.BMP_STAT_TYPE_DUPLICATE_PREFIX] == 2 && got[gobmp.BMP_STAT_TYPE_DUPLICATE_WITHDRAW] == 1
	})
}
