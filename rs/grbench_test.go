package rs

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// countOut is an Output that counts the UPDATE messages and bytes queued to it.
type countOut struct{ updates, bytes int }

func (o *countOut) Queue(b []byte) (int, error) {
	o.bytes += len(b)
	for len(b) >= speaker.HeaderLen {
		l := int(binary.BigEndian.Uint16(b[16:18]))
		if l < speaker.HeaderLen || l > len(b) {
			break
		}
		if b[18] == speaker.MsgUpdate {
			o.updates++
		}
		b = b[l:]
	}
	return 0, nil
}

// BenchmarkRestart (issue 16): a member holding 10% of the table restarts, gracefully (RFC 4724
// helper: its routes stay, stale, until its End-of-RIB) or not (withdrawn, then announced again),
// and comes back with the same routes. Half of its prefixes are also announced by another member
// with a longer path, as multi-homed networks are. Reported per op (one restart, from the down to
// the RIB loop settling after the member's table and End-of-RIB): the UPDATEs and bytes each other
// member received, and the time the RIB loop worked.
//
//	go test ./rs -run '^$' -bench BenchmarkRestart -benchtime 3x
func BenchmarkRestart(b *testing.B) {
	for _, graceful := range []bool{false, true} {
		b.Run("graceful="+strconv.FormatBool(graceful), func(b *testing.B) { benchRestart(b, graceful) })
	}
}

func benchRestart(b *testing.B, graceful bool) {
	const (
		members = 20
		total   = 100_000
		mine    = total / 10 // the restarting member's share
	)
	ps := seqPrefixes(0, total, false)
	var updates, bytes, passes int
	var loop time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := quietServer(b)
		outs := make([]*countOut, members)
		sess := make([]*Peer, members)
		info := func(addr netip.Addr) SessionInfo {
			in := SessionInfo{RouterID: addr, Families: []speaker.Family{speaker.IPv4Unicast},
				Encode: speaker.EncodeOptions{FourOctetAS: true, MaxMessage: 4096}}
			in.GracefulRestart = &speaker.GracefulRestart{RestartTime: 120,
				Families: []speaker.GRFamily{{Family: speaker.IPv4Unicast, ForwardingState: true}}}
			return in
		}
		for j := range members {
			name := "m" + strconv.Itoa(j)
			addr := netip.AddrFrom4([4]byte{10, 0, 0, byte(j + 1)})
			if err := s.addMember(MemberConfig{Name: name, ASN: uint32(64512 + j)}); err != nil {
				b.Fatal(err)
			}
			ss, err := s.addPeer(name, addr)
			if err != nil {
				b.Fatal(err)
			}
			outs[j], sess[j] = &countOut{}, ss
			if err := ss.Up(outs[j], info(addr)); err != nil {
				b.Fatal(err)
			}
		}
		s.events()
		announce := func(j int, from, to int, extra ...uint32) {
			p := sess[j].p
			for k := from; k < to; k += 100 {
				a := benchAttrs(p, uint32(k/100%5))
				a.ASPath = speaker.ASPath{{Type: speaker.SegSequence, ASNs: append(append([]uint32{}, a.ASPath[0].ASNs...), extra...)}}
				s.importUpdate(p, &speaker.Update{Attrs: a, NLRI: ps[k:min(k+100, to)]})
			}
		}
		announce(0, 0, mine)
		announce(1, 0, mine/2, 65999) // the backup of half of member 0's prefixes
		per := (total - mine) / (members - 1)
		for j := 1; j < members; j++ {
			announce(j, mine+(j-1)*per, mine+j*per)
		}
		for s.pass() {
		}
		for _, o := range outs {
			*o = countOut{}
		}

		b.StartTimer()
		start := time.Now()
		ss := sess[0]
		if graceful {
			ss.DownGraceful("connection reset")
		} else {
			ss.DownWithReason("connection reset")
		}
		n := 0
		for s.pass() {
			n++
		}
		if err := ss.Up(&countOut{}, info(ss.addr)); err != nil {
			b.Fatal(err)
		}
		s.events()
		announce(0, 0, mine)
		if graceful {
			s.importUpdate(ss.p, &speaker.Update{EndOfRIB: speaker.IPv4Unicast})
		}
		for s.pass() {
			n++
		}
		loop += time.Since(start)
		b.StopTimer()
		passes += n
		for _, o := range outs[1:] {
			updates += o.updates
			bytes += o.bytes
		}
		want := mine + (members-2)*per // every prefix but member 5's own
		if st := s.snapshot(); st.StaleRoutes != 0 || s.exportedOf(sess[5].p, 0) != want {
			b.Fatalf("after the restart: %d stale routes, member 5 holds %d routes, want %d", st.StaleRoutes,
				s.exportedOf(sess[5].p, 0), want)
		}
	}
	others := float64(b.N * (members - 1))
	b.ReportMetric(float64(updates)/others, "updates/member")
	b.ReportMetric(float64(bytes)/others, "bytes/member")
	b.ReportMetric(float64(loop.Milliseconds())/float64(b.N), "ms/restart")
	b.ReportMetric(float64(passes)/float64(b.N), "passes/restart")
}
