package daemon

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/speaker"
)

// Packet tracing (docs/admin.md): a member's sessions can log every message of chosen types, sent
// and received, decoded on one structured line each, optionally with its bytes in hex. The speaker
// calls the tracer from the session's reader and writer goroutines (speaker.Peer.SetTrace); the
// tracer decodes only what its member's rate limiter lets through, so a busy member costs a token
// check per message and its log stays bounded.

// TraceSpec is a member's packet tracing: which message types, and whether with their bytes.
type TraceSpec struct {
	Types []string `json:"types"` // config.TraceTypes names, in that order; empty: off
	Raw   bool     `json:"raw"`
}

// On reports whether anything is traced.
func (t TraceSpec) On() bool { return len(t.Types) > 0 }

// parseTraceTypes turns type names ("all" included) into a speaker set, and back into the
// canonical list of names. An unknown name is an error.
func parseTraceTypes(names []string) (speaker.TraceTypes, []string, error) {
	var set speaker.TraceTypes
	for _, n := range names {
		if n == "all" {
			set |= speaker.TraceAll
			continue
		}
		i := slices.Index(config.TraceTypes, n)
		if i < 0 {
			return 0, nil, fmt.Errorf("%w: unknown message type %q (one of %v or all)", ErrBadTrace, n, config.TraceTypes)
		}
		set |= 1 << (i + 1) // config.TraceTypes is in message type order, OPEN = 1
	}
	var canon []string
	for i, n := range config.TraceTypes {
		if set.Has(uint8(i + 1)) {
			canon = append(canon, n)
		}
	}
	return set, canon, nil
}

// configTrace is the trace member mc's configuration asks for. The configuration is validated, so
// its names are known.
func configTrace(mc config.Member) TraceSpec {
	_, canon, _ := parseTraceTypes(mc.Trace)
	if len(canon) == 0 {
		return TraceSpec{}
	}
	return TraceSpec{Types: canon, Raw: mc.TraceRaw}
}

// tracer logs one member's traced messages, for all of its sessions.
type tracer struct {
	log        *slog.Logger
	raw        bool
	lim        *rate.Limiter
	suppressed atomic.Uint64
}

func newTracer(log *slog.Logger, lim config.Tracing, raw bool) *tracer {
	return &tracer{log: log, raw: raw, lim: rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst)}
}

// maxTracePrefixes bounds the prefixes listed per line for each of announced and withdrawn.
const maxTracePrefixes = 16

// trace is the speaker.TraceFunc. It runs on a session's reader or writer goroutine; msg is valid
// only during the call and is not kept (hex and the decoders copy).
func (t *tracer) trace(p *speaker.Peer, dir speaker.Direction, typ uint8, msg []byte) {
	if !t.lim.Allow() {
		t.suppressed.Add(1)
		return
	}
	attrs := make([]slog.Attr, 0, 24)
	attrs = append(attrs, slog.String("neighbor", p.Addr().String()), slog.String("dir", dir.String()),
		slog.String("type", traceTypeName(typ)), slog.Int("len", len(msg)))
	if n := t.suppressed.Swap(0); n > 0 {
		attrs = append(attrs, slog.Uint64("suppressed", n))
	}
	attrs = appendDecoded(attrs, p, typ, msg)
	if t.raw {
		attrs = append(attrs, slog.String("raw", hex.EncodeToString(msg)))
	}
	t.log.LogAttrs(context.Background(), slog.LevelInfo, "bgp message", attrs...)
}

func traceTypeName(typ uint8) string {
	if typ >= 1 && int(typ) <= len(config.TraceTypes) {
		return config.TraceTypes[typ-1]
	}
	return "type-" + strconv.Itoa(int(typ))
}

// appendDecoded adds the fields of one message, whole (header included), to attrs. A message that
// does not decode gets an error field instead: the trace shows what was on the wire either way.
func appendDecoded(attrs []slog.Attr, p *speaker.Peer, typ uint8, msg []byte) []slog.Attr {
	if len(msg) < speaker.HeaderLen {
		return append(attrs, slog.String("error", "shorter than a header"))
	}
	body := msg[speaker.HeaderLen:]
	switch typ {
	case speaker.MsgOpen:
		o, n := speaker.DecodeOpen(body)
		if n != nil {
			return append(attrs, slog.String("error", n.String()))
		}
		return append(attrs, slog.Uint64("open_asn", uint64(o.ASN())), slog.Int("hold_time", int(o.HoldTime)),
			slog.String("router_id", o.RouterID.String()), slog.Any("capabilities", capabilityNames(&o.Caps)))
	case speaker.MsgUpdate:
		opt, _ := p.EncodeOptions()
		u, uerr := speaker.DecodeUpdate(body, speaker.DecodeOptions{FourOctetAS: opt.FourOctetAS})
		if uerr != nil {
			attrs = append(attrs, slog.String("error", uerr.Error()))
		}
		if u == nil {
			return attrs
		}
		return appendUpdate(attrs, u)
	case speaker.MsgNotification:
		n := speaker.DecodeNotification(body)
		attrs = append(attrs, slog.Int("code", int(n.Code)), slog.Int("subcode", int(n.Subcode)), slog.String("text", n.String()))
		if len(n.Data) > 0 {
			attrs = append(attrs, slog.Int("data_len", len(n.Data)))
		}
		return attrs
	case speaker.MsgRouteRefresh:
		if len(body) < 4 {
			return append(attrs, slog.String("error", "ROUTE-REFRESH shorter than 4 bytes"))
		}
		afi, sub, safi := binary.BigEndian.Uint16(body), body[2], body[3]
		return append(attrs, slog.Int("afi", int(afi)), slog.Int("safi", int(safi)),
			slog.String("family", speaker.NewFamily(afi, safi).String()), slog.String("subtype", refreshSubtype(sub)))
	}
	return attrs
}

func refreshSubtype(s uint8) string {
	switch s {
	case speaker.RefreshNormal:
		return "request"
	case speaker.RefreshBoRR:
		return "borr"
	case speaker.RefreshEoRR:
		return "eorr"
	}
	return "subtype-" + strconv.Itoa(int(s))
}

func appendUpdate(attrs []slog.Attr, u *speaker.Update) []slog.Attr {
	if u.EndOfRIB != 0 {
		return append(attrs, slog.String("end_of_rib", u.EndOfRIB.String()))
	}
	var fams []string
	for _, ps := range [][]netip.Prefix{u.NLRI, u.Withdrawn} {
		for _, pf := range ps {
			if f := speaker.FamilyOf(pf).String(); !slices.Contains(fams, f) {
				fams = append(fams, f)
			}
		}
	}
	attrs = append(attrs, slog.Any("families", fams))
	if len(u.NLRI) > 0 {
		attrs = append(attrs, slog.Int("announced_count", len(u.NLRI)), slog.Any("announced", prefixNames(u.NLRI)))
	}
	if len(u.Withdrawn) > 0 {
		attrs = append(attrs, slog.Int("withdrawn_count", len(u.Withdrawn)), slog.Any("withdrawn", prefixNames(u.Withdrawn)))
	}
	a := u.Attrs
	if a == nil {
		return attrs
	}
	attrs = append(attrs, slog.String("origin", originName(a.Origin)), slog.String("as_path", a.ASPath.String()))
	if a.NextHop.IsValid() {
		attrs = append(attrs, slog.String("next_hop", a.NextHop.String()))
	}
	if a.MPNextHop.IsValid() {
		nh := a.MPNextHop.String()
		if a.MPLinkLocal.IsValid() {
			nh += " " + a.MPLinkLocal.String()
		}
		attrs = append(attrs, slog.String("mp_next_hop", nh))
	}
	if a.HasMED {
		attrs = append(attrs, slog.Uint64("med", uint64(a.MED)))
	}
	if a.HasLocalPref {
		attrs = append(attrs, slog.Uint64("local_pref", uint64(a.LocalPref)))
	}
	if len(a.Communities) > 0 {
		cs := make([]string, len(a.Communities))
		for i, c := range a.Communities {
			cs[i] = fmt.Sprintf("%d:%d", c>>16, c&0xffff)
		}
		attrs = append(attrs, slog.Any("communities", cs))
	}
	if len(a.LargeCommunities) > 0 {
		cs := make([]string, len(a.LargeCommunities))
		for i, c := range a.LargeCommunities {
			cs[i] = c.String()
		}
		attrs = append(attrs, slog.Any("large_communities", cs))
	}
	if len(a.ExtCommunities) > 0 {
		cs := make([]string, len(a.ExtCommunities))
		for i, c := range a.ExtCommunities {
			cs[i] = fmt.Sprintf("%016x", c)
		}
		attrs = append(attrs, slog.Any("ext_communities", cs))
	}
	if a.HasOTC {
		attrs = append(attrs, slog.Uint64("otc", uint64(a.OTC)))
	}
	if a.AtomicAggregate {
		attrs = append(attrs, slog.Bool("atomic_aggregate", true))
	}
	if a.Aggregator != nil {
		attrs = append(attrs, slog.String("aggregator", fmt.Sprintf("%d %s", a.Aggregator.AS, a.Aggregator.Addr)))
	}
	if len(a.Other) > 0 {
		ts := make([]int, len(a.Other))
		for i, o := range a.Other {
			ts[i] = int(o.Type)
		}
		attrs = append(attrs, slog.Any("other_attrs", ts))
	}
	return attrs
}

// prefixNames lists at most maxTracePrefixes prefixes, then "+N more".
func prefixNames(ps []netip.Prefix) []string {
	n := min(len(ps), maxTracePrefixes)
	out := make([]string, n, n+1)
	for i := range n {
		out[i] = ps[i].String()
	}
	if len(ps) > n {
		out = append(out, fmt.Sprintf("+%d more", len(ps)-n))
	}
	return out
}

func originName(o uint8) string {
	switch o {
	case speaker.OriginIGP:
		return "igp"
	case speaker.OriginEGP:
		return "egp"
	case speaker.OriginIncomplete:
		return "incomplete"
	}
	return strconv.Itoa(int(o))
}

// capabilityNames lists an OPEN's capabilities, one short word each.
func capabilityNames(c *speaker.Capabilities) []string {
	var out []string
	for _, f := range c.Families {
		out = append(out, "mp:"+f.String())
	}
	if c.RouteRefresh {
		out = append(out, "route-refresh")
	}
	if c.EnhancedRouteRefresh {
		out = append(out, "enhanced-route-refresh")
	}
	if c.FourOctetAS {
		out = append(out, "4-octet-as:"+strconv.FormatUint(uint64(c.AS4), 10))
	}
	if c.ExtendedMessage {
		out = append(out, "extended-message")
	}
	if gr := c.GracefulRestart; gr != nil {
		s := fmt.Sprintf("graceful-restart:time=%d", gr.RestartTime)
		if gr.RestartState {
			s += ",restarting"
		}
		for _, f := range gr.Families {
			s += "," + f.Family.String()
			if f.ForwardingState {
				s += "(forwarding)"
			}
		}
		out = append(out, s)
	}
	if c.LongLivedGR != nil {
		s := "llgr"
		for _, f := range c.LongLivedGR {
			s += fmt.Sprintf(":%s=%d", f.Family, f.StaleTime)
			if f.ForwardingState {
				s += "(forwarding)"
			}
		}
		out = append(out, s)
	}
	for _, f := range sortedFamilies(c.AddPath) {
		out = append(out, fmt.Sprintf("add-path:%s:%s", f, addPathMode(c.AddPath[f])))
	}
	if c.HasRole {
		out = append(out, "role:"+roleName(c.Role))
	}
	for _, u := range c.Unknown {
		out = append(out, fmt.Sprintf("cap-%d:%x", u.Code, u.Value))
	}
	return out
}

func sortedFamilies(m map[speaker.Family]uint8) []speaker.Family {
	fs := make([]speaker.Family, 0, len(m))
	for f := range m {
		fs = append(fs, f)
	}
	slices.Sort(fs)
	return fs
}

func addPathMode(m uint8) string {
	switch m {
	case speaker.AddPathReceive:
		return "receive"
	case speaker.AddPathSend:
		return "send"
	case speaker.AddPathBoth:
		return "both"
	}
	return strconv.Itoa(int(m))
}

func roleName(r uint8) string {
	switch r {
	case speaker.RoleProvider:
		return "provider"
	case speaker.RoleRS:
		return "rs"
	case speaker.RoleRSClient:
		return "rs-client"
	case speaker.RoleCustomer:
		return "customer"
	case speaker.RolePeer:
		return "peer"
	}
	return strconv.Itoa(int(r))
}

var _ speaker.TraceFunc = (*tracer)(nil).trace

// ErrBadTrace refuses a SetTrace with an unknown message type.
var ErrBadTrace = errors.New("bad trace request")

// traceState is the daemon's packet tracing; Run's goroutine only.
type traceState struct {
	// run holds the settings made with SetTrace, by member name. One lasts until the next SetTrace
	// for the member, or a reload that changes the member's trace or trace_raw keys (or removes it):
	// whichever was changed last wins.
	run map[string]TraceSpec
	// on is each member's tracer in force, shared by its sessions.
	on map[string]*memberTrace
}

type memberTrace struct {
	spec  TraceSpec
	types speaker.TraceTypes
	t     *tracer
}

// effectiveTrace is what m traces: the run-time setting if there is one, else its configuration.
func (d *Daemon) effectiveTrace(m *member) TraceSpec {
	if ts, ok := d.trace.run[m.cfg.Name]; ok {
		return ts
	}
	return configTrace(m.cfg)
}

// memberTracer returns m's tracer for its effective setting: the one in force if the setting did
// not change (its rate limiter carries on), a new one otherwise.
func (d *Daemon) memberTracer(m *member) *memberTrace {
	name := m.cfg.Name
	spec := d.effectiveTrace(m)
	if mt := d.trace.on[name]; mt != nil && slices.Equal(mt.spec.Types, spec.Types) && mt.spec.Raw == spec.Raw {
		return mt
	}
	types, _, _ := parseTraceTypes(spec.Types)
	mt := &memberTrace{spec: spec, types: types}
	if spec.On() {
		lim := d.cfg.Tracing
		if lim.Rate <= 0 || lim.Burst < 1 {
			lim = config.DefaultTracing() // a configuration built in code
		}
		mt.t = newTracer(d.log.With("component", "trace", "member", name, "asn", m.cfg.ASN), lim, spec.Raw)
	}
	if d.trace.on == nil {
		d.trace.on = map[string]*memberTrace{}
	}
	d.trace.on[name] = mt
	return mt
}

// traceSession installs m's tracing on one of its speaker peers (a new or re-created session).
func (d *Daemon) traceSession(m *member, p *speaker.Peer) {
	mt := d.memberTracer(m)
	if mt.t == nil {
		p.SetTrace(0, nil)
		return
	}
	p.SetTrace(mt.types, mt.t.trace)
}

// installTrace applies m's effective tracing to all of its sessions, without touching them otherwise.
func (d *Daemon) installTrace(m *member) {
	for _, s := range m.sessions {
		d.traceSession(m, s.peer)
	}
}

// reloadTrace is called by a reload for a member that stays, with its trace configuration before the
// reload: a change of the trace keys ends a run-time setting and applies the new keys.
func (d *Daemon) reloadTrace(m *member, old TraceSpec) {
	if now := configTrace(m.cfg); !slices.Equal(now.Types, old.Types) || now.Raw != old.Raw {
		delete(d.trace.run, m.cfg.Name)
	}
	d.installTrace(m)
}

// forgetTrace drops a removed member's tracing.
func (d *Daemon) forgetTrace(name string) {
	delete(d.trace.on, name)
	delete(d.trace.run, name)
}

// SetTrace sets the packet tracing of a member (by name or one of its neighbor addresses) at run
// time: types are message type names (config.TraceTypes, or "all"), empty to stop tracing; raw adds
// each message's bytes in hex. It lasts until the next SetTrace for the member or a reload that
// changes its trace or trace_raw keys (docs/admin.md). No session is touched. It returns the
// member's name and the setting now in force.
func (d *Daemon) SetTrace(ctx context.Context, who string, types []string, raw bool) (string, TraceSpec, error) {
	_, canon, err := parseTraceTypes(types)
	if err != nil {
		return "", TraceSpec{}, err
	}
	spec := TraceSpec{Types: canon, Raw: raw && len(canon) > 0}
	var name string
	if xerr := d.exec(ctx, func() {
		var m *member
		if m, err = d.memberOf(who); err != nil {
			if dm := d.dynamicOf(who); dm != nil {
				err = nil
				name = dm.name
				d.traceDynamic(dm, spec)
			}
			return
		}
		name = m.cfg.Name
		if d.trace.run == nil {
			d.trace.run = map[string]TraceSpec{}
		}
		d.trace.run[name] = spec
		d.installTrace(m)
		d.log.Info("packet trace set", "member", name, "types", spec.Types, "raw", spec.Raw, "sessions", len(m.sessions))
	}); xerr != nil {
		return "", TraceSpec{}, xerr
	}
	if err != nil {
		return "", TraceSpec{}, err
	}
	if spec.Types == nil {
		spec.Types = []string{}
	}
	return name, spec, nil
}

// reloadTraceRecreated is reloadTrace for a member a reload re-creates (its new settings are mc):
// its tracer goes with it, and a run-time setting survives unless the trace keys changed.
func (d *Daemon) reloadTraceRecreated(m *member, old TraceSpec, mc config.Member) {
	delete(d.trace.on, m.cfg.Name)
	if now := configTrace(mc); !slices.Equal(now.Types, old.Types) || now.Raw != old.Raw {
		delete(d.trace.run, m.cfg.Name)
	}
}

// dynamicOf finds an established dynamic member by its generated name or its address; nil if none.
func (d *Daemon) dynamicOf(who string) *dynMember {
	a, aerr := netip.ParseAddr(who)
	for _, r := range d.dynamic.ranges {
		for addr, dm := range r.members {
			if dm.name != "" && (dm.name == who || (aerr == nil && addr == a)) {
				return dm
			}
		}
	}
	return nil
}

// traceDynamic sets the tracing of a dynamic member's session. It has no configuration to fall
// back to, so the setting lasts as long as the session: a dynamic member that connects again
// starts untraced.
func (d *Daemon) traceDynamic(dm *dynMember, spec TraceSpec) {
	if !spec.On() {
		dm.peer.SetTrace(0, nil)
		d.log.Info("packet trace set", "member", dm.name, "types", spec.Types, "raw", spec.Raw, "dynamic", true)
		return
	}
	types, _, _ := parseTraceTypes(spec.Types)
	lim := d.cfg.Tracing
	if lim.Rate <= 0 || lim.Burst < 1 {
		lim = config.DefaultTracing()
	}
	t := newTracer(d.log.With("component", "trace", "member", dm.name, "asn", dm.asn), lim, spec.Raw)
	dm.peer.SetTrace(types, t.trace)
	d.log.Info("packet trace set", "member", dm.name, "types", spec.Types, "raw", spec.Raw, "dynamic", true)
}
