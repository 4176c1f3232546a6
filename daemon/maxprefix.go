package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// Max-prefix actions. The RIB decides (rs/maxprefix.go); the daemon acts on the sessions:
//   - restart: the session is closed with Cease/1 and started again after max_prefix_restart_after;
//   - shutdown: the session is closed and stays down until an operator brings it back: a reload that
//     changes the member's max-prefix settings, or ClearMaxPrefix (the admin interface's
//     "max-prefix clear");
//   - block: the session stays up, routes beyond the limit are ignored; once the member is back
//     under the limit (or the limit is raised) the RIB asks for its routes again and the daemon sends
//     a ROUTE-REFRESH.

// onMaxPrefix is the RIB's max-prefix hook. It runs on the RIB loop and must not block: the work is
// posted to Run's goroutine.
func (d *Daemon) onMaxPrefix(e rs.MaxPrefixEvent) {
	d.post(func() { d.maxPrefix(e) })
}

func (d *Daemon) maxPrefix(e rs.MaxPrefixEvent) {
	s := d.byPeer[e.Peer]
	if s == nil {
		d.dynMaxPrefix(e) // a dynamic member's, or removed meanwhile
		return
	}
	n := e.Notification
	s.peer.Stop(&n)
	s.maxPrefixStopped = true
	if e.Action != rs.MaxPrefixRestart {
		d.log.Warn("max-prefix: session shut down until an operator clears it (reload with new max-prefix settings, or max-prefix clear)",
			"member", s.peer.Name(), "neighbor", s.peer.Addr().String(), "afi", e.Family.String(), "limit", e.Limit)
		return
	}
	after := s.m.policy.MaxPrefixRestartAfter
	d.log.Warn("max-prefix: session closed, restarting later", "member", s.peer.Name(),
		"neighbor", s.peer.Addr().String(), "afi", e.Family.String(), "limit", e.Limit, "restart_after", after.String())
	if s.restart != nil {
		s.restart.Stop()
	}
	s.restart = time.AfterFunc(after, func() {
		d.post(func() {
			if d.byPeer[s.rib] == s && s.maxPrefixStopped {
				d.clearMaxPrefix(s)
			}
		})
	})
}

// clearMaxPrefix starts a session held down by a max-prefix action again.
func (d *Daemon) clearMaxPrefix(s *session) bool {
	if !s.maxPrefixStopped {
		return false
	}
	if s.restart != nil {
		s.restart.Stop()
		s.restart = nil
	}
	s.maxPrefixStopped = false
	if msg, down := d.adminDown[s.m.cfg.Name]; down {
		d.log.Info("max-prefix: cleared; the member stays administratively down", "member", s.peer.Name(), "message", msg)
		return true
	}
	d.log.Info("max-prefix: starting the session again", "member", s.peer.Name(), "neighbor", s.peer.Addr().String())
	s.peer.Start()
	return true
}

// ClearMaxPrefix starts again the sessions of member held down by a max-prefix action (shutdown, or
// restart before its timer) and returns how many it started.
func (d *Daemon) ClearMaxPrefix(ctx context.Context, member string) (int, error) {
	n := 0
	var err error
	if xerr := d.exec(ctx, func() {
		m := d.members[member]
		if m == nil {
			err = fmt.Errorf("member %q: %w", member, ErrUnknownMember)
			return
		}
		for _, s := range m.sessions {
			if d.clearMaxPrefix(s) {
				n++
			}
		}
	}); xerr != nil {
		return 0, xerr
	}
	return n, err
}

// onRefresh is the RIB's hook for routes it wants again (max-prefix block lifted). It runs on the
// RIB loop: the ROUTE-REFRESH is sent from Run's goroutine.
func (d *Daemon) onRefresh(p *rs.Peer, f speaker.Family) {
	d.post(func() {
		s := d.byPeer[p]
		if s == nil {
			return
		}
		if err := s.peer.SendRouteRefresh(f); err != nil {
			d.log.Warn("max-prefix: cannot ask the member to resend its routes", "member", s.peer.Name(),
				"neighbor", s.peer.Addr().String(), "afi", f.String(), "err", err)
			return
		}
		d.log.Info("max-prefix: ROUTE-REFRESH sent", "member", s.peer.Name(), "neighbor", s.peer.Addr().String(), "afi", f.String())
	})
}
