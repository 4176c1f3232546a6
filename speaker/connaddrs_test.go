package speaker

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestConnAddrs: ConnAddrs is zero before the first session, then names the connection's two
// endpoints as the neighbor's socket sees them reversed, and keeps them after the session ends.
func TestConnAddrs(t *testing.T) {
	sp, port := newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
	rec := newRecorder()
	p, err := sp.AddPeer(PeerConfig{Name: "raw", PeerAddr: adr("127.0.1.77"), PeerAS: 65077, Passive: true}, rec)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	if l, r := p.ConnAddrs(); l.IsValid() || r.IsValid() {
		t.Fatalf("before any session: %v %v, want zero", l, r)
	}
	raw := dialRaw(t, "127.0.1.77", port)
	raw.handshake(rawOpen(65077, "10.0.0.77", 90))
	waitEstablished(t, rec, 10*time.Second)
	wantLocal := netip.AddrPortFrom(adr("127.0.0.1"), port)
	wantRemote := raw.conn.LocalAddr().(*net.TCPAddr).AddrPort()
	l, r := p.ConnAddrs()
	if l != wantLocal || r != wantRemote {
		t.Errorf("ConnAddrs %v %v, want %v %v", l, r, wantLocal, wantRemote)
	}
	raw.conn.Close()
	waitDown(t, rec, 10*time.Second)
	if l2, r2 := p.ConnAddrs(); l2 != l || r2 != r {
		t.Errorf("after the session ended: %v %v, want the last session's %v %v", l2, r2, l, r)
	}
}
