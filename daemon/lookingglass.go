package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/lookingglass"
	"github.com/ixrs/ixrs/metrics"
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rs"
	"github.com/ixrs/ixrs/speaker"
)

// The daemon as the looking glass's Backend. Every route and session answer comes from the RIB's
// read jobs (paged, budgeted, copies and codes only), waited for with the request's max_concurrent
// slot given back (lookingglass.Yield); session states from the speaker's per-peer
// counters; the configuration in force from what Run's goroutine publishes. Nothing here waits on
// Run's goroutine, so the looking glass answers during a long reload.

// published is what Run's goroutine publishes for the read side.
type published struct {
	cfg        atomic.Pointer[config.Config]
	lastReload atomic.Int64 // unix nanoseconds of the last successful reload; 0: none
	// lgTimes reads the looking glass's request durations for the metrics (SetLookingGlassTimes).
	lgTimes atomic.Pointer[func() []lookingglass.RequestDurations]
}

// SetLookingGlassTimes makes the metrics report the request durations f returns (the looking
// glass's RequestDurations) as ixrs_lookingglass_request_duration_seconds. f must be safe for any
// goroutine. Call it once the looking glass is built; before, the metrics report none.
func (d *Daemon) SetLookingGlassTimes(f func() []lookingglass.RequestDurations) {
	d.pub.lgTimes.Store(&f)
}

// lgDurations converts the looking glass's request durations for the metrics.
func (d *Daemon) lgDurations() []metrics.Endpoint {
	f := d.pub.lgTimes.Load()
	if f == nil {
		return nil
	}
	rds := (*f)()
	out := make([]metrics.Endpoint, 0, len(rds))
	for _, rd := range rds {
		out = append(out, metrics.Endpoint{Name: rd.Endpoint,
			Durations: metrics.PhaseHistogram{Bounds: lookingglass.DurationBounds, Counts: rd.Counts, Sum: rd.Sum}})
	}
	return out
}

func (d *Daemon) publish() {
	d.pub.cfg.Store(d.cfg)
}

// Current returns the configuration in force (nil before Run). The caller must not modify it.
func (d *Daemon) Current() *config.Config { return d.pub.cfg.Load() }

// LookingGlass returns the route server as a lookingglass.Backend.
func (d *Daemon) LookingGlass() lookingglass.Backend { return lgBackend{d} }

type lgBackend struct{ d *Daemon }

func (b lgBackend) ready() bool {
	select {
	case <-b.d.ready:
		return true
	default:
		return false
	}
}

// Status implements lookingglass.Backend.
func (b lgBackend) Status(ctx context.Context) (lookingglass.Status, error) {
	d := b.d
	st := lookingglass.Status{Version: d.opts.Version, Ready: b.ready(), StartTime: d.started}
	if cfg := d.pub.cfg.Load(); cfg != nil {
		st.Name, st.ASN, st.RouterID = cfg.LookingGlass.Name, cfg.Server.ASN, cfg.Server.RouterID
	}
	if n := d.pub.lastReload.Load(); n != 0 {
		st.LastReconfig = time.Unix(0, n)
	}
	if rst, err := d.rib.Stats(ctx); err == nil {
		st.Prefixes = rst.Prefixes
	}
	rp := d.RPKIStatus()
	st.RPKI.Source = rp.Source
	st.RPKI.VRPsIPv4, st.RPKI.VRPsIPv6, st.RPKI.ASPAs, st.RPKI.LastUpdate = rp.VRPsIPv4, rp.VRPsIPv6, rp.ASPAs, rp.Updated
	for _, c := range rp.Caches {
		st.RPKI.Caches = append(st.RPKI.Caches, lookingglass.RPKICache{Address: c.Address, Up: c.InSync && !c.Expired, Serial: c.Serial})
	}
	return st, nil
}

// Sessions implements lookingglass.Backend.
func (b lgBackend) Sessions(ctx context.Context) ([]lookingglass.Session, error) {
	if !b.ready() {
		return nil, lookingglass.ErrNotReady
	}
	d := b.d
	ss, err := d.rib.Sessions(ctx)
	if err != nil {
		return nil, lgErr(err)
	}
	descr := map[string]string{}
	if cfg := d.pub.cfg.Load(); cfg != nil {
		for _, m := range cfg.Members {
			descr[m.Name] = m.Description
		}
	}
	d.dynamicDescriptions(descr)
	peers := map[netip.Addr]*speaker.Peer{}
	for _, p := range d.sp.Peers() {
		peers[p.Addr()] = p
	}
	out := make([]lookingglass.Session, 0, len(ss))
	for i := range ss {
		out = append(out, lgSession(&ss[i], peers[ss[i].Neighbor], descr[ss[i].Member]))
	}
	return out, nil
}

func lgSession(s *rs.SessionStatus, p *speaker.Peer, descr string) lookingglass.Session {
	ls := lookingglass.Session{Member: s.Member, ASN: s.ASN, Description: descr, Neighbor: s.Neighbor, State: "idle"}
	if s.Up {
		ls.Since = s.Since
	} else {
		ls.Since = s.LastDown
	}
	ls.LastError = s.LastDownReason
	if p != nil {
		st := p.Stats()
		ls.State = strings.ToLower(st.State.String())
		if st.LastError != "" {
			ls.LastError = st.LastError
		}
		ls.Flaps = st.Flaps
		if st.LastSent.Code != 0 {
			ls.LastNotificationSent = st.LastSent.String()
		}
		if st.LastReceived.Code != 0 {
			ls.LastNotificationReceived = st.LastReceived.String()
		}
		if st.State == speaker.StateEstablished && st.Remote != nil {
			ls.RouterID = st.Remote.RouterID
			ls.HoldTime = int(min(st.Remote.HoldTime, uint16(p.Config().HoldTime/time.Second)))
			if p.Config().NoHoldTime || st.Remote.HoldTime == 0 {
				ls.HoldTime = 0
			}
			ls.Capabilities = capabilityWords(&st.Remote.Caps, p.AddPathSend())
		}
	}
	for _, f := range s.Families {
		ls.Families = append(ls.Families, lookingglass.FamilyCounts{
			Family: afi(f.Family), Received: f.Received, Accepted: f.Accepted, Filtered: f.Filtered,
			Exported: f.Exported, Preferred: f.Preferred, MaxPrefix: f.MaxPrefix,
		})
	}
	return ls
}

// capabilityWords names what the member's OPEN offered that the route server uses, and the families
// the route server sends every path for (ADD-PATH negotiated, rs/addpath.go).
func capabilityWords(c *speaker.Capabilities, addPathSend []speaker.Family) []string {
	var out []string
	for _, f := range c.Families {
		out = append(out, "multiprotocol "+afi(f))
	}
	if c.FourOctetAS {
		out = append(out, "4-octet AS")
	}
	if c.RouteRefresh {
		out = append(out, "route refresh")
	}
	if c.EnhancedRouteRefresh {
		out = append(out, "enhanced route refresh")
	}
	if c.ExtendedMessage {
		out = append(out, "extended messages")
	}
	if c.GracefulRestart != nil {
		out = append(out, "graceful restart")
	}
	for _, f := range c.LongLivedGR {
		out = append(out, fmt.Sprintf("long-lived graceful restart %s (%d s)", afi(f.Family), f.StaleTime))
	}
	for _, f := range slices.Sorted(maps.Keys(c.AddPath)) {
		out = append(out, "ADD-PATH "+afi(f)+" "+addPathMode(c.AddPath[f]))
	}
	for _, f := range addPathSend {
		out = append(out, "ADD-PATH "+afi(f)+": all paths sent")
	}
	if c.HasRole {
		out = append(out, fmt.Sprintf("BGP role %d", c.Role))
	}
	return out
}

func afi(f speaker.Family) string {
	switch f {
	case speaker.IPv4Unicast:
		return "ipv4"
	case speaker.IPv6Unicast:
		return "ipv6"
	}
	return f.String()
}

func family(s string) speaker.Family {
	switch s {
	case "ipv4":
		return speaker.IPv4Unicast
	case "ipv6":
		return speaker.IPv6Unicast
	}
	return 0
}

var viewOf = map[lookingglass.View]rs.View{
	lookingglass.ViewReceived: rs.ViewReceived, lookingglass.ViewAccepted: rs.ViewAccepted,
	lookingglass.ViewFiltered: rs.ViewFiltered, lookingglass.ViewExported: rs.ViewExported,
	lookingglass.ViewNotExported: rs.ViewNotExported,
}

func cursor(s string) (rs.Cursor, error) {
	var c rs.Cursor
	if err := c.UnmarshalText([]byte(s)); err != nil {
		return c, lookingglass.ErrStaleCursor
	}
	return c, nil
}

func cursorText(c rs.Cursor, more bool) string {
	if !more {
		return ""
	}
	t, _ := c.MarshalText()
	return string(t)
}

// Routes implements lookingglass.Backend.
func (b lgBackend) Routes(ctx context.Context, q lookingglass.RoutesQuery) (lookingglass.RoutePage, error) {
	if !b.ready() {
		return lookingglass.RoutePage{}, lookingglass.ErrNotReady
	}
	v, ok := viewOf[q.View]
	if !ok {
		return lookingglass.RoutePage{}, fmt.Errorf("view %q", q.View)
	}
	after, err := cursor(q.Cursor)
	if err != nil {
		return lookingglass.RoutePage{}, err
	}
	out := lookingglass.RoutePage{Total: -1, Routes: q.Buf[:0]}
	if out.Routes == nil {
		out.Routes = make([]lookingglass.Route, 0, min(max(q.Limit, 0), 1000))
	}
	buf := getRIBPage(q.Limit)
	// The RIB's not-exported view also lists candidates passed over only because a better route is
	// sent; the looking glass's does not, so a page may need several read jobs to fill (bounded).
	for range notExportedReads {
		resume := lookingglass.Yield(ctx)
		pg, err := b.d.rib.Routes(ctx, rs.RoutesQuery{Neighbor: q.Neighbor, View: v, Family: family(q.Family), After: after,
			Limit: q.Limit - len(out.Routes), Buf: *buf})
		resume()
		if err != nil {
			return lookingglass.RoutePage{}, lgErr(err) // buf is not reused: the read job may still hold it
		}
		if out.Generation == 0 {
			out.Generation = pg.Gen
		}
		for i := range pg.Routes {
			r := &pg.Routes[i]
			if v == rs.ViewNotExported && (r.Export == rs.ExportNotBest || r.Export == rs.ExportOK) {
				continue
			}
			out.Routes = appendLGRoute(out.Routes, r)
		}
		*buf = pg.Routes
		out.Next = cursorText(pg.Cursor, pg.More)
		after = pg.Cursor
		if !pg.More || len(out.Routes) >= q.Limit || v != rs.ViewNotExported {
			break
		}
	}
	putRIBPage(buf)
	out.Partial = out.Next != "" && len(out.Routes) < q.Limit
	return out, nil
}

// notExportedReads bounds the read jobs behind one page of the not-exported view.
const notExportedReads = 16

// Lookup implements lookingglass.Backend.
func (b lgBackend) Lookup(ctx context.Context, q lookingglass.LookupQuery) (lookingglass.RoutePage, error) {
	if !b.ready() {
		return lookingglass.RoutePage{}, lookingglass.ErrNotReady
	}
	after, err := cursor(q.Cursor)
	if err != nil {
		return lookingglass.RoutePage{}, err
	}
	m := rs.MatchExact
	switch q.Match {
	case lookingglass.MatchLongest:
		m = rs.MatchLongest
	case lookingglass.MatchMoreSpecific:
		m = rs.MatchOrLonger
	}
	resume := lookingglass.Yield(ctx)
	pg, err := b.d.rib.Lookup(ctx, rs.LookupQuery{Prefix: q.Prefix, Match: m, After: after, Limit: q.Limit})
	resume()
	if err != nil {
		return lookingglass.RoutePage{}, lgErr(err)
	}
	out := lookingglass.RoutePage{Next: cursorText(pg.Cursor, pg.More), Generation: pg.Gen, Total: -1, Routes: q.Buf[:0]}
	for _, pr := range pg.Prefixes {
		best := true
		for i := range pr.Routes {
			out.Routes = appendLGRoute(out.Routes, &pr.Routes[i])
			if r := &out.Routes[len(out.Routes)-1]; r.Accepted() {
				r.Best, best = best, false
			}
		}
	}
	out.Partial = pg.More && len(pg.Prefixes) < q.Limit
	return out, nil
}

// Search implements lookingglass.Backend.
func (b lgBackend) Search(ctx context.Context, q lookingglass.SearchQuery) (lookingglass.RoutePage, error) {
	if !b.ready() {
		return lookingglass.RoutePage{}, lookingglass.ErrNotReady
	}
	after, err := cursor(q.Cursor)
	if err != nil {
		return lookingglass.RoutePage{}, err
	}
	buf := getRIBPage(q.Limit)
	sq := rs.SearchQuery{Family: family(q.Family), After: after, Limit: q.Limit, Buf: *buf}
	switch q.Kind {
	case lookingglass.SearchOrigin:
		sq.Origin = q.ASN
	case lookingglass.SearchASN:
		sq.ASN = q.ASN
	case lookingglass.SearchASPath:
		pat := q.ASPath
		if pat == nil {
			return lookingglass.RoutePage{}, errors.New("search: no AS-path pattern")
		}
		var flat []uint32 // Path runs on the RIB loop, one call at a time
		var text []byte
		sq.Path = func(p speaker.ASPath) bool {
			flat, _ = flattenTo(flat[:0], p)
			return pat.MatchBuf(flat, &text)
		}
		// The ASes a pattern requires ("_3356_", "^64501_.*_3356$") let the RIB read only the
		// routes that carry one of them (its AS index); Path still decides.
		sq.PathASNs = pat.ASNs()
	case lookingglass.SearchCommunity:
		sq.Communities = []uint32{uint32(q.Community)}
	case lookingglass.SearchLarge:
		sq.LargeCommunities = []speaker.LargeCommunity{{Global: q.Large.Global, Local1: q.Large.Local1, Local2: q.Large.Local2}}
	case lookingglass.SearchExt:
		sq.ExtCommunities = []uint64{uint64(q.Ext)}
	case lookingglass.SearchNextHop:
		sq.NextHop = q.NextHop
	default:
		return lookingglass.RoutePage{}, fmt.Errorf("search: kind %q", q.Kind)
	}
	resume := lookingglass.Yield(ctx)
	pg, err := b.d.rib.Search(ctx, sq)
	resume()
	if err != nil {
		return lookingglass.RoutePage{}, lgErr(err)
	}
	out := lookingglass.RoutePage{Next: cursorText(pg.Cursor, pg.More), Generation: pg.Gen, Total: -1, Routes: q.Buf[:0]}
	if out.Routes == nil {
		out.Routes = make([]lookingglass.Route, 0, len(pg.Routes))
	}
	out.Partial = pg.More && len(pg.Routes) < q.Limit
	for i := range pg.Routes {
		out.Routes = appendLGRoute(out.Routes, &pg.Routes[i])
		// The definition every backend follows (next hop per family, origin without AS_SET).
		if !q.Matches(&out.Routes[len(out.Routes)-1]) {
			out.Routes = out.Routes[:len(out.Routes)-1]
		}
	}
	*buf = pg.Routes
	putRIBPage(buf)
	return out, nil
}

// Explain implements lookingglass.Backend.
func (b lgBackend) Explain(ctx context.Context, neighbor netip.Addr, prefix netip.Prefix) (lookingglass.RouteDetail, error) {
	if !b.ready() {
		return lookingglass.RouteDetail{}, lookingglass.ErrNotReady
	}
	resume := lookingglass.Yield(ctx)
	ex, err := b.d.rib.ExplainRoute(ctx, neighbor, prefix)
	resume()
	if err != nil {
		return lookingglass.RouteDetail{}, lgErr(err)
	}
	det := lookingglass.RouteDetail{Route: lgRoute(&ex.Route)}
	det.Route.Best = ex.Rank == 0
	for _, c := range ex.Checks {
		det.Checks = append(det.Checks, lookingglass.Check{Step: c.Step, Name: c.Name, Outcome: c.Outcome.String(),
			Reason: int(c.Reason), Detail: c.Detail})
	}
	resume = lookingglass.Yield(ctx)
	info, ok, err := b.d.rib.Prefix(ctx, prefix)
	resume()
	if err != nil {
		return lookingglass.RouteDetail{}, lgErr(err)
	}
	if !ok {
		return det, nil
	}
	idx := -1
	for i := range info.Routes {
		if info.Routes[i].Neighbor == neighbor {
			idx = i
		}
	}
	for i := range info.Exports {
		me := &info.Exports[i]
		ed := lookingglass.ExportDecision{Member: me.Member, ASN: me.ASN, Neighbor: me.Neighbor,
			Exported: idx >= 0 && me.Route == idx, Explain: info.Explain(i)}
		if idx >= 0 && idx < len(me.Checks) {
			ed.Reason = notExported(me.Checks[idx])
		}
		det.Exports = append(det.Exports, ed)
	}
	return det, nil
}

// lgRoute converts a route of a read job.
func lgRoute(r *rs.Route) lookingglass.Route {
	var out lookingglass.Route
	lgRouteTo(&out, r)
	return out
}

// appendLGRoute appends the conversion of r to dst. Within dst's capacity (a buffer the looking
// glass reuses, lookingglass.Page.Buf) the element it overwrites lends its slices.
func appendLGRoute(dst []lookingglass.Route, r *rs.Route) []lookingglass.Route {
	if n := len(dst); n < cap(dst) {
		dst = dst[:n+1]
	} else {
		dst = append(dst, lookingglass.Route{})
	}
	lgRouteTo(&dst[len(dst)-1], r)
	return dst
}

// lgRouteTo converts r into *out, reusing the slices *out holds.
func lgRouteTo(out *lookingglass.Route, r *rs.Route) {
	old := *out
	*out = lookingglass.Route{Prefix: r.Prefix, Member: r.Member, ASN: r.ASN, Neighbor: r.Neighbor,
		LocalPref: r.LocalPref, Since: r.Since, NotExported: notExported(r.Export), PathID: r.PathID}
	if r.Since.Unix() <= 0 {
		out.Since = time.Time{}
	}
	out.Reasons = old.Reasons[:0]
	for _, x := range r.Reasons.List() {
		out.Reasons = append(out.Reasons, int(x))
	}
	out.RPKI = rpkiWord(r.Info.RPKI())
	out.IRRPrefix, out.IRROrigin = irrWord(r.Info.IRRPrefix()), irrWord(r.Info.IRROrigin())
	a := r.Attrs
	if a == nil {
		return
	}
	out.ASPath, out.ASSet = flattenTo(old.ASPath[:0], a.ASPath)
	out.NextHop = a.NextHop
	if r.Prefix.Addr().Is6() || !a.NextHop.IsValid() {
		out.NextHop = a.MPNextHop
	}
	out.MED, out.HasMED = a.MED, a.HasMED
	out.Origin = [...]string{"igp", "egp", "incomplete", "incomplete"}[a.Origin&3]
	out.Communities = old.Communities[:0]
	for _, c := range a.Communities {
		out.Communities = append(out.Communities, lookingglass.Community(c))
	}
	out.ExtCommunities = old.ExtCommunities[:0]
	for _, c := range a.ExtCommunities {
		out.ExtCommunities = append(out.ExtCommunities, lookingglass.ExtCommunity(c))
	}
	out.LargeCommunities = old.LargeCommunities[:0]
	for _, c := range a.LargeCommunities {
		out.LargeCommunities = append(out.LargeCommunities, lookingglass.LargeCommunity{Global: c.Global, Local1: c.Local1, Local2: c.Local2})
	}
	if a.HasOTC {
		out.OTC = a.OTC
	}
}

// flattenTo appends the AS numbers of p to dst, left to right, and reports whether p holds a set.
func flattenTo(dst []uint32, p speaker.ASPath) ([]uint32, bool) {
	set := false
	for _, seg := range p {
		if seg.Type == speaker.SegSet || seg.Type == speaker.SegConfedSet {
			set = true
		}
		dst = append(dst, seg.ASNs...)
	}
	return dst, set
}

// ribPages holds the RIB page buffers (rs.RoutesQuery.Buf) of looking-glass requests: a page's
// routes are copied out of the read job's result and the buffer is free again.
var ribPages = sync.Pool{New: func() any { return new([]rs.Route) }}

// getRIBPage returns a buffer with room for limit routes.
func getRIBPage(limit int) *[]rs.Route {
	b := ribPages.Get().(*[]rs.Route)
	if cap(*b) < limit {
		*b = make([]rs.Route, 0, min(max(limit, 0), rs.MaxPage))
	}
	return b
}

// putRIBPage gives b back, once nothing holds its routes: never after a read that failed, whose
// job may still be filling it.
func putRIBPage(b *[]rs.Route) {
	clear((*b)[:cap(*b)]) // the attributes its routes point to are the RIB's
	*b = (*b)[:0]
	ribPages.Put(b)
}

func rpkiWord(s policy.RPKIState) string {
	switch s {
	case policy.RPKIValid:
		return "valid"
	case policy.RPKINotFound:
		return "not-found"
	case policy.RPKIInvalidState:
		return "invalid"
	}
	return "not-checked"
}

func irrWord(s policy.IRRState) string {
	switch s {
	case policy.IRRIn:
		return "in"
	case policy.IRRNotIn:
		return "not-in"
	}
	return "not-checked"
}

// notExported maps an export check to the looking glass's not-exported reason (0: none).
func notExported(c rs.ExportCheck) int {
	switch c {
	case rs.ExportDenied:
		return int(lookingglass.NotExportedDenied)
	case rs.ExportDeniedAll:
		return int(lookingglass.NotExportedDeniedAll)
	case rs.ExportReceiverAS:
		return int(lookingglass.NotExportedReceiverAS)
	case rs.ExportRSASInPath:
		return int(lookingglass.NotExportedRouteServerAS)
	case rs.ExportFamily:
		return int(lookingglass.NotExportedFamily)
	case rs.ExportOwnRoute:
		return int(lookingglass.NotExportedOwnRoute)
	case rs.ExportLLGRStale:
		return int(lookingglass.NotExportedLLGRStale)
	}
	return 0
}

// lgErr maps the RIB's errors to the looking glass's.
func lgErr(err error) error {
	switch {
	case errors.Is(err, rs.ErrUnknownPeer):
		return fmt.Errorf("%w: %v", lookingglass.ErrUnknownNeighbor, err)
	case errors.Is(err, rs.ErrNoRoute):
		return fmt.Errorf("%w: %v", lookingglass.ErrNoRoute, err)
	case errors.Is(err, rs.ErrCursorStale), errors.Is(err, rs.ErrBadCursor):
		return fmt.Errorf("%w: %v", lookingglass.ErrStaleCursor, err)
	case errors.Is(err, rs.ErrStopped):
		return fmt.Errorf("%w: %v", lookingglass.ErrNotReady, err)
	}
	return err
}
