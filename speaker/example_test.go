package speaker_test

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// printer prints what it receives; it embeds NopHandler for the events it ignores.
type printer struct {
	speaker.NopHandler
	got chan struct{}
}

func (h *printer) Update(p *speaker.Peer, u *speaker.Update, err *speaker.UpdateError) {
	for _, pfx := range u.NLRI {
		fmt.Printf("%s via %s path %s\n", pfx, u.Attrs.NextHop, u.Attrs.ASPath)
	}
	close(h.got)
}

// announcer announces one route as soon as its session is up.
type announcer struct{ speaker.NopHandler }

func (announcer) Established(p *speaker.Peer, remote *speaker.Open) {
	attrs := &speaker.Attrs{
		Origin:  speaker.OriginIGP,
		ASPath:  speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{65001}}},
		NextHop: netip.MustParseAddr("192.0.2.1"),
	}
	go p.Announce(attrs, netip.MustParsePrefix("198.51.100.0/24"))
}

// Two speakers in one process: one listens, the other connects and announces a route.
func Example() {
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	listener, _ := speaker.New(speaker.Config{ASN: 65000, RouterID: netip.MustParseAddr("10.0.0.1"), Logger: quiet})
	defer listener.Close()
	addr, err := listener.Listen("127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	h := &printer{got: make(chan struct{})}
	lp, _ := listener.AddPeer(speaker.PeerConfig{PeerAddr: netip.MustParseAddr("127.0.0.2"), PeerAS: 65001, Passive: true}, h)
	lp.Start()

	client, _ := speaker.New(speaker.Config{ASN: 65001, RouterID: netip.MustParseAddr("10.0.0.2"), Logger: quiet})
	defer client.Close()
	port := netip.MustParseAddrPort(addr.String()).Port()
	cp, _ := client.AddPeer(speaker.PeerConfig{
		PeerAddr: netip.MustParseAddr("127.0.0.1"), PeerPort: port, PeerAS: 65000,
		LocalAddr: netip.MustParseAddr("127.0.0.2"),
	}, announcer{})
	cp.Start()

	select {
	case <-h.got:
	case <-time.After(10 * time.Second):
		fmt.Println("timeout")
	}
	// Output: 198.51.100.0/24 via 192.0.2.1 path 65001
}
