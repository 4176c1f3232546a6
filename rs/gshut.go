package rs

import (
	"context"
	"slices"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// Graceful shutdown of the route server itself (RFC 8326 §4, applied at a route server): while it is
// on, every route the route server sends carries the GRACEFUL_SHUTDOWN community (65535:0), so that
// members that honour it (LOCAL_PREF 0) move their traffic to the other route server's paths before
// this one goes down. It is one more dimension of the variant cache (variant.go): the decision of
// which route a member gets is unchanged, only the attributes it is sent with differ, and each
// distinct set with the community is interned and encoded once like any other variant.

// gshutKey marks the variant cache entries made while graceful shutdown is on; info<<4|variant
// uses the low 12 bits.
const gshutKey = 1 << 15

// SetGracefulShutdown switches graceful shutdown on or off. Every established session is then sent
// its whole table again in bounded slices (like a route refresh, but only the routes whose
// attributes changed, which is all of them): with the community when on, without when off. A
// session that comes up meanwhile gets the table as it is then. Switching to the state in force
// does nothing.
func (s *Server) SetGracefulShutdown(ctx context.Context, on bool) error {
	return s.do(ctx, func() {
		if s.sets.gshut == on {
			return
		}
		s.sets.gshut = on
		s.gshut.Store(on)
		for _, p := range s.peers {
			if p == nil || p.down || p.closed {
				continue
			}
			s.startWalk(p, p.fams, false, false)
		}
		s.gen++
		s.log.Info("graceful shutdown", "on", on)
	})
}

// GracefulShutdown reports whether graceful shutdown is on. It does not wait for the RIB loop.
func (s *Server) GracefulShutdown() bool { return s.gshut.Load() }

// gshutAttrs returns a with GRACEFUL_SHUTDOWN added, or nil when a carries it already.
func gshutAttrs(a *speaker.Attrs) *speaker.Attrs {
	if slices.Contains(a.Communities, policy.CommunityGracefulShutdown) {
		return nil
	}
	c := *a
	c.Communities = append(slices.Clip(c.Communities), policy.CommunityGracefulShutdown)
	return &c
}
