package speaker

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestUnknownNeighbor: a connection from an address without a peer goes to Config.Unknown; the peer it
// returns takes the connection, and AcceptAS decides on the AS in the neighbor's OPEN. A nil answer
// refuses the connection and counts it.
func TestUnknownNeighbor(t *testing.T) {
	var mu sync.Mutex
	var asked []netip.AddrPort
	var srv *Speaker
	sr := newRecorder()
	srv, err := New(Config{ASN: 65000, RouterID: adr("10.0.0.1"), Logger: testLogger(),
		Unknown: func(remote, local netip.AddrPort) *Peer {
			mu.Lock()
			asked = append(asked, remote)
			mu.Unlock()
			if remote.Addr() != adr("127.0.0.2") && remote.Addr() != adr("127.0.0.3") {
				return nil
			}
			p, err := srv.AddPeer(PeerConfig{Name: "dyn", PeerAddr: remote.Addr(), Passive: true,
				AcceptAS: func(asn uint32) bool { return asn == 65001 }}, sr)
			if err != nil {
				t.Error(err)
				return nil
			}
			p.Start()
			return p
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(a.(*net.TCPAddr).Port)

	client := func(from string, as uint32) *recorder {
		c, _ := newTestSpeaker(t, as, "10.0.0.2", "")
		cr := newRecorder()
		p, err := c.AddPeer(PeerConfig{Name: "rs", PeerAddr: adr("127.0.0.1"), PeerPort: port, PeerAS: 65000,
			LocalAddr: adr(from), ConnectRetry: time.Second}, cr)
		if err != nil {
			t.Fatal(err)
		}
		p.Start()
		return cr
	}

	// Accepted: the address is known to Unknown and the AS is acceptable.
	client("127.0.0.2", 65001)
	o := waitEstablished(t, sr, 15*time.Second)
	if o.ASN() != 65001 {
		t.Fatalf("established with AS %d", o.ASN())
	}
	if p := srv.Peer(adr("127.0.0.2")); p == nil || p.State() != StateEstablished {
		t.Fatalf("dynamic peer not established: %v", p)
	}

	// The address is accepted, the AS is not: Bad Peer AS.
	client("127.0.0.3", 65009)
	deadline := time.After(15 * time.Second)
	for done := false; !done; {
		select {
		case n := <-sr.notified:
			done = n.sent && n.n.Code == ErrOpen && n.n.Subcode == SubBadPeerAS
		case <-deadline:
			t.Fatal("no Bad Peer AS sent")
		}
	}

	// Refused: Unknown answers nil.
	before := srv.Refused()
	client("127.0.0.4", 65001)
	for i := 0; srv.Refused() == before; i++ {
		if i > 300 {
			t.Fatal("connection from 127.0.0.4 not refused")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if srv.Peer(adr("127.0.0.4")) != nil {
		t.Fatal("a peer exists for the refused address")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) < 3 {
		t.Fatalf("Unknown asked about %v", asked)
	}
}

func TestAddPeerNeedsAS(t *testing.T) {
	sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
	if _, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.2")}, NopHandler{}); err == nil {
		t.Fatal("a peer without PeerAS or AcceptAS was added")
	}
}
