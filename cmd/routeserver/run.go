package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rpki"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// shutdownGrace bounds how long a clean stop waits for NOTIFICATIONs to leave.
const shutdownGrace = 5 * time.Second

// daemon is the running route server: the BGP speaker, the RIB and the configuration they were built
// from. Only run's goroutine touches it.
type daemon struct {
	log  *slog.Logger
	path string
	cfg  *config.Config
	sp   *speaker.Speaker
	rib  *rs.Server
	vrps *rpki.Store // the VRP file's data, shared by every compiled policy
	comp *compiler
	// defExport is the export profile of [defaults] at start, which the RIB's export policy holds.
	defExport rs.ExportProfile

	members map[string]*runningMember
	// bySession finds a session's speaker peer from the RIB loop (max-prefix hook): *rs.Peer →
	// *runningSession. A sync.Map because reload changes it on run's goroutine.
	bySession sync.Map
}

// runningMember is a configured member with its sessions.
type runningMember struct {
	cfg      config.Member
	policy   config.Policy
	irr      *policy.IRRSource
	sessions []*runningSession
}

type runningSession struct {
	peer *speaker.Peer
	rss  *rs.Peer
	// restartAfter is max_prefix_restart_after; atomic because the RIB's max-prefix hook reads
	// it while a reload may change it.
	restartAfter atomic.Int64
}

// run runs the route server until ctx is cancelled, reloading the configuration on SIGHUP.
func run(ctx context.Context, cfg *config.Config, path string, log *slog.Logger) error {
	d := &daemon{log: log, path: path, cfg: cfg, members: map[string]*runningMember{}, vrps: &rpki.Store{}}
	d.comp = newCompiler(cfg.Server, d.vrps)
	d.refreshVRPs()
	sp, err := speaker.New(speaker.Config{ASN: cfg.Server.ASN, RouterID: cfg.Server.RouterID, Logger: log.With("component", "bgp")})
	if err != nil {
		return err
	}
	d.sp = sp
	d.defExport = exportProfile(cfg.Defaults)
	d.rib = rs.New(rs.Config{ASN: cfg.Server.ASN, RouterID: cfg.Server.RouterID, Export: exportPolicy(cfg),
		OnMaxPrefix: d.maxPrefix, Logger: log.With("component", "rib")})

	ribCtx, stopRIB := context.WithCancel(context.Background())
	ribDone := make(chan error, 1)
	go func() { ribDone <- d.rib.Run(ribCtx) }()
	defer func() {
		stopRIB()
		<-ribDone
	}()

	for _, l := range cfg.Server.Listen {
		if _, err := sp.Listen(l.String()); err != nil {
			sp.Close()
			return err
		}
	}
	for i := range cfg.Members {
		if err := d.addMember(ctx, cfg.Members[i], cfg.MemberPolicy(i)); err != nil {
			sp.Close()
			return err
		}
	}
	log.Info("route server running", "asn", cfg.Server.ASN, "router_id", cfg.Server.RouterID.String(),
		"members", len(cfg.Members), "sessions", cfg.Sessions())

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			d.shutdown()
			return nil
		case <-hup:
			d.reload(ctx)
		}
	}
}

func (d *daemon) addMember(ctx context.Context, m config.Member, pol config.Policy) error {
	rm := &runningMember{cfg: m, policy: pol, irr: &policy.IRRSource{}}
	d.refreshIRR(m, rm.irr)
	mc := rs.MemberConfig{Name: m.Name, ASN: m.ASN, Import: d.comp.compile(pol), IRR: rm.irr, MaxPrefix: maxPrefix(pol),
		Export: d.exportProfileOf(pol)}
	if err := d.rib.AddMember(ctx, mc); err != nil {
		return fmt.Errorf("member %q: %w", m.Name, err)
	}
	d.members[m.Name] = rm
	srv := d.cfg.Server
	for _, addr := range m.Neighbors {
		rss, err := d.rib.AddPeer(ctx, m.Name, addr)
		if err != nil {
			return fmt.Errorf("member %q: neighbor %s: %w", m.Name, addr, err)
		}
		pc := speaker.PeerConfig{
			Name:         m.Name,
			PeerAS:       m.ASN,
			PeerAddr:     addr,
			HoldTime:     time.Duration(srv.HoldTime) * time.Second,
			NoHoldTime:   srv.HoldTime == 0,
			ConnectRetry: srv.ConnectRetry,
			Passive:      m.Passive,
			MD5Password:  string(m.MD5Password),
			TTLSecurity:  m.TTLSecurity,
			HasRole:      true, // RFC 9234: we are a route server; members may say they are its clients
			Role:         speaker.RoleRS,
		}
		peer, err := d.sp.AddPeer(pc, &sessionHandler{rss: rss, log: d.log})
		if err != nil {
			d.rib.RemovePeer(ctx, rss)
			return fmt.Errorf("member %q: neighbor %s: %w", m.Name, addr, err)
		}
		sess := &runningSession{peer: peer, rss: rss}
		sess.restartAfter.Store(int64(pol.MaxPrefixRestartAfter))
		rm.sessions = append(rm.sessions, sess)
		d.bySession.Store(rss, sess)
		peer.Start()
	}
	return nil
}

// removeMember closes the member's sessions with Cease/Peer De-configured and forgets its routes.
func (d *daemon) removeMember(ctx context.Context, name string) {
	rm := d.members[name]
	if rm == nil {
		return
	}
	for _, s := range rm.sessions {
		d.bySession.Delete(s.rss)
		d.sp.RemovePeer(s.peer)
	}
	if err := d.rib.RemoveMember(ctx, name); err != nil {
		d.log.Error("remove member from the RIB", "member", name, "err", err)
	}
	delete(d.members, name)
}

// reload re-reads the configuration. A configuration with problems is refused, each problem logged with
// its line, and the running one stays in force. Otherwise only what changed is applied: members that are
// gone are removed, new ones added, and a member whose settings changed has its sessions re-created;
// every other session is left alone.
func (d *daemon) reload(ctx context.Context) {
	name := d.path
	if name == "" {
		name = defaultConfigName
	}
	d.log.Info("reloading configuration", "config", name)
	cfg, err := loadConfig(d.path)
	if err != nil {
		if errs, ok := err.(*config.Errors); ok {
			for _, e := range *errs {
				d.log.Error("configuration refused; the running configuration stays in force", "problem", e.Error())
			}
		} else {
			d.log.Error("configuration refused; the running configuration stays in force", "err", err)
		}
		return
	}
	if !reflect.DeepEqual(cfg.Server, d.cfg.Server) {
		d.log.Warn("[server] changes take effect only after a restart; keeping the running [server] settings")
		cfg.Server = d.cfg.Server
	}
	wanted := map[string]int{}
	for i, m := range cfg.Members {
		wanted[m.Name] = i
	}
	var removed, added, changed, repoliced int
	for name, rm := range d.members {
		i, ok := wanted[name]
		if !ok {
			d.removeMember(ctx, name)
			removed++
			continue
		}
		// A new export profile changes how the member's attribute sets are keyed and sent: that
		// needs its routes anew, so its sessions are re-created.
		if !sameSessions(rm.cfg, cfg.Members[i]) || exportProfile(rm.policy) != exportProfile(cfg.MemberPolicy(i)) {
			d.removeMember(ctx, name)
			changed++
			continue
		}
		// Policy keys and IRR file names are applied to the running member: its routes are
		// re-evaluated, its sessions stay up (raising a max-prefix limit must not reset anyone).
		if pol := cfg.MemberPolicy(i); !reflect.DeepEqual(rm.policy, pol) {
			if err := d.rib.SetMemberPolicy(ctx, name, d.comp.compile(pol), maxPrefix(pol), nil); err != nil {
				d.log.Error("reload: member policy", "member", name, "err", err)
			}
			for _, s := range rm.sessions {
				s.restartAfter.Store(int64(pol.MaxPrefixRestartAfter))
			}
			rm.policy = pol
			repoliced++
		}
		rm.cfg = cfg.Members[i]
	}
	old := d.cfg
	d.cfg = cfg
	if !reflect.DeepEqual(cfg.RPKI, old.RPKI) {
		d.log.Warn("[rpki] changes take effect only after a restart; the VRP file is re-read")
		cfg.RPKI = old.RPKI
	}
	// Data files first, so that members added below start with the new data and re-evaluation
	// covers the members that stay.
	d.reloadData(ctx)
	for i, m := range cfg.Members {
		if _, ok := d.members[m.Name]; ok {
			continue
		}
		if err := d.addMember(ctx, m, cfg.MemberPolicy(i)); err != nil {
			d.log.Error("reload: add member", "member", m.Name, "err", err)
			continue
		}
		if _, existed := memberIndex(old, m.Name); !existed {
			added++
		}
	}
	d.log.Info("configuration reloaded", "members", len(cfg.Members), "added", added, "removed", removed,
		"changed", changed, "policy_changed", repoliced)
}

// sameSessions reports whether two versions of a member differ at most in what a reload applies
// without re-creating the member's sessions: policy keys, IRR file names, the description.
func sameSessions(a, b config.Member) bool {
	strip := func(m *config.Member) {
		m.IRRPrefixFile, m.IRRASNFile, m.Description = "", "", ""
		m.PolicyOverrides = config.PolicyOverrides{}
	}
	strip(&a)
	strip(&b)
	return reflect.DeepEqual(a, b)
}

func memberIndex(c *config.Config, name string) (int, bool) {
	for i, m := range c.Members {
		if m.Name == name {
			return i, true
		}
	}
	return 0, false
}

// shutdown ends every session with an Administrative Shutdown that says why, then closes the speaker.
func (d *daemon) shutdown() {
	n := speaker.AdminShutdown(speaker.SubAdminShutdown, "route server shutting down")
	for _, p := range d.sp.Peers() {
		p.Stop(&n)
	}
	deadline := time.Now().Add(shutdownGrace)
	for _, p := range d.sp.Peers() {
		for p.State() > speaker.StateActive && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	d.sp.Close()
}

// sessionHandler connects one BGP session to its route-server session.
type sessionHandler struct {
	rss *rs.Peer
	log *slog.Logger
}

func (h *sessionHandler) Established(p *speaker.Peer, o *speaker.Open) {
	enc, _ := p.EncodeOptions()
	if err := h.rss.Up(p, rs.SessionInfo{RouterID: o.RouterID, Families: p.Families(), Encode: enc}); err != nil {
		h.log.Error("session up", "member", p.Name(), "neighbor", p.Addr().String(), "err", err)
	}
}

// Update blocks while the member's inbound queue is full: the speaker then stops reading from this
// member alone.
func (h *sessionHandler) Update(p *speaker.Peer, u *speaker.Update, _ *speaker.UpdateError) {
	h.rss.Receive(u)
}

func (h *sessionHandler) RouteRefresh(p *speaker.Peer, rr speaker.RouteRefresh) {
	if rr.Subtype == 0 {
		h.rss.RouteRefresh(rr.Family)
	}
}

func (h *sessionHandler) Notification(*speaker.Peer, speaker.Notification, bool) {}

func (h *sessionHandler) Down(*speaker.Peer, error) { h.rss.Down() }

// Drained is called by the speaker's writer when the member's output buffer is empty.
func (h *sessionHandler) Drained(*speaker.Peer) { h.rss.Drained() }

var _ speaker.Drainer = (*sessionHandler)(nil)
