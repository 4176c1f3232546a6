package rs

import (
	"encoding/binary"

	"github.com/ixrs/ixrs/speaker"
)

// Max-prefix (RFC 4271 §8 "MaxPrefixes", RFC 4486 Cease subcode 1): a per-session, per-family
// limit on the routes received from a member, counted over every route held in the Adj-RIB-In
// (accepted or filtered, since a leak is a leak whatever the filters make of it).

// MaxPrefixAction is what happens when a session goes over its limit.
type MaxPrefixAction uint8

// Actions, mildest first.
const (
	MaxPrefixWarn     MaxPrefixAction = iota // log only
	MaxPrefixBlock                           // keep the session, ignore routes for new prefixes beyond the limit; ask for them again (ROUTE-REFRESH) once back under it
	MaxPrefixRestart                         // close with Cease/1; the session layer restarts it later
	MaxPrefixShutdown                        // close with Cease/1 until an operator intervenes (a reload that changes the member's limits or action, or the daemon's ClearMaxPrefix)
)

var maxPrefixActionNames = [...]string{"warn", "block", "restart", "shutdown"}

func (a MaxPrefixAction) String() string {
	if int(a) < len(maxPrefixActionNames) {
		return maxPrefixActionNames[a]
	}
	return "unknown"
}

// MaxPrefix is a member's limit, applied to each of its sessions.
type MaxPrefix struct {
	// IPv4 and IPv6 are the limits per family; 0 means none.
	IPv4, IPv6 int
	// WarnPercent logs a warning when a session reaches this share of a limit (1–100; 0: no
	// warning before the limit itself).
	WarnPercent int
	Action      MaxPrefixAction
}

func (m *MaxPrefix) limit(fi famIdx) int {
	if fi == 0 {
		return m.IPv4
	}
	return m.IPv6
}

// MaxPrefixEvent tells the session layer that a session went over its limit with action restart
// or shutdown: it must close the session with Notification (Cease, subcode 1, data AFI, SAFI and
// the limit as RFC 4486 §4 asks) and, for restart, start it again later. Called on the RIB loop:
// the hook must not block.
type MaxPrefixEvent struct {
	Peer         *Peer
	Family       speaker.Family
	Limit        int
	Action       MaxPrefixAction
	Notification speaker.Notification
}

// maxPrefixNotification builds the Cease/Maximum Number of Prefixes Reached NOTIFICATION.
func maxPrefixNotification(f speaker.Family, limit int) speaker.Notification {
	data := make([]byte, 7)
	binary.BigEndian.PutUint16(data[0:2], f.AFI())
	data[2] = f.SAFI()
	binary.BigEndian.PutUint32(data[3:7], uint32(min(limit, 1<<32-1)))
	return speaker.Notification{Code: speaker.ErrCease, Subcode: speaker.SubMaxPrefixes, Data: data}
}

// admitNew reports whether p may add a route for a new prefix of family fi, and applies the
// member's max-prefix action when the addition crosses a threshold. It runs before the route is
// counted.
func (s *Server) admitNew(p *session, fi famIdx) bool {
	mp := &p.m.maxPrefix
	limit := mp.limit(fi)
	if limit <= 0 || p.overLimit {
		return !p.overLimit
	}
	n := p.received[fi] + 1
	if mp.WarnPercent > 0 && !p.warned[fi] && n*100 >= limit*mp.WarnPercent && n <= limit {
		p.warned[fi] = true
		s.log.Warn("max-prefix warning threshold reached", "member", p.m.name, "asn", p.m.asn, "neighbor", p.addr,
			"afi", families[fi].String(), "routes", n, "limit", limit, "warn_percent", mp.WarnPercent)
	}
	if n <= limit {
		return true
	}
	switch mp.Action {
	case MaxPrefixWarn:
		if !p.overWarned[fi] {
			p.overWarned[fi] = true
			s.log.Warn("max-prefix limit exceeded", "member", p.m.name, "asn", p.m.asn, "neighbor", p.addr,
				"afi", families[fi].String(), "routes", n, "limit", limit, "action", mp.Action.String())
		}
		return true
	case MaxPrefixBlock:
		if p.blocked[fi] == 0 {
			s.log.Warn("max-prefix limit reached: further routes ignored", "member", p.m.name, "asn", p.m.asn,
				"neighbor", p.addr, "afi", families[fi].String(), "limit", limit)
		}
		p.blocked[fi]++
		return false
	}
	// restart / shutdown: stop taking anything from this incarnation; the session layer closes it
	// and Down removes its routes.
	p.overLimit = true
	s.log.Warn("max-prefix limit exceeded: closing the session", "member", p.m.name, "asn", p.m.asn,
		"neighbor", p.addr, "afi", families[fi].String(), "limit", limit, "action", mp.Action.String())
	if s.cfg.OnMaxPrefix != nil {
		s.cfg.OnMaxPrefix(MaxPrefixEvent{Peer: p.ss, Family: families[fi], Limit: limit, Action: mp.Action,
			Notification: maxPrefixNotification(families[fi], limit)})
	}
	return false
}

// rearm lets the warnings fire again once a session is back under its thresholds.
func (s *Server) rearm(p *session, fi famIdx) {
	mp := &p.m.maxPrefix
	limit := mp.limit(fi)
	if limit <= 0 {
		return
	}
	n := p.received[fi]
	if n <= limit {
		p.overWarned[fi] = false
	}
	if n < limit {
		s.unblock(p, fi)
	}
	if p.warned[fi] && n*100 < limit*mp.WarnPercent {
		p.warned[fi] = false
	}
}

// unblock asks for the routes of family fi again when routes were ignored under action block and
// the session may now take more: it is under its limit, or the limit or action changed. The member
// resends its table; routes beyond the limit are ignored again and counted anew.
func (s *Server) unblock(p *session, fi famIdx) {
	if p.blocked[fi] == 0 {
		return
	}
	mp := &p.m.maxPrefix
	if limit := mp.limit(fi); mp.Action == MaxPrefixBlock && limit > 0 && p.received[fi] >= limit {
		return
	}
	s.log.Info("max-prefix: back under the limit, asking the member to resend its routes", "member", p.m.name,
		"asn", p.m.asn, "neighbor", p.addr, "afi", families[fi].String(), "ignored", p.blocked[fi])
	p.blocked[fi] = 0
	if s.cfg.OnRefresh != nil {
		s.cfg.OnRefresh(p.ss, families[fi])
	}
}
