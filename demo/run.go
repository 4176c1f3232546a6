package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// Options configure Run.
type Options struct {
	// RouteServer is the route server's IPv4 BGP listener, RouteServer6 its IPv6 one (invalid: the
	// members' IPv6 sessions are not started; their IPv6 routes still go over IPv4).
	RouteServer, RouteServer6 netip.AddrPort
	RouteServerASN            uint32
	Members                   []Member
	// FlapEvery is how often a flapping member goes down (with ±25% jitter), for FlapDown; ChurnEvery
	// how often a member withdraws a few routes and announces them again a few seconds later.
	// Defaults: 3 minutes, 30 seconds, 20 seconds.
	FlapEvery, FlapDown, ChurnEvery time.Duration
	Logger                          *slog.Logger
}

// Run starts the members, connects them to the route server and keeps them going until ctx is
// done; then it closes their sessions and returns nil. It returns an error only when a member
// cannot be set up.
func Run(ctx context.Context, o Options) error {
	if err := Validate(o.Members); err != nil {
		return err
	}
	if !o.RouteServer.IsValid() || o.RouteServerASN == 0 {
		return errors.New("demo: the route server's IPv4 address and ASN are required")
	}
	o.FlapEvery = cmpOr(o.FlapEvery, 3*time.Minute)
	o.FlapDown = cmpOr(o.FlapDown, 30*time.Second)
	o.ChurnEvery = cmpOr(o.ChurnEvery, 20*time.Second)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var runs []*memberRun
	defer func() {
		for _, r := range runs {
			r.sp.Close()
		}
	}()
	for i := range o.Members {
		r, err := startMember(o, i, log)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		if r.m.Flaps {
			wg.Go(func() { r.flap(ctx, o.FlapEvery, o.FlapDown) })
		}
	}
	wg.Go(func() { churn(ctx, runs, o.ChurnEvery) })
	wg.Wait()
	return nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// memberRun is one running member: its speaker and sessions, and what it announces on each.
type memberRun struct {
	m   *Member
	sp  *speaker.Speaker
	log *slog.Logger
	// sessions: the IPv4 one carries IPv4 routes, and IPv6 routes too when there is no IPv6 one.
	s4, s6 *session
}

// session is one BGP session of a member, with the routes it announces.
type session struct {
	speaker.NopHandler
	run    *memberRun
	peer   *speaker.Peer
	groups []*group
	nh     netip.Addr // next hop of IPv4 routes
	nh6    netip.Addr // next hop of IPv6 routes
	mu     sync.Mutex
	up     bool
}

func startMember(o Options, i int, log *slog.Logger) (*memberRun, error) {
	m := &o.Members[i]
	v4, v6 := table(o.Members, i, o.RouteServerASN)
	mlog := log.With("member", m.Name, "asn", m.ASN)
	sp, err := speaker.New(speaker.Config{ASN: m.ASN, RouterID: m.Addr, Logger: mlog})
	if err != nil {
		return nil, fmt.Errorf("demo member %s: %w", m.Name, err)
	}
	r := &memberRun{m: m, sp: sp, log: mlog}
	// IPv6 routes over IPv4 carry the member's IPv4 address as an IPv4-mapped next hop, which the
	// route server's next-hop check reads as the session's address.
	r.s4 = &session{run: r, groups: v4, nh: m.Addr, nh6: netip.AddrFrom16(m.Addr.As16())}
	if m.Addr6.IsValid() && o.RouteServer6.IsValid() {
		r.s6 = &session{run: r, groups: v6, nh6: m.Addr6}
	} else {
		r.s4.groups = append(r.s4.groups, v6...)
	}
	for _, s := range []*session{r.s4, r.s6} {
		if s == nil {
			continue
		}
		rs, local := o.RouteServer, m.Addr
		if s == r.s6 {
			rs, local = o.RouteServer6, m.Addr6
		}
		s.peer, err = sp.AddPeer(speaker.PeerConfig{Name: "route server", PeerAS: o.RouteServerASN, PeerAddr: rs.Addr(),
			PeerPort: rs.Port(), LocalAddr: local, ConnectRetry: 5 * time.Second, Logger: mlog}, s)
		if err != nil {
			sp.Close()
			return nil, fmt.Errorf("demo member %s: %w", m.Name, err)
		}
		s.peer.Start()
	}
	return r, nil
}

// Established announces the whole table, then End-of-RIB. It runs on its own goroutine: the
// speaker wants Established to return at once.
func (s *session) Established(p *speaker.Peer, _ *speaker.Open) {
	s.mu.Lock()
	s.up = true
	s.mu.Unlock()
	go func() {
		for _, g := range s.groups {
			if err := s.announce(g, g.prefixes); err != nil {
				return // down again; the next Established starts over
			}
		}
		_ = p.SendEndOfRIB(speaker.IPv4Unicast)
		_ = p.SendEndOfRIB(speaker.IPv6Unicast)
	}()
}

func (s *session) Down(_ *speaker.Peer, err error) {
	s.mu.Lock()
	s.up = false
	s.mu.Unlock()
	s.run.log.Debug("demo session down", "err", err)
}

func (s *session) isUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

// announce sends prefixes of g, split by family (the attributes differ in the next hop).
func (s *session) announce(g *group, prefixes []netip.Prefix) error {
	var p4, p6 []netip.Prefix
	for _, p := range prefixes {
		if p.Addr().Is4() {
			p4 = append(p4, p)
		} else {
			p6 = append(p6, p)
		}
	}
	if len(p4) > 0 {
		if err := s.peer.Announce(g.attrs(s.nh, s.nh6, false), p4...); err != nil {
			return err
		}
	}
	if len(p6) > 0 {
		return s.peer.Announce(g.attrs(s.nh, s.nh6, true), p6...)
	}
	return nil
}

// shutdownData is the NOTIFICATION data of an administrative shutdown with a message (RFC 9003).
func shutdownData(msg string) []byte {
	return append([]byte{byte(len(msg))}, msg...)
}

// flap takes the member's sessions down now and then with a Cease, and brings them back.
func (r *memberRun) flap(ctx context.Context, every, down time.Duration) {
	for {
		wait := every*3/4 + rand.N(every/2+1)
		if !sleep(ctx, wait) {
			return
		}
		r.log.Info("demo: member flaps", "down_for", down)
		for _, s := range []*session{r.s4, r.s6} {
			if s != nil {
				s.peer.Stop(&speaker.Notification{Code: 6, Subcode: 2, Data: shutdownData("demo: this member flaps now and then")})
			}
		}
		if !sleep(ctx, down) {
			return
		}
		for _, s := range []*session{r.s4, r.s6} {
			if s != nil {
				s.peer.Start()
			}
		}
	}
}

// churn withdraws a few routes of a random member now and then and announces them again a few
// seconds later, so that counters and route ages move.
func churn(ctx context.Context, runs []*memberRun, every time.Duration) {
	for {
		if !sleep(ctx, every) {
			return
		}
		r := runs[rand.N(len(runs))]
		s := r.s4
		if r.m.Flaps || !s.isUp() {
			continue
		}
		var g *group
		for range 8 {
			if c := s.groups[rand.N(len(s.groups))]; c.churn && len(c.prefixes) > 0 {
				g = c
				break
			}
		}
		if g == nil {
			continue
		}
		start := rand.N(len(g.prefixes))
		ps := g.prefixes[start:min(start+5, len(g.prefixes))]
		if s.peer.Withdraw(ps...) != nil {
			continue
		}
		if !sleep(ctx, every/4) {
			return
		}
		_ = s.announce(g, ps)
	}
}

// sleep waits for d or until ctx is done; false when ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
