package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	gobmp "github.com/osrg/gobgp/v3/pkg/packet/bmp"
	gomrt "github.com/osrg/gobgp/v3/pkg/packet/mrt"
)

// testCollector is a BMP collector on loopback that decodes what it receives.
type testCollector struct {
	ln net.Listener

	mu      sync.Mutex
	conns   int
	closed  int
	peerUps []*gobmp.BMPMessage
	terms   int
}

func newTestCollector(t *testing.T) *testCollector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &testCollector{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.conns++
			c.mu.Unlock()
			go c.read(nc)
		}
	}()
	return c
}

func (c *testCollector) read(nc net.Conn) {
	defer nc.Close()
	var buf []byte
	b := make([]byte, 64<<10)
	for {
		n, err := nc.Read(b)
		buf = append(buf, b[:n]...)
		for len(buf) >= 6 {
			l := int(buf[1])<<24 | int(buf[2])<<16 | int(buf[3])<<8 | int(buf[4])
			if len(buf) < l {
				break
			}
			if m, perr := gobmp.ParseBMPMessage(buf[:l]); perr == nil {
				c.mu.Lock()
				switch m.Header.Type {
				case gobmp.BMP_MSG_PEER_UP_NOTIFICATION:
					c.peerUps = append(c.peerUps, m)
				case gobmp.BMP_MSG_TERMINATION:
					c.terms++
				}
				c.mu.Unlock()
			}
			buf = buf[l:]
		}
		if err != nil {
			c.mu.Lock()
			c.closed++
			c.mu.Unlock()
			return
		}
	}
}

func (c *testCollector) state() (conns, closed, terms int, ups []*gobmp.BMPMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conns, c.closed, c.terms, append([]*gobmp.BMPMessage(nil), c.peerUps...)
}

// TestDaemonReloadBMPAndMRT: a reload adds a BMP collector (it connects and gets a Peer Up per
// session, with the session's local address and both ports), turns on the MRT update log (A's
// UPDATE is logged as received, with the session's addresses and ASes) and removes both again
// (the collector gets a Termination and is disconnected, the update file is finished), and no
// member session is reset by any of it.
func TestDaemonReloadBMPAndMRT(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	mrtDir := filepath.Join(dir, "mrt")
	if err := os.Mkdir(mrtDir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := testServer + memberTOML("A", 65001, "127.0.3.1", "") + memberTOML("B", 4200000002, "127.0.3.2", "")
	writeConfig(t, path, base)
	d, port := testDaemon(t, path)
	a := startMember(t, port, "127.0.3.1", 65001)
	b := startMember(t, port, "127.0.3.2", 4200000002)
	eventually(t, "sessions up", func() bool { ua, _, _, _ := a.state(); ub, _, _, _ := b.state(); return ua && ub })
	if _, ok := d.MRTUpdatesStatus(); ok {
		t.Fatal("update log running without [mrt] updates")
	}

	col := newTestCollector(t)
	withBoth := base + fmt.Sprintf("\n[[bmp]]\naddress = %q\nstats_interval = \"0s\"\n\n[mrt]\ndump_dir = %q\nupdates = true\n",
		col.ln.Addr().String(), mrtDir)
	writeConfig(t, path, withBoth)
	if _, err := d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "collector connected with two Peer Ups", func() bool { _, _, _, ups := col.state(); return len(ups) == 2 })
	_, _, _, ups := col.state()
	for _, m := range ups {
		up := m.Body.(*gobmp.BMPPeerUpNotification)
		member := a
		if m.PeerHeader.PeerAddress.String() == "127.0.3.2" {
			member = b
		}
		ml, _ := member.peer.ConnAddrs() // the member's end: the route server's remote
		if up.LocalAddress.String() != "127.0.0.1" || up.LocalPort != uint16(port) || up.RemotePort != ml.Port() {
			t.Errorf("Peer Up of %s: local %s port %d, remote port %d; want 127.0.0.1, %d, %d",
				m.PeerHeader.PeerAddress, up.LocalAddress, up.LocalPort, up.RemotePort, port, ml.Port())
		}
	}
	a.announce(t, 65001, "11.0.1.0/24")
	b.announce(t, 4200000002, "11.0.2.0/24")
	eventually(t, "both UPDATEs logged", func() bool { st, ok := d.MRTUpdatesStatus(); return ok && st.Records == 2 })
	if res, err := d.DumpMRT(context.Background()); err != nil || res.AcceptedRoutes != 2 {
		t.Errorf("dump after the reload: %+v, %v; want 2 accepted routes", res, err)
	}

	writeConfig(t, path, base+fmt.Sprintf("\n[mrt]\ndump_dir = %q\n", mrtDir))
	if _, err := d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "collector terminated and disconnected", func() bool { _, closed, terms, _ := col.state(); return closed == 1 && terms == 1 })
	if _, ok := d.MRTUpdatesStatus(); ok {
		t.Error("update log still running after [mrt] updates was removed")
	}
	var file string
	eventually(t, "update file finished", func() bool {
		ents, _ := os.ReadDir(mrtDir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "ixrs-updates-") {
				file = filepath.Join(mrtDir, e.Name())
			}
		}
		return file != ""
	})
	recs := readBGP4MP(t, file)
	// The two sessions' readers race: order the records by peer.
	slices.SortFunc(recs, func(x, y *gomrt.BGP4MPMessage) int {
		return strings.Compare(x.PeerIpAddress.String(), y.PeerIpAddress.String())
	})
	if len(recs) != 2 {
		t.Fatalf("%d records in %s, want 2", len(recs), file)
	}
	for i, want := range []struct {
		peer string
		as   uint32
		nlri string
	}{{"127.0.3.1", 65001, "11.0.1.0/24"}, {"127.0.3.2", 4200000002, "11.0.2.0/24"}} {
		r := recs[i]
		u, _ := r.BGPMessage.Body.(*bgp.BGPUpdate)
		if r.PeerIpAddress.String() != want.peer || r.PeerAS != want.as || r.LocalAS != 65000 ||
			r.LocalIpAddress.String() != "127.0.0.1" || u == nil || len(u.NLRI) != 1 || u.NLRI[0].String() != want.nlri {
			t.Errorf("record %d: %+v %v; want %s AS%d %s", i, r.BGP4MPHeader, r.BGPMessage, want.peer, want.as, want.nlri)
		}
	}
	for _, m := range []*tmember{a, b} {
		if up, ups, _, _ := m.state(); !up || ups != 1 {
			t.Errorf("a member session was reset by the BMP/MRT reloads (up %v, %d ups)", up, ups)
		}
	}
}

// readBGP4MP reads the BGP4MP_ET records of an update file with gobgp's reader.
func readBGP4MP(t *testing.T, file string) []*gomrt.BGP4MPMessage {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []*gomrt.BGP4MPMessage
	for len(b) > 0 {
		h := &gomrt.MRTHeader{}
		if err := h.DecodeFromBytes(b); err != nil {
			t.Fatal(err)
		}
		if h.Type != gomrt.BGP4MP_ET || len(b) < gomrt.MRT_COMMON_HEADER_LEN+int(h.Len) {
			t.Fatalf("record header %+v", h)
		}
		rec := b[gomrt.MRT_COMMON_HEADER_LEN+4 : gomrt.MRT_COMMON_HEADER_LEN+int(h.Len)]
		b = b[gomrt.MRT_COMMON_HEADER_LEN+int(h.Len):]
		h.Type, h.Len = gomrt.BGP4MP, h.Len-4 // gobgp does not read the microseconds
		m, err := gomrt.ParseMRTBody(h, rec)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Body.(*gomrt.BGP4MPMessage))
	}
	return out
}
