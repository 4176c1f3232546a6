package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/speaker"
)

// Reload by difference (docs/admin.md): a reload compares each member's old and new settings and
// touches only what differs. Diff and Reload share the comparison (diffMember), so what `rsctl diff`
// shows is what `rsctl reload` does.
//
//   - a member that is gone: its sessions get an Administrative Shutdown (RFC 9003) saying
//     "removed from configuration", its routes are withdrawn;
//   - a new member: its sessions start;
//   - a changed AS number or export profile: the member is re-created (its sessions are reset with an
//     Administrative Reset), since its routes are keyed and sent differently;
//   - a removed neighbor address: that session ends as above; a new one starts;
//   - changed session keys (password, TTL security, passive): each of the member's sessions is reset
//     (Administrative Reset), the member and its routes on other sessions stay;
//   - changed policy: the member's routes are re-evaluated, no session is reset;
//   - anything else (description, hidden, IRR file names): applied without touching a session.

// Change is one thing a reload changes (or would change, for Diff).
type Change struct {
	Member string `json:"member"`
	// Action is "add", "remove", "recreate", "add-session", "remove-session", "reset-session",
	// "policy" or "update".
	Action   string `json:"action"`
	Neighbor string `json:"neighbor,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

func (c Change) String() string {
	s := c.Action + " " + c.Member
	if c.Neighbor != "" {
		s += " neighbor " + c.Neighbor
	}
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// RFC 9003 texts sent when a reload ends a session.
const (
	msgRemoved = "removed from configuration"
	msgChanged = "session settings changed"
)

// memberDiff is what a reload does to one member that stays in the configuration.
type memberDiff struct {
	recreate      string // why the member is re-created; "" if it is not
	addNeighbors  []netip.Addr
	dropNeighbors []netip.Addr
	resetKeys     []string // session keys that changed: every remaining session is reset
	policy        bool
	other         []string // keys applied without effect on sessions or routes
}

func (md *memberDiff) empty() bool {
	return md.recreate == "" && len(md.addNeighbors)+len(md.dropNeighbors)+len(md.resetKeys)+len(md.other) == 0 && !md.policy
}

// diffMember compares a member's settings and effective policy in force with new ones.
func diffMember(a config.Member, apol config.Policy, b config.Member, bpol config.Policy) memberDiff {
	var md memberDiff
	switch {
	case a.ASN != b.ASN:
		md.recreate = fmt.Sprintf("asn %d → %d", a.ASN, b.ASN)
		return md
	case exportProfile(apol) != exportProfile(bpol):
		md.recreate = "export settings (blackhole, too_many_communities) changed"
		return md
	}
	for _, n := range b.Neighbors {
		if !slices.Contains(a.Neighbors, n) {
			md.addNeighbors = append(md.addNeighbors, n)
		}
	}
	for _, n := range a.Neighbors {
		if !slices.Contains(b.Neighbors, n) {
			md.dropNeighbors = append(md.dropNeighbors, n)
		}
	}
	if a.MD5Password != b.MD5Password {
		md.resetKeys = append(md.resetKeys, "md5_password")
	}
	if a.TTLSecurity != b.TTLSecurity {
		md.resetKeys = append(md.resetKeys, "ttl_security")
	}
	if a.Passive != b.Passive {
		md.resetKeys = append(md.resetKeys, "passive")
	}
	if a.StrictRole != b.StrictRole {
		md.resetKeys = append(md.resetKeys, "strict_role")
	}
	if (a.AddPath == config.AddPathSend) != (b.AddPath == config.AddPathSend) {
		md.resetKeys = append(md.resetKeys, "add_path") // the capability is in the OPEN
	}
	if a.AddPathLimit != b.AddPathLimit {
		md.resetKeys = append(md.resetKeys, "add_path_limit") // taken when the session comes up
	}
	if a.LLGRStaleTime != b.LLGRStaleTime {
		md.resetKeys = append(md.resetKeys, "llgr_stale_time") // the capability is in the OPEN
	}
	md.policy = !reflect.DeepEqual(apol, bpol)
	if a.Description != b.Description {
		md.other = append(md.other, "description")
	}
	if a.Hidden != b.Hidden {
		md.other = append(md.other, "hidden")
	}
	if a.IRRPrefixFile != b.IRRPrefixFile || a.IRRASNFile != b.IRRASNFile {
		md.other = append(md.other, "IRR files")
	}
	if !slices.Equal(a.Trace, b.Trace) || a.TraceRaw != b.TraceRaw {
		md.other = append(md.other, "trace")
	}
	return md
}

// changes lists md as Changes; kept is the member's neighbors that stay.
func (md *memberDiff) changes(name string, kept []netip.Addr) []Change {
	if md.recreate != "" {
		return []Change{{Member: name, Action: "recreate", Detail: md.recreate}}
	}
	var out []Change
	for _, n := range md.dropNeighbors {
		out = append(out, Change{Member: name, Action: "remove-session", Neighbor: n.String(), Detail: msgRemoved})
	}
	for _, n := range md.addNeighbors {
		out = append(out, Change{Member: name, Action: "add-session", Neighbor: n.String()})
	}
	if len(md.resetKeys) > 0 {
		for _, n := range kept {
			out = append(out, Change{Member: name, Action: "reset-session", Neighbor: n.String(), Detail: fmt.Sprint(md.resetKeys)})
		}
	}
	if md.policy {
		out = append(out, Change{Member: name, Action: "policy", Detail: "routes re-evaluated, sessions stay up"})
	}
	if len(md.other) > 0 {
		out = append(out, Change{Member: name, Action: "update", Detail: fmt.Sprint(md.other)})
	}
	return out
}

// plan returns what applying cfg would change, and the warnings for what a reload cannot apply.
// Run's goroutine only.
func (d *Daemon) plan(cfg *config.Config) ([]Change, []string) {
	var warn []string
	if !reflect.DeepEqual(cfg.Server, d.cfg.Server) {
		warn = append(warn, "[server] changes take effect only after a restart; keeping the running [server] settings")
	}
	if !reflect.DeepEqual(cfg.RPKI, d.cfg.RPKI) {
		warn = append(warn, "[rpki] changes take effect only after a restart; the VRP and SLURM files are re-read")
	}
	if cfg.Admin != d.cfg.Admin {
		warn = append(warn, "[admin] changes take effect only after a restart")
	}
	var out []Change
	wanted := map[string]int{}
	for i, mc := range cfg.Members {
		wanted[mc.Name] = i
	}
	for _, name := range sortedKeys(d.members) {
		m := d.members[name]
		i, ok := wanted[name]
		if !ok {
			out = append(out, Change{Member: name, Action: "remove", Detail: msgRemoved})
			continue
		}
		md := diffMember(m.cfg, m.policy, cfg.Members[i], cfg.MemberPolicy(i))
		out = append(out, md.changes(name, keptNeighbors(m.cfg.Neighbors, md.dropNeighbors))...)
	}
	for _, mc := range cfg.Members {
		if d.members[mc.Name] == nil {
			out = append(out, Change{Member: mc.Name, Action: "add", Detail: fmt.Sprintf("AS%d, %d session(s)", mc.ASN, len(mc.Neighbors))})
		}
	}
	return out, warn
}

func keptNeighbors(all, dropped []netip.Addr) []netip.Addr {
	return slices.DeleteFunc(slices.Clone(all), func(a netip.Addr) bool { return slices.Contains(dropped, a) })
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Diff returns what a reload to cfg would change, without applying anything, and the warnings
// for settings a reload cannot apply.
func (d *Daemon) Diff(ctx context.Context, cfg *config.Config) ([]Change, []string, error) {
	var ch []Change
	var warn []string
	err := d.exec(ctx, func() { ch, warn = d.plan(cfg) })
	return ch, warn, err
}

// peerConfig is the speaker's configuration of one neighbor address of member mc.
func (d *Daemon) peerConfig(mc config.Member, addr netip.Addr) speaker.PeerConfig {
	srv := d.cfg.Server
	return speaker.PeerConfig{
		Name:         mc.Name,
		PeerAS:       mc.ASN,
		PeerAddr:     addr,
		HoldTime:     time.Duration(srv.HoldTime) * time.Second,
		NoHoldTime:   srv.HoldTime == 0,
		ConnectRetry: srv.ConnectRetry,
		Passive:      mc.Passive,
		MD5Password:  string(mc.MD5Password),
		TTLSecurity:  mc.TTLSecurity,
		HasRole:      true, // RFC 9234: we are a route server; members may say they are its clients
		Role:         speaker.RoleRS,
		StrictRole:   mc.StrictRole,
		// RFC 7313: rs/refresh.go brackets refreshes with BoRR/EoRR and purges after a member's EoRR.
		EnhancedRouteRefresh: true,
		// Graceful-restart helper (gr.go), long-lived where configured.
		GracefulRestart: grCapability(srv),
		// RFC 7911, send only: rs/addpath.go sends such members every path export allows them.
		AddPathSend: addPathFamilies(mc),
		LongLivedGR: llgrCapability(srv, mc),
	}
}

// addPathFamilies returns the families ADD-PATH send is advertised for to member mc.
func addPathFamilies(mc config.Member) []speaker.Family {
	if mc.AddPath != config.AddPathSend {
		return nil
	}
	return []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast}
}

// addSpeakerPeer adds the speaker side of s, its received messages going to the MRT update log.
func (d *Daemon) addSpeakerPeer(s *session, addr netip.Addr) (*speaker.Peer, error) {
	upd := &updateSource{d: d}
	pc := d.peerConfig(s.m.cfg, addr)
	pc.OnMessage = upd.onMessage
	return d.sp.AddPeer(pc, &handler{s: s, log: d.log, upd: upd, name: s.m.cfg.Name, addPathLimit: s.m.cfg.AddPathLimit, llgrStaleTime: s.m.cfg.LLGRStaleTime})
}

// addSession configures and starts (unless the member is administratively down) one session of m.
func (d *Daemon) addSession(ctx context.Context, m *member, addr netip.Addr) error {
	name := m.cfg.Name
	rp, err := d.rib.AddPeer(ctx, name, addr)
	if err != nil {
		return fmt.Errorf("member %q: neighbor %s: %w", name, addr, err)
	}
	s := &session{m: m, rib: rp}
	peer, err := d.addSpeakerPeer(s, addr)
	if err != nil {
		d.rib.RemovePeer(ctx, rp)
		return fmt.Errorf("member %q: neighbor %s: %w", name, addr, err)
	}
	s.peer = peer
	d.traceSession(m, peer)
	m.sessions = append(m.sessions, s)
	d.byPeer[rp] = s
	if _, down := d.adminDown[name]; !down {
		peer.Start()
	}
	return nil
}

// endPeer closes a speaker peer with an RFC 9003 Cease (subcode SubAdminShutdown or SubAdminReset)
// and removes it.
func (d *Daemon) endPeer(p *speaker.Peer, subcode uint8, msg string) {
	n := speaker.AdminShutdown(subcode, msg)
	p.StopWait(&n)
	d.sp.RemovePeer(p)
}

// removeSession ends one session of m for good (its neighbor address left the configuration).
func (d *Daemon) removeSession(ctx context.Context, m *member, addr netip.Addr) {
	i := slices.IndexFunc(m.sessions, func(s *session) bool { return s.peer.Addr() == addr })
	if i < 0 {
		return
	}
	s := m.sessions[i]
	if s.restart != nil {
		s.restart.Stop()
	}
	delete(d.byPeer, s.rib)
	d.endPeer(s.peer, speaker.SubAdminShutdown, msgRemoved)
	if err := d.rib.RemovePeer(ctx, s.rib); err != nil {
		d.log.Error("remove session from the RIB", "member", m.cfg.Name, "neighbor", addr.String(), "err", err)
	}
	m.sessions = slices.Delete(m.sessions, i, i+1)
}

// resetSession replaces the speaker side of s with one built from the member's current settings;
// the RIB side (rs.Peer) stays, as it does across any flap.
func (d *Daemon) resetSession(s *session, why string) error {
	addr := s.peer.Addr()
	d.endPeer(s.peer, speaker.SubAdminReset, why)
	peer, err := d.addSpeakerPeer(s, addr)
	if err != nil {
		return fmt.Errorf("member %q: neighbor %s: %w", s.m.cfg.Name, addr, err)
	}
	s.peer = peer
	d.traceSession(s.m, peer)
	s.maxPrefixStopped = false
	if s.restart != nil {
		s.restart.Stop()
		s.restart = nil
	}
	if _, down := d.adminDown[s.m.cfg.Name]; !down {
		peer.Start()
	}
	return nil
}

// applyMember applies md to member m, whose new settings are mc; Run's goroutine only.
func (d *Daemon) applyMember(ctx context.Context, m *member, md *memberDiff, mc config.Member) {
	name := mc.Name
	m.cfg = mc
	for _, a := range md.dropNeighbors {
		d.removeSession(ctx, m, a)
	}
	if len(md.resetKeys) > 0 {
		for _, s := range m.sessions {
			if err := d.resetSession(s, msgChanged); err != nil {
				d.log.Error("reload: reset session", "member", name, "err", err)
			}
		}
	}
	for _, a := range md.addNeighbors {
		if err := d.addSession(ctx, m, a); err != nil {
			d.log.Error("reload: add session", "member", name, "err", err)
		}
	}
}
