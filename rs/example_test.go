package rs_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// The session layer's *speaker.Peer is the route server's Output.
var _ rs.HeldOutput = (*speaker.Peer)(nil) // and so an rs.Output

// memberHandler connects one speaker.Peer to its rs.Peer. Every method returns at once except
// Update and RouteRefresh, which block while the member's inbound queue is full: the reader stops,
// and TCP pushes back on that member alone.
type memberHandler struct{ ss *rs.Peer }

func (h memberHandler) Established(p *speaker.Peer, remote *speaker.Open) {
	opt, _ := p.EncodeOptions()
	h.ss.Up(p, rs.SessionInfo{RouterID: remote.RouterID, Families: p.Families(), Encode: opt})
}

func (h memberHandler) Update(_ *speaker.Peer, u *speaker.Update, _ *speaker.UpdateError) {
	h.ss.Receive(u) // RFC 7606 treat-as-withdraw has already turned NLRI into withdrawals
}

func (h memberHandler) RouteRefresh(_ *speaker.Peer, rr speaker.RouteRefresh) {
	if rr.Subtype == 0 {
		h.ss.RouteRefresh(rr.Family)
	}
}

func (h memberHandler) Notification(*speaker.Peer, speaker.Notification, bool) {}
func (h memberHandler) Down(*speaker.Peer, error)                              { h.ss.Down() }
func (h memberHandler) Drained(*speaker.Peer)                                  { h.ss.Drained() }

// Example wires a route server to the BGP speaker: one member, one session.
func Example() {
	ctx := context.Background()
	srv := rs.New(rs.Config{ASN: 64500, RouterID: netip.MustParseAddr("192.0.2.1")})
	go srv.Run(ctx)

	sp, err := speaker.New(speaker.Config{ASN: 64500, RouterID: netip.MustParseAddr("192.0.2.1")})
	if err != nil {
		panic(err)
	}
	addr := netip.MustParseAddr("192.0.2.11")
	if err := srv.AddMember(ctx, rs.MemberConfig{Name: "Example Member", ASN: 64501}); err != nil {
		panic(err)
	}
	ss, err := srv.AddPeer(ctx, "Example Member", addr)
	if err != nil {
		panic(err)
	}
	p, err := sp.AddPeer(speaker.PeerConfig{Name: "Example Member", PeerAS: 64501, PeerAddr: addr, Passive: true},
		memberHandler{ss})
	if err != nil {
		panic(err)
	}
	p.Start()
}

// discard is an Output that drops what it is given.
type discard struct{}

func (discard) Queue(b []byte) (int, error) { return 0, nil }

// ExampleServer_Subscribe follows the RIB as events, then pages through a member's routes with a
// read job.
func ExampleServer_Subscribe() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := rs.New(rs.Config{ASN: 64500, RouterID: netip.MustParseAddr("192.0.2.1"), Logger: slog.New(slog.DiscardHandler)})
	go srv.Run(ctx)

	sub, err := srv.Subscribe(ctx, rs.SubscribeOptions{Size: 1024, Routes: true})
	if err != nil {
		panic(err)
	}
	addr := netip.MustParseAddr("192.0.2.11")
	srv.AddMember(ctx, rs.MemberConfig{Name: "Example Member", ASN: 64501})
	peer, _ := srv.AddPeer(ctx, "Example Member", addr)
	peer.Up(discard{}, rs.SessionInfo{RouterID: addr, Families: []speaker.Family{speaker.IPv4Unicast}})
	attrs := &speaker.Attrs{NextHop: addr, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{64501}}}}
	peer.Receive(&speaker.Update{Attrs: attrs, NLRI: []netip.Prefix{netip.MustParsePrefix("11.0.0.0/24")}})
	peer.Receive(&speaker.Update{Withdrawn: []netip.Prefix{netip.MustParsePrefix("11.0.0.0/24")}})
	for range 3 {
		ev, err := sub.Next(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Println(ev.Kind, ev.Member, ev.Prefix, ev.Attrs != nil)
	}

	page, _ := srv.Routes(ctx, rs.RoutesQuery{Neighbor: addr, View: rs.ViewReceived})
	fmt.Println(len(page.Routes), "routes, more:", page.More)
	// Output:
	// session-up Example Member invalid Prefix false
	// route Example Member 11.0.0.0/24 true
	// route Example Member 11.0.0.0/24 false
	// 0 routes, more: false
}
