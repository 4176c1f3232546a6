package speaker

import (
	"testing"
	"time"
)

// TestLongLivedGRNegotiated: the speaker advertises the long-lived graceful-restart capability as
// configured, alongside graceful restart, and reports the neighbor's when both sides advertised
// both; without the neighbor's, or without graceful restart, nothing is negotiated.
func TestLongLivedGRNegotiated(t *testing.T) {
	local := []LLGRFamily{{Family: IPv4Unicast, StaleTime: 3600}, {Family: IPv6Unicast, StaleTime: 3600}}
	for _, tc := range []struct {
		name      string
		gr        *GracefulRestart
		remote    []LLGRFamily
		advertise bool
		want      int // families negotiated
	}{
		{"both", &GracefulRestart{RestartTime: 120}, []LLGRFamily{{Family: IPv4Unicast, ForwardingState: true, StaleTime: 60}}, true, 1},
		{"neighbor without", &GracefulRestart{RestartTime: 120}, nil, true, 0},
		{"no graceful restart", nil, []LLGRFamily{{Family: IPv4Unicast, StaleTime: 60}}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, port := newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
			r := newRecorder()
			p, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.7"), PeerAS: 65007, Passive: true,
				GracefulRestart: tc.gr, LongLivedGR: local}, r)
			if err != nil {
				t.Fatal(err)
			}
			p.Start()
			raw := dialRaw(t, "127.0.0.7", port)
			o := grOpen(false, 30, true)
			o.Caps.LongLivedGR = tc.remote
			got := raw.handshake(o)
			waitEstablished(t, r, 10*time.Second)
			if adv := got.Caps.LongLivedGR; (adv != nil) != tc.advertise ||
				(adv != nil && (len(adv) != 2 || adv[0].StaleTime != 3600 || adv[1].Family != IPv6Unicast)) {
				t.Fatalf("advertised %+v", adv)
			}
			n := p.LongLivedGR()
			if len(n) != tc.want || (tc.want > 0 && (n[0].StaleTime != 60 || !n[0].ForwardingState)) {
				t.Fatalf("negotiated %+v", n)
			}
		})
	}
}
