package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// The operator's actions on members and on the route server as a whole, for the admin interface
// (package admin, cmd/rsctl; docs/admin.md). Each runs on Run's goroutine; what may block on a
// member (a ROUTE-REFRESH queued behind its UPDATEs) is done after it returns.

// MemberAdmin is a member's administrative state.
type MemberAdmin struct {
	Member string `json:"member"`
	ASN    uint32 `json:"asn"`
	// Down reports an administrative shutdown (ShutdownMember) in force, with its message.
	Down    bool      `json:"admin_down"`
	Message string    `json:"admin_message,omitempty"`
	Since   time.Time `json:"admin_since,omitzero"` // when it was shut down
	// Dynamic marks a member accepted from a [[member_range]] (Range names it) rather than
	// configured by a [[member]]; it exists while its session does.
	Dynamic  bool           `json:"dynamic,omitempty"`
	Range    string         `json:"range,omitempty"`
	Sessions []SessionAdmin `json:"sessions"`
}

// SessionAdmin is one session's administrative state.
type SessionAdmin struct {
	Neighbor string `json:"neighbor"`
	State    string `json:"state"`
	// MaxPrefixStopped reports a session held down by a max-prefix action (see ClearMaxPrefix).
	MaxPrefixStopped bool `json:"max_prefix_stopped"`
}

// AdminStatus is the administrative state of the route server.
type AdminStatus struct {
	GracefulShutdown bool `json:"graceful_shutdown"`
	// StateProblem is the last problem reading or writing the state file ([server] state_dir):
	// what is in force may not survive a restart. "" if none.
	StateProblem string        `json:"state_problem,omitempty"`
	Members      []MemberAdmin `json:"members"`
}

// AdminStatus returns the administrative state of every configured member, in name order, then of
// every dynamic member established, by range and name.
func (d *Daemon) AdminStatus(ctx context.Context) (AdminStatus, error) {
	var st AdminStatus
	err := d.exec(ctx, func() {
		st.GracefulShutdown = d.rib.GracefulShutdown()
		st.StateProblem = d.stateProblem
		for _, name := range sortedKeys(d.members) {
			m := d.members[name]
			a, down := d.adminDown[name]
			ma := MemberAdmin{Member: name, ASN: m.cfg.ASN, Down: down, Message: a.Message, Since: a.Since, Sessions: []SessionAdmin{}}
			for _, s := range m.sessions {
				ma.Sessions = append(ma.Sessions, SessionAdmin{Neighbor: s.peer.Addr().String(),
					State: s.peer.State().String(), MaxPrefixStopped: s.maxPrefixStopped})
			}
			st.Members = append(st.Members, ma)
		}
		st.Members = append(st.Members, d.dynamicAdmin()...)
	})
	return st, err
}

// memberOf returns the member named by name or by one of its neighbor addresses; Run's goroutine.
func (d *Daemon) memberOf(name string) (*member, error) {
	if m := d.members[name]; m != nil {
		return m, nil
	}
	if a, err := netip.ParseAddr(name); err == nil {
		for _, m := range d.members {
			for _, s := range m.sessions {
				if s.peer.Addr() == a {
					return m, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("member %q: %w", name, ErrUnknownMember)
}

// ShutdownMember closes every session of a member (named, or by a neighbor address) with Cease/
// Administrative Shutdown carrying msg (RFC 9003) and keeps them down — across reloads, including
// ones that re-create the member, and with [server] state_dir across restarts — until EnableMember.
// It returns the member's name. Dynamic members cannot be shut down: they exist only while
// connected.
func (d *Daemon) ShutdownMember(ctx context.Context, name, msg string) (string, error) {
	var err error
	var got string
	if xerr := d.exec(ctx, func() {
		var m *member
		if m, err = d.memberOf(name); err != nil {
			return
		}
		got = m.cfg.Name
		d.adminDown[got] = adminShutdown{Message: msg, Since: time.Now().UTC().Truncate(time.Second)}
		d.saveState()
		n := speaker.AdminShutdown(speaker.SubAdminShutdown, msg)
		for _, s := range m.sessions {
			if s.restart != nil {
				s.restart.Stop()
				s.restart = nil
			}
			s.peer.Stop(&n)
		}
		d.log.Warn("member administratively shut down", "member", got, "message", msg, "sessions", len(m.sessions))
	}); xerr != nil {
		return "", xerr
	}
	return got, err
}

// EnableMember ends a member's administrative shutdown and starts its sessions (those held down by
// a max-prefix action stay down until ClearMaxPrefix). It returns the member's name and whether it
// was shut down.
func (d *Daemon) EnableMember(ctx context.Context, name string) (string, bool, error) {
	var err error
	var got string
	var was bool
	if xerr := d.exec(ctx, func() {
		var m *member
		if m, err = d.memberOf(name); err != nil {
			return
		}
		got = m.cfg.Name
		if _, was = d.adminDown[got]; !was {
			return
		}
		delete(d.adminDown, got)
		d.saveState()
		for _, s := range m.sessions {
			if !s.maxPrefixStopped {
				s.peer.Start()
			}
		}
		d.log.Info("member enabled", "member", got)
	}); xerr != nil {
		return "", false, xerr
	}
	return got, was, err
}

// ResetMember resets a member's established sessions and returns the member's name and how many it
// reset. Hard: Cease/Administrative Reset with msg (RFC 9003), then the session starts again. Soft:
// no session ends: the route server asks the member for its routes again (ROUTE-REFRESH, RFC 2918)
// and sends it its own table again, for every family negotiated.
func (d *Daemon) ResetMember(ctx context.Context, name string, soft bool, msg string) (string, int, error) {
	var err error
	var got string
	var todo []*session
	if xerr := d.exec(ctx, func() {
		var m *member
		if m, err = d.memberOf(name); err != nil {
			return
		}
		got = m.cfg.Name
		if _, down := d.adminDown[got]; down {
			return
		}
		for _, s := range m.sessions {
			if s.peer.State() != speaker.StateEstablished {
				continue
			}
			todo = append(todo, s)
			if !soft {
				n := speaker.AdminShutdown(speaker.SubAdminReset, msg)
				s.peer.Stop(&n)
				s.peer.Start()
			}
		}
		d.log.Info("member reset", "member", got, "soft", soft, "sessions", len(todo), "message", msg)
	}); xerr != nil {
		return "", 0, xerr
	}
	if err != nil || !soft {
		return got, len(todo), err
	}
	for _, s := range todo {
		for _, f := range s.peer.Families() {
			if e := s.peer.SendRouteRefresh(f); e != nil {
				d.log.Warn("soft reset: ROUTE-REFRESH not sent", "member", got, "neighbor", s.peer.Addr().String(), "afi", f.String(), "err", e)
			}
			if e := s.rib.RouteRefresh(f); e != nil {
				d.log.Warn("soft reset: table not sent again", "member", got, "neighbor", s.peer.Addr().String(), "afi", f.String(), "err", e)
			}
		}
	}
	return got, len(todo), nil
}

// SetGracefulShutdown switches the route server's graceful shutdown (RFC 8326): while on, every
// route sent to every member carries GRACEFUL_SHUTDOWN (65535:0), so that members prefer the other
// route server's paths; the routes held are sent again at once. It lasts until switched off or the
// route server stops; with [server] state_dir, across restarts too (state.go).
func (d *Daemon) SetGracefulShutdown(ctx context.Context, on bool) error {
	if err := d.exec(ctx, func() {}); err != nil {
		return err
	}
	if err := d.rib.SetGracefulShutdown(ctx, on); err != nil {
		return err
	}
	d.log.Warn("graceful shutdown of the route server", "on", on)
	return d.exec(ctx, d.saveState)
}
