// Package daemon is the running route server: it builds the BGP speaker and the RIB from a
// configuration, joins each configured member's sessions to both (speaker.Peer ⇄ rs.Peer), loads
// the policy data files, applies reloads by difference, and carries out max-prefix actions.
// cmd/routeserver keeps only flags, signals and logging; the looking glass, metrics and the other
// read-side features attach here.
//
// One goroutine, Run's, owns the daemon's state (the members and their sessions). Everything
// else — a reload asked for by a signal, a hook called by the RIB loop, a timer — hands it a
// request and, where it needs an answer, waits for it. The RIB itself is owned by its own loop
// (rs.Server.Run) and changed only through rs's typed inputs.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// shutdownGrace bounds how long a clean stop waits for NOTIFICATIONs to leave.
const shutdownGrace = 5 * time.Second

// Options are what the daemon needs besides the configuration.
type Options struct {
	Logger *slog.Logger
	// Load reads the configuration again for Reload; nil refuses reloads.
	Load func() (*config.Config, error)
	// Version is reported by the read side (looking glass, metrics).
	Version string
}

// Daemon is the running route server. New builds it, Run runs it; the other methods are safe for
// concurrent use once Run has started and return ErrNotRunning otherwise.
type Daemon struct {
	log  *slog.Logger
	opts Options
	sp   *speaker.Speaker
	rib  *rs.Server
	// files caches the parsed data files (filecache.go). Owned by Run's goroutine.
	files fileCache

	reqs    chan func() // executed by Run's goroutine
	running chan struct{}
	done    chan struct{}
	ready   chan struct{}
	started time.Time

	// Owned by Run's goroutine.
	cfg       *config.Config
	comp      *compiler
	defExport rs.ExportProfile // the export profile of [defaults] at start, which the RIB's export policy holds
	rpki      *rpkiFeed        // RPKI sources and the snapshot the RIB has (rpki.go)
	members   map[string]*member
	byPeer    map[*rs.Peer]*session
	listeners []net.Addr
	lastLoad  time.Time
	// adminDown holds the members shut down by an operator, with their RFC 9003 message; it
	// outlives reloads that re-create the member (admin.go) and, with [server] state_dir, restarts
	// (state.go).
	adminDown map[string]adminShutdown
	// stateProblem is the last problem reading or writing the state file; "" if none (state.go).
	stateProblem string

	pub published // published for the looking glass (lookingglass.go)

	dynamic dynamic // members accepted from [[member_range]]s (dynamic.go)
	bmp     bmpExporters
	mrt     mrtState   // MRT dumps and update log (mrt.go)
	trace   traceState // packet tracing (trace.go)
	// ribCtx ends with the RIB: exporters started by a reload live as long as those started by Run.
	ribCtx context.Context
}

// member is a configured member with its sessions.
type member struct {
	cfg      config.Member
	policy   config.Policy
	irr      *policy.IRR // in force; nil: none
	sessions []*session
}

// session joins one neighbor address of a member: its speaker peer and its RIB peer.
type session struct {
	m    *member
	peer *speaker.Peer
	rib  *rs.Peer
	// maxPrefixStopped is set while the session is held down by max-prefix action shutdown (or
	// restart, until its timer fires).
	maxPrefixStopped bool
	restart          *time.Timer
}

// Errors.
var (
	ErrNotRunning    = errors.New("route server not running")
	ErrUnknownMember = errors.New("unknown member")
	ErrNoReload      = errors.New("reload not possible: no configuration source")
)

// New builds the route server from cfg. It opens nothing: Run starts the RIB, the listeners and the
// sessions.
func New(cfg *config.Config, opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Daemon{
		log:     opts.Logger,
		opts:    opts,
		cfg:     cfg,
		reqs:    make(chan func()),
		running: make(chan struct{}),
		done:    make(chan struct{}),
		ready:   make(chan struct{}),
		members: map[string]*member{},
		byPeer:  map[*rs.Peer]*session{},

		adminDown: map[string]adminShutdown{},
	}
	d.comp = newCompiler(cfg.Server)
	sp, err := speaker.New(speaker.Config{ASN: cfg.Server.ASN, RouterID: cfg.Server.RouterID, Logger: d.log.With("component", "bgp"),
		Unknown: d.unknownConn})
	if err != nil {
		return nil, err
	}
	d.sp = sp
	d.defExport = exportProfile(cfg.Defaults)
	d.rib = rs.New(rs.Config{ASN: cfg.Server.ASN, RouterID: cfg.Server.RouterID, Export: exportPolicy(cfg),
		OnMaxPrefix: d.onMaxPrefix, OnRefresh: d.onRefresh, StaleTime: cfg.Server.StaleTime,
		Logger: d.log})
	if d.rpki, err = newRPKIFeed(cfg, d.rib, d.log.With("component", "rpki")); err != nil {
		return nil, err
	}
	return d, nil
}

// RIB returns the route server's RIB, for the read side: its read jobs, event feed and statistics.
func (d *Daemon) RIB() *rs.Server { return d.rib }

// Speaker returns the BGP speaker, for the read side (session states and counters).
func (d *Daemon) Speaker() *speaker.Speaker { return d.sp }

// Ready is closed once the listeners are open and every configured session has been started.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// Started returns when Run started.
func (d *Daemon) Started() time.Time { return d.started }

// Run runs the route server until ctx is done, then ends every session with an Administrative
// Shutdown and returns nil. It returns an error if the route server cannot start (a listener
// cannot be opened, a member cannot be configured).
func (d *Daemon) Run(ctx context.Context) error {
	d.started = time.Now()
	ribCtx, stopRIB := context.WithCancel(context.Background())
	d.ribCtx = ribCtx
	ribDone := make(chan error, 1)
	go func() { ribDone <- d.rib.Run(ribCtx) }()
	waitRPKI := d.rpki.start(ribCtx)
	waitBMP := d.startBMP()
	waitMRT := d.startMRT(ribCtx)
	defer func() {
		stopRIB()
		waitRPKI()
		waitBMP()
		waitMRT()
		<-ribDone
		close(d.done)
	}()

	d.loadVRPs()
	if d.loadState() {
		// Before any session starts, so that no member sees a route without GRACEFUL_SHUTDOWN.
		if err := d.rib.SetGracefulShutdown(ctx, true); err != nil {
			d.log.Error("graceful shutdown kept from before the restart not applied", "err", err)
		}
	}
	for _, l := range d.cfg.Server.Listen {
		a, err := d.sp.Listen(l.String())
		if err != nil {
			d.sp.Close()
			return err
		}
		d.listeners = append(d.listeners, a)
	}
	for i := range d.cfg.Members {
		if err := d.addMember(ctx, d.cfg.Members[i], d.cfg.MemberPolicy(i)); err != nil {
			d.sp.Close()
			return err
		}
	}
	d.lastLoad = time.Now()
	d.publish()
	d.log.Info("route server running", "asn", d.cfg.Server.ASN, "router_id", d.cfg.Server.RouterID.String(),
		"members", len(d.cfg.Members), "sessions", d.cfg.Sessions())
	close(d.running)
	close(d.ready)
	for {
		select {
		case <-ctx.Done():
			d.shutdown()
			return nil
		case f := <-d.reqs:
			f()
		}
	}
}

// exec runs f on Run's goroutine and waits for it.
func (d *Daemon) exec(ctx context.Context, f func()) error {
	select {
	case <-d.running:
	case <-d.done:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	done := make(chan struct{})
	select {
	case d.reqs <- func() { f(); close(done) }:
	case <-d.done:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// post runs f on Run's goroutine without waiting: for hooks called where blocking is not allowed
// (the RIB loop, timers). Dropped once Run has returned.
func (d *Daemon) post(f func()) {
	go func() {
		select {
		case d.reqs <- f:
		case <-d.done:
		}
	}()
}

// ListenAddrs returns the addresses the BGP listeners are bound to (with the port chosen by the
// kernel where the configuration says 0).
func (d *Daemon) ListenAddrs(ctx context.Context) ([]net.Addr, error) {
	var out []net.Addr
	err := d.exec(ctx, func() { out = append(out, d.listeners...) })
	return out, err
}

// Config returns the configuration in force. The caller must not modify it.
func (d *Daemon) Config(ctx context.Context) (*config.Config, error) {
	var c *config.Config
	err := d.exec(ctx, func() { c = d.cfg })
	return c, err
}

// LastReload returns when the configuration in force was loaded.
func (d *Daemon) LastReload(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := d.exec(ctx, func() { t = d.lastLoad })
	return t, err
}

func (d *Daemon) addMember(ctx context.Context, mc config.Member, pol config.Policy) error {
	m := &member{cfg: mc, policy: pol}
	if irr, err := d.files.irr(d.cfg, mc); err != nil {
		d.log.Error("IRR data refused; the member has none until it loads", "member", mc.Name, "asn", mc.ASN, "err", err)
	} else {
		m.irr = irr
	}
	rmc := rs.MemberConfig{Name: mc.Name, ASN: mc.ASN, Import: d.comp.compile(pol), IRR: m.irr, MaxPrefix: maxPrefix(pol),
		Export: d.exportProfileOf(pol)}
	if err := d.rib.AddMember(ctx, rmc); err != nil {
		return fmt.Errorf("member %q: %w", mc.Name, err)
	}
	d.members[mc.Name] = m
	for _, addr := range mc.Neighbors {
		if err := d.addSession(ctx, m, addr); err != nil {
			return err
		}
	}
	return nil
}

// removeMember closes the member's sessions with an RFC 9003 Cease (subcode and msg) and forgets
// its routes.
func (d *Daemon) removeMember(ctx context.Context, name string, subcode uint8, msg string) {
	m := d.members[name]
	if m == nil {
		return
	}
	for _, s := range m.sessions {
		if s.restart != nil {
			s.restart.Stop()
		}
		delete(d.byPeer, s.rib)
		d.endPeer(s.peer, subcode, msg)
	}
	if err := d.rib.RemoveMember(ctx, name); err != nil {
		d.log.Error("remove member from the RIB", "member", name, "err", err)
	}
	delete(d.members, name)
}

// ReloadResult says what a reload changed.
type ReloadResult struct {
	Members                                int
	Added, Removed, Changed, PolicyChanged int
	// SessionsReset counts the sessions ended and started again (re-created members, changed
	// session keys); sessions of removed members or neighbors are not counted.
	SessionsReset int
	// Changes lists what was changed, as Diff reports it.
	Changes []Change
	// Warnings are settings the reload could not apply (they take effect on restart).
	Warnings []string
}

// Reload reads the configuration again (Options.Load) and applies what changed. A configuration
// with problems is refused — the error is a *config.Errors listing each with its line — and the
// one in force stays. Otherwise members that are gone are removed, new ones added, and a member
// whose session settings changed has its sessions re-created; policy and data changes are applied
// to the routes held without resetting any session. Every other session is left alone.
func (d *Daemon) Reload(ctx context.Context) (ReloadResult, error) {
	if d.opts.Load == nil {
		return ReloadResult{}, ErrNoReload
	}
	cfg, err := d.opts.Load()
	if err != nil {
		d.logRefused(err)
		return ReloadResult{}, err
	}
	var res ReloadResult
	if err := d.exec(ctx, func() { res = d.apply(ctx, cfg) }); err != nil {
		return ReloadResult{}, err
	}
	return res, nil
}

func (d *Daemon) logRefused(err error) {
	var errs *config.Errors
	if errors.As(err, &errs) {
		for _, e := range *errs {
			d.log.Error("configuration refused; the running configuration stays in force", "problem", e.Error())
		}
		return
	}
	d.log.Error("configuration refused; the running configuration stays in force", "err", err)
}

// apply makes cfg the configuration in force (Reload).
func (d *Daemon) apply(ctx context.Context, cfg *config.Config) ReloadResult {
	var res ReloadResult
	d.log.Info("reloading configuration", "config", cfg.Path)
	res.Changes, res.Warnings = d.plan(cfg)
	cfg.Server, cfg.RPKI = d.cfg.Server, d.cfg.RPKI
	for _, w := range res.Warnings {
		d.log.Warn(w)
	}
	for _, c := range res.Changes {
		d.log.Info("reload: "+c.Action, "member", c.Member, "neighbor", c.Neighbor, "detail", c.Detail)
	}
	wanted := map[string]int{}
	for i, m := range cfg.Members {
		wanted[m.Name] = i
	}
	stateChanged := false
	// Members whose policy keys changed are applied to the RIB together once the loop is over:
	// one operation and one revalidation walk for all of them (a [defaults] change touches every
	// member), so a prefix several of them announce changes once (rs.SetMemberPolicies).
	var pols []rs.MemberPolicy
	var unheld []*member
	for name, m := range d.members {
		i, ok := wanted[name]
		if !ok {
			d.removeMember(ctx, name, speaker.SubAdminShutdown, msgRemoved)
			if _, down := d.adminDown[name]; down {
				delete(d.adminDown, name)
				stateChanged = true
			}
			d.forgetTrace(name)
			res.Removed++
			continue
		}
		pol := cfg.MemberPolicy(i)
		md := diffMember(m.cfg, m.policy, cfg.Members[i], pol)
		oldTrace := configTrace(m.cfg)
		if md.recreate != "" {
			d.reloadTraceRecreated(m, oldTrace, cfg.Members[i])
			// A new AS or export profile changes how the member's attribute sets are keyed and
			// sent: that needs its routes anew, so its sessions are re-created.
			res.SessionsReset += len(m.sessions)
			d.removeMember(ctx, name, speaker.SubAdminReset, msgChanged)
			res.Changed++
			continue
		}
		if len(md.resetKeys) > 0 {
			res.SessionsReset += len(m.sessions) - len(md.dropNeighbors)
		}
		if len(md.addNeighbors)+len(md.dropNeighbors)+len(md.resetKeys) > 0 {
			res.Changed++
		}
		d.applyMember(ctx, m, &md, cfg.Members[i])
		d.reloadTrace(m, oldTrace)
		// Policy keys are applied to the running member: its routes are revalidated, its sessions
		// stay up (raising a max-prefix limit must not reset anyone).
		if md.policy {
			pols = append(pols, rs.MemberPolicy{Name: name, Import: d.comp.compile(pol), MaxPrefix: maxPrefix(pol)})
			if maxPrefix(pol) != maxPrefix(m.policy) {
				unheld = append(unheld, m)
			}
			m.policy = pol
			res.PolicyChanged++
		}
	}
	if len(pols) > 0 {
		if err := d.rib.SetMemberPolicies(ctx, pols, nil); err != nil {
			d.log.Error("reload: member policies", "members", len(pols), "err", err)
		}
	}
	for _, m := range unheld {
		// A session held down by max-prefix comes back under the new limits.
		for _, s := range m.sessions {
			d.clearMaxPrefix(s)
		}
	}
	old := d.cfg
	d.cfg = cfg
	if stateChanged {
		d.saveState()
	}
	d.reloadRanges()
	d.applyBMP(cfg)
	d.applyMRT(d.ribCtx, cfg)
	// Data files first, so that members added below start with the new data and revalidation
	// covers the members that stay.
	d.reloadData(ctx)
	for i, mc := range cfg.Members {
		if _, ok := d.members[mc.Name]; ok {
			continue
		}
		if err := d.addMember(ctx, mc, cfg.MemberPolicy(i)); err != nil {
			d.log.Error("reload: add member", "member", mc.Name, "err", err)
			continue
		}
		if _, existed := memberIndex(old, mc.Name); !existed {
			res.Added++
		}
	}
	res.Members = len(cfg.Members)
	d.lastLoad = time.Now()
	d.publish()
	d.pub.lastReload.Store(d.lastLoad.UnixNano())
	d.log.Info("configuration reloaded", "members", res.Members, "added", res.Added, "removed", res.Removed,
		"changed", res.Changed, "policy_changed", res.PolicyChanged, "sessions_reset", res.SessionsReset)
	return res
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
func (d *Daemon) shutdown() {
	for _, m := range d.members {
		for _, s := range m.sessions {
			if s.restart != nil {
				s.restart.Stop()
			}
		}
	}
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

// handler connects one BGP session to its RIB peer.
type handler struct {
	s   *session
	log *slog.Logger
	upd *updateSource // the session in the MRT update log
	// name, addPathLimit and llgrStaleTime are the member's settings when the peer was configured:
	// the member's config belongs to Run's goroutine (a reload replaces it), and the handler runs on
	// the speaker's. A change of either setting re-creates the peer.
	name          string
	addPathLimit  int
	llgrStaleTime time.Duration
}

func (h *handler) Established(p *speaker.Peer, o *speaker.Open) {
	enc, _ := p.EncodeOptions()
	sent, received := p.OpenMessages()
	local, remote := p.ConnAddrs()
	info := rs.SessionInfo{RouterID: o.RouterID, Families: p.Families(), Encode: enc, OpenSent: sent, OpenReceived: received,
		GracefulRestart: p.GracefulRestart(), EnhancedRouteRefresh: o.Caps.EnhancedRouteRefresh, Local: local, Remote: remote,
		AddPath: p.AddPathSend(), AddPathLimit: h.addPathLimit,
		LongLivedGR: llgrNegotiated(p.LongLivedGR(), h.llgrStaleTime)}
	h.upd.established(p, h.name, o.ASN(), enc.FourOctetAS)
	if err := h.s.rib.Up(p, info); err != nil {
		h.log.Error("session up", "member", p.Name(), "neighbor", p.Addr().String(), "err", err)
	}
}

// Update blocks while the member's inbound queue is full: the speaker then stops reading from this
// member alone.
func (h *handler) Update(p *speaker.Peer, u *speaker.Update, _ *speaker.UpdateError) {
	h.s.rib.Receive(u)
}

func (h *handler) RouteRefresh(p *speaker.Peer, rr speaker.RouteRefresh) {
	h.s.rib.RefreshMessage(rr) // a request, or the member's BoRR/EoRR (rs/refresh.go)
}

func (h *handler) Notification(*speaker.Peer, speaker.Notification, bool) {}

func (h *handler) Down(_ *speaker.Peer, err error) {
	h.upd.down()
	why := ""
	if err != nil {
		why = err.Error()
	}
	if downGraceful(err) {
		h.s.rib.DownGraceful(why)
		return
	}
	h.s.rib.DownWithReason(why)
}

// Drained is called by the speaker's writer when the member's output buffer is empty.
func (h *handler) Drained(*speaker.Peer) { h.s.rib.Drained() }

var _ speaker.Drainer = (*handler)(nil)
