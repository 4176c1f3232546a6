package daemon

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"time"

	"github.com/ixrs/ixrs/metrics"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// The daemon as a metrics.Source: one rs.Server.Status request to the RIB loop per scrape, the
// speaker's per-peer counters (read under each peer's own lock, never waiting on the RIB), and
// state the daemon publishes atomically. Nothing here waits on Run's goroutine, so a scrape during
// a long reload still answers.

// MetricsSource returns the route server as a metrics.Source; reloads are the reload counters
// the caller keeps around Reload (nil: none reported).
func (d *Daemon) MetricsSource(reloads *metrics.Reloads) metrics.Source {
	return &metricsSource{d: d, reloads: reloads}
}

type metricsSource struct {
	d       *Daemon
	reloads *metrics.Reloads
}

// Snapshot implements metrics.Source.
func (m *metricsSource) Snapshot(ctx context.Context) (*metrics.Snapshot, error) {
	st, sessions, err := m.d.rib.Status(ctx)
	if err != nil {
		return nil, err
	}
	peers := m.d.sp.Peers()
	byAddr := make(map[netip.Addr]*speaker.Peer, len(peers))
	for _, p := range peers {
		byAddr[p.Addr()] = p
	}
	now := time.Now()
	snap := &metrics.Snapshot{Sessions: make([]metrics.Session, 0, len(sessions)), RIB: ribMetrics(&st)}
	for i := range sessions {
		snap.Sessions = append(snap.Sessions, sessionMetrics(&sessions[i], byAddr[sessions[i].Neighbor], now))
	}
	rp := m.d.RPKIStatus()
	snap.RPKI.VRPs4, snap.RPKI.VRPs6, snap.RPKI.ASPAs = rp.VRPsIPv4, rp.VRPsIPv6, rp.ASPAs
	for _, c := range rp.Caches {
		snap.RPKI.Caches = append(snap.RPKI.Caches, metrics.Cache{Name: c.Address, Up: c.InSync && !c.Expired,
			Serial: c.Serial, LastUpdate: c.LastUpdate, Expire: c.Expire, VRPs4: c.VRPsIPv4, VRPs6: c.VRPsIPv6, ASPAs: c.ASPAs})
	}
	snap.Connections = m.d.dynamicMetrics(m.d.Current())
	snap.LookingGlass = m.d.lgDurations()
	if m.reloads != nil {
		snap.Reloads = m.reloads.Stats()
	}
	return snap, nil
}

// speakerTypes maps metrics.MessageType to the speaker's message type codes.
var speakerTypes = [metrics.NumMessageTypes]uint8{
	metrics.MsgOpen: speaker.MsgOpen, metrics.MsgUpdate: speaker.MsgUpdate, metrics.MsgNotification: speaker.MsgNotification,
	metrics.MsgKeepalive: speaker.MsgKeepalive, metrics.MsgRefresh: speaker.MsgRouteRefresh,
}

func sessionMetrics(s *rs.SessionStatus, p *speaker.Peer, now time.Time) metrics.Session {
	out := metrics.Session{Member: s.Member, ASN: s.ASN, Neighbor: s.Neighbor, State: uint8(speaker.StateIdle),
		PendingPrefixes: s.Pending, InboundQueue: s.InQueue, Throttled: s.Throttled}
	for _, f := range s.Families {
		fm := metrics.Family{AFI: afiOf(f.Family), Received: f.Received, Accepted: f.Accepted, Filtered: f.Filtered,
			Exported: f.Exported, MaxPrefixLimit: f.MaxPrefix, MaxPrefixBlocked: f.Blocked > 0}
		for r, n := range f.FilteredBy {
			if n != 0 {
				fm.FilteredBy = append(fm.FilteredBy, metrics.ReasonCount{Reason: uint8(r), N: n})
			}
		}
		out.Families = append(out.Families, fm)
	}
	if p == nil {
		return out
	}
	ps := p.Stats()
	out.State, out.Established, out.Flaps = uint8(ps.State), ps.Established, ps.Flaps
	for t, code := range speakerTypes {
		out.MessagesIn[t], out.MessagesOut[t] = ps.Messages.Received[code], ps.Messages.Sent[code]
		out.BytesIn[t], out.BytesOut[t] = ps.Bytes.Received[code], ps.Bytes.Sent[code]
	}
	for _, n := range ps.Notifications {
		out.Notifications = append(out.Notifications, metrics.NotificationCount{Code: n.Code, Subcode: n.Subcode, Sent: n.Sent, N: n.N})
	}
	out.OutputBytes = ps.OutputPending
	if ps.OutputPending > 0 && !ps.OutputPendingSince.IsZero() {
		out.OutputBlocked = max(now.Sub(ps.OutputPendingSince), 0)
	}
	if ps.State != speaker.StateEstablished && maxPrefixClosed(&ps) {
		// Closed for max-prefix and not back (action restart before its timer, or shutdown): the
		// RIB has no family counts for a session that is down, so the NOTIFICATION's data (AFI,
		// SAFI, limit: RFC 4486 §4) says which family and limit.
		afi, limit := metrics.IPv4, 0
		if d := ps.LastSent.Data; len(d) >= 7 {
			if binary.BigEndian.Uint16(d[0:2]) == 2 {
				afi = metrics.IPv6
			}
			limit = int(binary.BigEndian.Uint32(d[3:7]))
		}
		out.Families = append(out.Families, metrics.Family{AFI: afi, MaxPrefixLimit: limit, MaxPrefixBlocked: true})
	}
	return out
}

// maxPrefixClosed reports whether the session last went down because this side sent Cease/1.
func maxPrefixClosed(ps *speaker.PeerStats) bool {
	return ps.LastSent.Code == speaker.ErrCease && ps.LastSent.Subcode == speaker.SubMaxPrefixes &&
		strings.HasPrefix(ps.LastError, "sent NOTIFICATION")
}

func afiOf(f speaker.Family) metrics.AFI {
	if f == speaker.IPv6Unicast {
		return metrics.IPv6
	}
	return metrics.IPv4
}

func ribMetrics(st *rs.Stats) metrics.RIB {
	r := metrics.RIB{
		Members: st.Members, Sessions: st.Sessions, SessionsUp: st.SessionsUp,
		Prefixes: st.Prefixes, Routes: st.Routes, RoutesAccepted: st.RoutesAccepted,
		AttrSets: st.AttrSets, DerivedSets: st.DerivedSets, AttrSetRefs: st.AttrSetRefs,
		Encodings: st.Encodings, EncodedBytes: st.EncodedBytes,
		AdjOutEntries: st.AdjOutEntries, AdjOutBitSets: st.AdjOutBitSets,
		ChangeList: st.ChangeList, Pending: st.Pending, TableDumps: st.Dumps, Revalidations: st.Reevaluations,
		Passes: st.Passes, IdlePasses: st.IdlePasses, RoutesWithdrawnOnDown: st.RoutesWithdrawnOnDown,
		RoutesRevalidated: st.RoutesReevaluated, RevalidationWalks: st.RevalidationWalks, RevalidationTime: st.RevalidationTime,
	}
	sums := [rs.NumPhases]time.Duration{st.ControlTime, st.InboundTime, st.OutboundTime, st.BackgroundTime}
	for ph := range rs.NumPhases {
		h := metrics.PhaseHistogram{Bounds: phaseBounds, Counts: make([]uint64, rs.PhaseBuckets+1), Sum: sums[ph]}
		copy(h.Counts, st.PhaseHistogram[ph][:])
		r.Phases[ph] = h
	}
	r.ReadGaps = metrics.PhaseHistogram{Bounds: phaseBounds, Counts: make([]uint64, rs.PhaseBuckets+1), Sum: st.ReadGapTime}
	copy(r.ReadGaps.Counts, st.ReadGaps[:])
	return r
}

var phaseBounds = func() []time.Duration {
	b := make([]time.Duration, rs.PhaseBuckets)
	for i := range b {
		b[i] = rs.PhaseBucketBound(i)
	}
	return b
}()
