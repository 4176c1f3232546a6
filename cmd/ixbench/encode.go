package main

import (
	"net/netip"

	"github.com/ixrs/ixrs/speaker"
)

// Encoded holds a member's UPDATE streams, encoded before any timing starts so that the generator
// only copies bytes to sockets while the clock runs.
type Encoded struct {
	Table      []byte // every route, then End-of-RIB for IPv4 and IPv6
	Withdraw   []byte // the churn prefixes withdrawn
	Reannounce []byte // the churn prefixes announced again, with their original attributes
	Worsen     []byte // best-move phase: the member's best routes of multi-homed prefixes, AS prepended (encodeMoves)
	Restore    []byte // and the same prefixes announced as in Table again
	Messages   int    // UPDATEs in Table
}

// encodeOpts is how every member session encodes: four-octet AS, 4,096-byte messages (the generator
// does not offer RFC 8654, so every daemon receives the same messages).
var encodeOpts = speaker.EncodeOptions{FourOctetAS: true, MaxMessage: speaker.MaxMessageLen}

// Encode pre-encodes every member's streams.
func (w *Workload) Encode() []*Encoded {
	out := make([]*Encoded, len(w.Members))
	for i, m := range w.Members {
		churn := make(map[uint32]bool, len(w.Churn[i]))
		for _, p := range w.Churn[i] {
			churn[p] = true
		}
		e := &Encoded{}
		var withdraw [2][]netip.Prefix
		for _, g := range m.Groups {
			block := speaker.AppendAttrs(nil, g.Attrs, g.Family, encodeOpts)
			nh := g.Attrs.MPNextHop
			all := make([]netip.Prefix, len(g.Prefixes))
			var again []netip.Prefix
			for k, p := range g.Prefixes {
				all[k] = w.Prefixes[p]
				if churn[p] {
					again = append(again, w.Prefixes[p])
					fi := 0
					if g.Family == speaker.IPv6Unicast {
						fi = 1
					}
					withdraw[fi] = append(withdraw[fi], w.Prefixes[p])
				}
			}
			var n int
			n, e.Table = appendAnnounce(e.Table, g.Family, block, nh, all)
			e.Messages += n
			_, e.Reannounce = appendAnnounce(e.Reannounce, g.Family, block, nh, again)
		}
		e.Table = speaker.AppendEndOfRIB(e.Table, speaker.IPv4Unicast)
		e.Table = speaker.AppendEndOfRIB(e.Table, speaker.IPv6Unicast)
		for fi, f := range []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast} {
			ps := withdraw[fi]
			for len(ps) > 0 {
				var n int
				e.Withdraw, n = speaker.AppendWithdraw(e.Withdraw, f, ps, speaker.MaxMessageLen)
				ps = ps[n:]
			}
		}
		out[i] = e
	}
	return out
}

// appendAnnounce packs prefixes into as many UPDATEs as needed and returns how many it appended.
func appendAnnounce(dst []byte, f speaker.Family, block []byte, nh netip.Addr, ps []netip.Prefix) (int, []byte) {
	msgs := 0
	for len(ps) > 0 {
		var n int
		dst, n = speaker.AppendAnnounce(dst, f, block, nh, netip.Addr{}, ps, speaker.MaxMessageLen)
		if n == 0 {
			panic("ixbench: attribute block leaves no room for a prefix") // the generator's sets are small
		}
		ps = ps[n:]
		msgs++
	}
	return msgs, dst
}

// encodeMoves adds the best-move phase's streams to enc: per member, moves[m] announced again with the
// member's AS prepended (Worsen) and then as originally announced (Restore).
func (w *Workload) encodeMoves(enc []*Encoded, moves [][]uint32) {
	for i, m := range w.Members {
		move := make(map[uint32]bool, len(moves[i]))
		for _, p := range moves[i] {
			move[p] = true
		}
		e := enc[i]
		e.Worsen, e.Restore = nil, nil
		for _, g := range m.Groups {
			var ps []netip.Prefix
			for _, p := range g.Prefixes {
				if move[p] {
					ps = append(ps, w.Prefixes[p])
				}
			}
			if len(ps) == 0 {
				continue
			}
			nh := g.Attrs.MPNextHop
			_, e.Worsen = appendAnnounce(e.Worsen, g.Family, speaker.AppendAttrs(nil, worsened(g.Attrs, m.ASN), g.Family, encodeOpts), nh, ps)
			_, e.Restore = appendAnnounce(e.Restore, g.Family, speaker.AppendAttrs(nil, g.Attrs, g.Family, encodeOpts), nh, ps)
		}
	}
}
