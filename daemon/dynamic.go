package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/metrics"
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// Dynamic members ([[member_range]], docs/configuration.md). A connection from an address that no
// [[member]] lists reaches the speaker's Unknown hook; if the address is inside a range with room,
// Run's goroutine adds a passive speaker peer for it, which checks the AS of the member's OPEN
// against the range (speaker.PeerConfig.AcceptAS). Only when the session is Established, and the
// AS therefore known, does the member exist in the RIB: the handler adds the RIB member and
// session from the peer's goroutine (the RIB's inputs may be called from anywhere and never wait
// on the daemon), then tells Run's goroutine. When the session goes down, or it is not established
// within dynamicSetup of connecting, Run's goroutine removes the member again: a dynamic member
// exists while it is connected.

// dynamicSetup bounds how long a dynamic neighbor may take from connecting to Established before
// its peer is removed (a connection that never sends an acceptable OPEN must not hold a slot).
const dynamicSetup = 2 * time.Minute

// ribTimeout bounds a RIB call made from a peer's goroutine for a dynamic member.
const ribTimeout = 10 * time.Second

// dynamic is the daemon's dynamic members. Owned by Run's goroutine except where noted.
type dynamic struct {
	ranges map[string]*dynRange
	// pub is read by the looking glass and metrics: the ranges (their counters are atomic) and the
	// members' descriptions by name.
	pub atomic.Pointer[dynPublished]
}

type dynPublished struct {
	ranges []*dynRange
	descr  map[string]string // dynamic member name → looking-glass description
}

// dynRange is a [[member_range]] in force.
type dynRange struct {
	cfg     config.MemberRange
	policy  config.Policy
	imp     *policy.Import
	members map[netip.Addr]*dynMember
	// held are addresses closed by a max-prefix action: refused until the time given, or until
	// the range is reloaded (zero time).
	held map[netip.Addr]time.Time

	sessions atomic.Int64  // established dynamic sessions
	refused  atomic.Uint64 // connections refused at max_sessions
}

// dynMember is one dynamic neighbor from connect to removal.
type dynMember struct {
	r     *dynRange
	addr  netip.Addr
	peer  *speaker.Peer
	h     *dynHandler
	timer *time.Timer
	// name and asn are set once the session is Established and the RIB member exists.
	name string
	asn  uint32
}

func (d *Daemon) dyn() *dynamic {
	if d.dynamic.ranges == nil {
		d.dynamic.ranges = map[string]*dynRange{}
	}
	return &d.dynamic
}

// unknownConn is the speaker's Unknown hook: it runs on a goroutine of its own and asks Run's
// goroutine whether a range takes the connection.
func (d *Daemon) unknownConn(remote, _ netip.AddrPort) *speaker.Peer {
	ctx, cancel := context.WithTimeout(context.Background(), ribTimeout)
	defer cancel()
	var p *speaker.Peer
	if err := d.exec(ctx, func() { p = d.acceptDynamic(remote.Addr()) }); err != nil {
		return nil
	}
	return p
}

// acceptDynamic returns the peer that takes a connection from addr, adding it, or nil to refuse.
func (d *Daemon) acceptDynamic(addr netip.Addr) *speaker.Peer {
	i, pinned := d.cfg.Match(addr)
	if i < 0 {
		return nil // not in a range: the speaker refuses and counts it
	}
	rc := d.cfg.MemberRanges[i]
	r := d.rangeOf(rc.Name)
	log := d.log.With("range", rc.Name, "neighbor", addr.String())
	if m := r.members[addr]; m != nil {
		return m.peer // connecting again before the last connection's peer is gone
	}
	if until, ok := r.held[addr]; ok {
		if until.IsZero() || time.Now().Before(until) {
			log.Warn("dynamic member refused: closed by its max-prefix limit")
			return nil
		}
		delete(r.held, addr)
	}
	if len(r.members) >= rc.MaxSessions {
		n := r.refused.Add(1)
		log.Warn("dynamic member refused: the range is at max_sessions", "max_sessions", rc.MaxSessions, "refused_total", n)
		return nil
	}
	srv := d.cfg.Server
	acfg := rc // AcceptAS runs on the peer's goroutine: it reads its own copy
	pc := speaker.PeerConfig{
		Name:         fmt.Sprintf("%s-%s", rc.Name, addr),
		PeerAS:       pinned,
		PeerAddr:     addr,
		HoldTime:     time.Duration(srv.HoldTime) * time.Second,
		NoHoldTime:   srv.HoldTime == 0,
		ConnectRetry: srv.ConnectRetry,
		Passive:      true, // a dynamic member connects; the route server cannot know where to
		TTLSecurity:  rc.TTLSecurity,
		HasRole:      true,
		Role:         speaker.RoleRS,
		// RFC 7313, as for configured members (peerConfig).
		EnhancedRouteRefresh: true,
	}
	if pinned == 0 {
		pc.AcceptAS = func(asn uint32) bool { return acfg.AcceptsAS(addr, asn) }
	}
	m := &dynMember{r: r, addr: addr}
	m.h = &dynHandler{d: d, m: m, rc: acfg, rmc: rs.MemberConfig{Import: r.imp, MaxPrefix: maxPrefix(r.policy),
		Export: d.exportProfileOf(r.policy)}, log: log, upd: &updateSource{d: d}}
	pc.OnMessage = m.h.upd.onMessage
	p, err := d.sp.AddPeer(pc, m.h)
	if err != nil {
		log.Error("dynamic member: add peer", "err", err)
		return nil
	}
	m.peer = p
	r.members[addr] = m
	m.timer = time.AfterFunc(dynamicSetup, func() {
		d.post(func() {
			if r.members[addr] == m && m.name == "" {
				log.Info("dynamic member removed: not established in time", "setup", dynamicSetup.String())
				d.removeDynamic(m, "not established in time")
			}
		})
	})
	p.Start()
	log.Info("dynamic neighbor connecting", "asn", pinned)
	return p
}

// rangeOf returns the range in force named name, creating its state on first use.
func (d *Daemon) rangeOf(name string) *dynRange {
	dy := d.dyn()
	if r := dy.ranges[name]; r != nil {
		return r
	}
	for i := range d.cfg.MemberRanges {
		if rc := d.cfg.MemberRanges[i]; rc.Name == name {
			pol := d.cfg.RangePolicy(i)
			r := &dynRange{cfg: rc, policy: pol, imp: d.comp.compile(pol), members: map[netip.Addr]*dynMember{},
				held: map[netip.Addr]time.Time{}}
			dy.ranges[name] = r
			d.publishDynamic()
			return r
		}
	}
	return nil
}

// established records a dynamic member the handler has added to the RIB (Run's goroutine).
func (d *Daemon) dynEstablished(m *dynMember, name string, asn uint32) {
	if m.r.members[m.addr] != m {
		return // removed meanwhile; removeDynamic saw the name under the handler's lock
	}
	m.name, m.asn = name, asn
	m.timer.Stop()
	m.r.sessions.Add(1)
	d.publishDynamic()
}

// removeDynamic removes a dynamic member: its speaker peer (Cease/Peer De-configured if still
// connected) and its RIB member. Run's goroutine.
func (d *Daemon) removeDynamic(m *dynMember, why string) {
	if m.r.members[m.addr] != m {
		return
	}
	delete(m.r.members, m.addr)
	m.timer.Stop()
	if m.name != "" {
		m.r.sessions.Add(-1)
	}
	name := m.h.close()
	d.sp.RemovePeer(m.peer)
	if name != "" {
		ctx, cancel := context.WithTimeout(context.Background(), ribTimeout)
		if err := d.rib.RemoveMember(ctx, name); err != nil {
			d.log.Error("dynamic member: remove from the RIB", "member", name, "err", err)
		}
		cancel()
	}
	d.log.Info("dynamic member removed", "range", m.r.cfg.Name, "neighbor", m.addr.String(), "member", name, "why", why)
	d.publishDynamic()
}

// reloadRanges applies a new configuration's ranges (Run's goroutine, from apply): a range that
// is gone or changed loses its dynamic members, which are accepted again under the new settings
// when they reconnect; so does a dynamic member whose address is now a [[member]]'s.
func (d *Daemon) reloadRanges() {
	dy := d.dyn()
	static := map[netip.Addr]bool{}
	for _, m := range d.cfg.Members {
		for _, a := range m.Neighbors {
			static[a] = true
		}
	}
	for name, r := range dy.ranges {
		keep := false
		for i := range d.cfg.MemberRanges {
			if d.cfg.MemberRanges[i].Name == name && reflect.DeepEqual(d.cfg.MemberRanges[i], r.cfg) &&
				reflect.DeepEqual(d.cfg.RangePolicy(i), r.policy) {
				keep = true
			}
		}
		for _, m := range r.members {
			if !keep {
				d.removeDynamic(m, "member_range changed")
			} else if static[m.addr] {
				d.removeDynamic(m, "now a [[member]]")
			}
		}
		if !keep {
			delete(dy.ranges, name)
		}
	}
	d.publishDynamic()
}

// dynMaxPrefix acts on a max-prefix event of a dynamic member: the session is closed and the
// address refused until max_prefix_restart_after (restart) or the next reload that changes the
// range (shutdown). Reports whether e was a dynamic member's. Run's goroutine.
func (d *Daemon) dynMaxPrefix(e rs.MaxPrefixEvent) bool {
	for _, r := range d.dyn().ranges {
		m := r.members[e.Peer.Addr()]
		if m == nil || m.h.peer() != e.Peer {
			continue
		}
		until := time.Time{}
		if e.Action == rs.MaxPrefixRestart {
			until = time.Now().Add(r.policy.MaxPrefixRestartAfter)
		}
		r.held[m.addr] = until
		n := e.Notification
		m.peer.Stop(&n) // Down then removes the member
		d.log.Warn("max-prefix: dynamic member closed", "member", m.name, "neighbor", m.addr.String(),
			"afi", e.Family.String(), "limit", e.Limit, "refused_until", until)
		return true
	}
	return false
}

func (d *Daemon) publishDynamic() {
	dy := &d.dynamic
	p := &dynPublished{descr: map[string]string{}}
	for _, r := range dy.ranges {
		p.ranges = append(p.ranges, r)
		for _, m := range r.members {
			if m.name != "" {
				p.descr[m.name] = dynDescription(&r.cfg)
			}
		}
	}
	dy.pub.Store(p)
}

func dynDescription(rc *config.MemberRange) string {
	if rc.Description == "" {
		return "dynamic (" + rc.Name + ")"
	}
	return "dynamic (" + rc.Name + "): " + rc.Description
}

// dynamicDescriptions adds the dynamic members' looking-glass descriptions to descr.
func (d *Daemon) dynamicDescriptions(descr map[string]string) {
	if p := d.dynamic.pub.Load(); p != nil {
		for n, s := range p.descr {
			descr[n] = s
		}
	}
}

// dynamicMetrics returns the connection counters for a metrics snapshot.
func (d *Daemon) dynamicMetrics(cfg *config.Config) metrics.Connections {
	c := metrics.Connections{Refused: d.sp.Refused()}
	if cfg == nil {
		return c
	}
	byName := map[string]*dynRange{}
	if p := d.dynamic.pub.Load(); p != nil {
		for _, r := range p.ranges {
			byName[r.cfg.Name] = r
		}
	}
	for _, rc := range cfg.MemberRanges {
		mr := metrics.Range{Name: rc.Name, Limit: rc.MaxSessions}
		if r := byName[rc.Name]; r != nil {
			mr.Sessions, mr.Refused = int(r.sessions.Load()), r.refused.Load()
			c.Refused += mr.Refused
		}
		c.Ranges = append(c.Ranges, mr)
	}
	return c
}

// dynHandler connects a dynamic neighbor's session to the RIB member it gets once Established.
type dynHandler struct {
	d   *Daemon
	m   *dynMember
	rc  config.MemberRange
	rmc rs.MemberConfig // Name and ASN filled in when the OPEN has told the AS
	log *slog.Logger

	mu     sync.Mutex
	closed bool
	name   string
	rp     atomic.Pointer[rs.Peer]
	upd    *updateSource // the session in the MRT update log
}

// close stops the handler from adding anything more to the RIB and returns the name of the RIB
// member it added ("" if none).
func (h *dynHandler) close() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	return h.name
}

func (h *dynHandler) peer() *rs.Peer { return h.rp.Load() }

func (h *dynHandler) Established(p *speaker.Peer, o *speaker.Open) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.name != "" {
		return
	}
	asn := o.ASN()
	name := h.rc.MemberName(p.Addr(), asn)
	ctx, cancel := context.WithTimeout(context.Background(), ribTimeout)
	defer cancel()
	rmc := h.rmc
	rmc.Name, rmc.ASN = name, asn
	if err := h.d.rib.AddMember(ctx, rmc); err != nil {
		h.log.Error("dynamic member: add to the RIB", "member", name, "err", err)
		n := speaker.Notification{Code: speaker.ErrCease, Subcode: speaker.SubOutOfResources}
		go p.Stop(&n) // not from the peer's goroutine itself: its event queue may be full
		return
	}
	h.name = name
	rp, err := h.d.rib.AddPeer(ctx, name, p.Addr())
	if err != nil {
		h.log.Error("dynamic member: add session to the RIB", "member", name, "err", err)
		n := speaker.Notification{Code: speaker.ErrCease, Subcode: speaker.SubOutOfResources}
		go p.Stop(&n)
		return
	}
	h.rp.Store(rp)
	enc, _ := p.EncodeOptions()
	sent, received := p.OpenMessages()
	local, remote := p.ConnAddrs()
	info := rs.SessionInfo{RouterID: o.RouterID, Families: p.Families(), Encode: enc, OpenSent: sent, OpenReceived: received,
		EnhancedRouteRefresh: o.Caps.EnhancedRouteRefresh, Local: local, Remote: remote}
	h.upd.established(p, name, asn, enc.FourOctetAS)
	if err := rp.Up(p, info); err != nil {
		h.log.Error("dynamic member: session up", "member", name, "err", err)
	}
	h.log.Info("dynamic member established", "member", name, "asn", asn)
	m := h.m
	h.d.post(func() { h.d.dynEstablished(m, name, asn) })
}

func (h *dynHandler) Update(_ *speaker.Peer, u *speaker.Update, _ *speaker.UpdateError) {
	if rp := h.rp.Load(); rp != nil {
		rp.Receive(u)
	}
}

func (h *dynHandler) RouteRefresh(_ *speaker.Peer, rr speaker.RouteRefresh) {
	if rp := h.rp.Load(); rp != nil {
		rp.RefreshMessage(rr)
	}
}

// Notification removes a neighbor that is refused before it is Established (its OPEN named an AS
// the range does not allow, say): it must not hold a slot of the range until dynamicSetup.
func (h *dynHandler) Notification(_ *speaker.Peer, n speaker.Notification, sent bool) {
	if h.rp.Load() != nil {
		return // established: Down removes it
	}
	m := h.m
	h.d.post(func() { h.d.removeDynamic(m, "refused before Established: "+n.String()) })
}

// Down withdraws the member's routes at once and has Run's goroutine remove the member: it comes
// back, under the configuration then in force, when it connects again.
func (h *dynHandler) Down(_ *speaker.Peer, err error) {
	h.upd.down()
	why := "session closed"
	if err != nil {
		why = err.Error()
	}
	if rp := h.rp.Load(); rp != nil {
		rp.DownWithReason(why)
	}
	m := h.m
	h.d.post(func() { h.d.removeDynamic(m, why) })
}

// Drained is called by the speaker's writer when the member's output buffer is empty.
func (h *dynHandler) Drained(*speaker.Peer) {
	if rp := h.rp.Load(); rp != nil {
		rp.Drained()
	}
}

var _ speaker.Drainer = (*dynHandler)(nil)

// dynamicAdmin returns the administrative state of the dynamic members established, by range and
// name, for AdminStatus. Run's goroutine.
func (d *Daemon) dynamicAdmin() []MemberAdmin {
	var out []MemberAdmin
	for _, rname := range sortedKeys(d.dyn().ranges) {
		r := d.dynamic.ranges[rname]
		var ms []MemberAdmin
		for _, m := range r.members {
			if m.name == "" {
				continue // not established: not a member yet
			}
			ms = append(ms, MemberAdmin{Member: m.name, ASN: m.asn, Dynamic: true, Range: rname,
				Sessions: []SessionAdmin{{Neighbor: m.addr.String(), State: m.peer.State().String()}}})
		}
		slices.SortFunc(ms, func(a, b MemberAdmin) int { return strings.Compare(a.Member, b.Member) })
		out = append(out, ms...)
	}
	return out
}
