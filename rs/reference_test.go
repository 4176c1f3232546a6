package rs

import (
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

var refSeed = flag.Uint64("seed", 0, "seed of TestReferenceRandom (0: the fixed seeds; also IXRS_REF_SEED)")

// refSeeds returns the seeds TestReferenceRandom runs: -seed or IXRS_REF_SEED when given, the fixed
// ones otherwise (fixed reports which).
func refSeeds(t *testing.T) (seeds []uint64, fixed bool) {
	if *refSeed != 0 {
		return []uint64{*refSeed}, false
	}
	if v := os.Getenv("IXRS_REF_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("IXRS_REF_SEED: %v", err)
		}
		return []uint64{n}, false
	}
	return []uint64{1, 2, 3, 4}, true
}

// refHarness drives a real Server (through the tmember harness of helpers_test.go, so every route a
// member holds was decoded from the bytes the Server queued) and the reference model with the
// same input.
type refHarness struct {
	t     testing.TB
	s     *Server
	ref   *refModel
	sess  []*refSess
	byASN map[uint32]string
}

// refSess is one configured session: the harness's member router and what it brings up with.
type refSess struct {
	tm       *tmember
	member   string
	asn      uint32
	info     SessionInfo
	nh4, nh6 netip.Addr // the member's addresses it announces as next hop, by family
	up       bool
}

func newRefHarness(t testing.TB, s *Server, ref *refModel) *refHarness {
	return &refHarness{t: t, s: s, ref: ref, byASN: map[uint32]string{}}
}

func (h *refHarness) addMember(cfg MemberConfig) {
	h.t.Helper()
	if err := h.s.addMember(cfg); err != nil {
		h.t.Fatal(err)
	}
	h.ref.addMember(cfg.Name, cfg.ASN, cfg.IRR)
	h.byASN[cfg.ASN] = cfg.Name
}

// addSession configures a session; it comes up with upAll, once every address of its member is
// known (the next-hop check reads them).
func (h *refHarness) addSession(member, addr, routerID string, fams []speaker.Family, enc speaker.EncodeOptions) *refSess {
	h.t.Helper()
	a := netip.MustParseAddr(addr)
	ss, err := h.s.addPeer(member, a)
	if err != nil {
		h.t.Fatal(err)
	}
	h.ref.addSession(member, a)
	m := h.ref.members[member]
	x := &refSess{
		tm:     &tmember{t: h.t, name: member + "@" + addr, asn: m.asn, addr: a, ss: ss, out: &fakeOut{}},
		member: member, asn: m.asn,
		info: SessionInfo{RouterID: netip.MustParseAddr(routerID), Families: fams, Encode: enc},
	}
	h.sess = append(h.sess, x)
	return x
}

func (h *refHarness) upAll() {
	for _, x := range h.sess {
		// Its own address for its family, another address of the member for the other family.
		for _, s := range append([]*refSess{x}, h.sess...) {
			if s.member != x.member {
				continue
			}
			if a := s.tm.addr; a.Is4() && !x.nh4.IsValid() {
				x.nh4 = a
			} else if a.Is6() && !x.nh6.IsValid() {
				x.nh6 = a
			}
		}
		h.up(x)
	}
}

// up brings x up with a fresh output buffer (nothing of the last incarnation is read).
func (h *refHarness) up(x *refSess) {
	x.tm.out = &fakeOut{}
	info := x.info
	x.tm.up(func(si *SessionInfo) { *si = info })
	h.ref.up(x.tm.addr, x.info)
	x.up = true
}

func (h *refHarness) down(x *refSess) {
	x.tm.ss.Down()
	h.ref.down(x.tm.addr)
	x.up = false
}

func (h *refHarness) send(x *refSess, u *speaker.Update) {
	h.t.Helper()
	if err := x.tm.ss.Receive(u); err != nil {
		h.t.Fatalf("%s: %v", x.tm.name, err)
	}
	h.ref.update(x.tm.addr, u)
}

func (h *refHarness) live() []*tmember {
	var out []*tmember
	for _, x := range h.sess {
		if x.up {
			out = append(out, x.tm)
		}
	}
	return out
}

// sync lets the Server finish and every member read, then compares every established session's
// table with the model.
func (h *refHarness) sync(what string) {
	h.t.Helper()
	readAll(h.t, h.s, h.live()...)
	for _, x := range h.sess {
		if !x.up {
			continue
		}
		if d := refCompareTables(x.tm.rib, h.ref.want(x.tm.addr), 12); len(d) > 0 {
			h.t.Fatalf("%s: %s (AS%d) differs from the reference:\n\t%s", what, x.tm.name, x.asn, strings.Join(d, "\n\t"))
		}
	}
}

// TestReferenceRandom drives random churn through a real Server and the reference model and
// compares every member's table with the model after each round: announcements and
// re-announcements, withdrawals, session flaps and route refreshes; prefixes announced by several
// members; paths through other members' ASes; control communities in all three forms; members with
// two and three sessions, a 2-octet-AS session, an IPv6-only member; IPv4 and IPv6. Odd seeds turn
// on RPKI (a fixed test validator), informational communities and OTC; seeds 2, 6, ... turn off
// first-AS enforcement. Each seed runs with cohorts
// and with every session served on its own. Vary the seed with -seed N or IXRS_REF_SEED=N.
func TestReferenceRandom(t *testing.T) {
	seeds, fixed := refSeeds(t)
	for _, seed := range seeds {
		for _, noCohorts := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed=%d/cohorts=%v", seed, !noCohorts), func(t *testing.T) {
				refRandom(t, seed, noCohorts, fixed)
			})
		}
	}
}

// refROV is a fixed origin validator: a function of (prefix, origin), so that the same route is
// always in the same state, some routes of every member are valid and some transit origins invalid.
type refROV struct{}

func (refROV) Validate(p netip.Prefix, origin uint32) policy.RPKIState {
	h := fnv.New32a()
	h.Write([]byte(p.String()))
	k := h.Sum32() + origin
	switch {
	case origin >= 65010 && origin <= 65012 && k%3 == 0:
		return policy.RPKIInvalidState
	case k%2 == 0:
		return policy.RPKIValid
	}
	return policy.RPKINotFound
}

func (v refROV) Explain(p netip.Prefix, origin uint32) (policy.RPKIState, string) {
	return v.Validate(p, origin), "test validator"
}

// The members of the randomised test. C has three routers with different router IDs (whose order
// differs from their addresses' order), so MED and router ID decide between routes of one AS.
type refSessCfg struct {
	addr, rid string
	v4, v6    bool
	as2       bool // no four-octet AS capability
	big       bool // RFC 8654 extended messages
}

var refRandomMembers = []struct {
	name     string
	asn      uint32
	sessions []refSessCfg
}{
	{"A", 64501, []refSessCfg{{"192.0.2.11", "192.0.2.11", true, true, false, false}, {"2001:db8::11", "192.0.2.11", true, true, false, false}}},
	{"B", 64502, []refSessCfg{{"192.0.2.12", "192.0.2.12", true, true, false, false}}},
	{"C", 64503, []refSessCfg{{"192.0.2.31", "10.3.0.9", true, true, false, false}, {"192.0.2.32", "10.3.0.1", true, true, false, false}, {"192.0.2.33", "10.3.0.5", true, false, false, true}}},
	{"D", 4200000004, []refSessCfg{{"192.0.2.41", "192.0.2.41", true, true, false, true}}},
	{"E", 64505, []refSessCfg{{"192.0.2.51", "192.0.2.51", true, true, true, false}}},
	{"F", 64506, []refSessCfg{{"2001:db8::61", "10.0.0.61", false, true, false, false}}},
	{"G", 200007, []refSessCfg{{"2001:db8::71", "10.0.0.71", true, true, false, false}}},
	{"H", 64508, []refSessCfg{{"192.0.2.81", "192.0.2.81", true, true, false, false}}},
}

// refRandom runs one seed. With coverage it also requires the run to have exercised every case the
// model counts (the fixed seeds do; an arbitrary seed may by chance miss one, which is only logged).
func refRandom(t *testing.T, seed uint64, noCohorts, coverage bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	rich := seed%2 == 1
	imp := &policy.Import{NextHop: policy.NextHopStrict, EnforceFirstAS: true, MaxPathLen: 32, GracefulShutdown: true}
	var rov policy.OriginValidator
	ref := newRefModel(rsASN, imp, nil)
	exp := &ControlCommunities{Control: policy.ExportControl{ASN: rsASN}}
	if seed%4 == 2 {
		// Without first-AS enforcement a member may announce a path that starts with another AS:
		// MED then meets routes of one neighbour AS from different members, and a member's own
		// route is recognised by its session, not by its AS in the path.
		imp.EnforceFirstAS = false
	}
	if rich {
		imp.RPKI, rov, ref.rov = policy.RPKIRejectInvalid, refROV{}, refROV{}
		exp.Informational, exp.AddOTC = true, true
		ref.informational, ref.addOTC = true, true
	}
	s := newTestServer(t, func(c *Config) {
		c.Import, c.Export = imp, exp
		c.InboundQueue = 1 << 12 // a round never fills it: Receive must not block a single-goroutine test
		c.WalkBatch = 1 + rng.IntN(64)
		c.OutHighWater, c.OutLowWater = 1+rng.IntN(8192), 0
		c.PendingMax = 50 + rng.IntN(500)
		c.ClearBatch = 1 + rng.IntN(50)
		c.noCohorts = noCohorts
	})
	s.rov = rov
	h := newRefHarness(t, s, ref)
	var asns []uint32
	for _, m := range refRandomMembers {
		h.addMember(MemberConfig{Name: m.name, ASN: m.asn})
		asns = append(asns, m.asn)
		for _, c := range m.sessions {
			var fams []speaker.Family
			if c.v4 {
				fams = append(fams, speaker.IPv4Unicast)
			}
			if c.v6 {
				fams = append(fams, speaker.IPv6Unicast)
			}
			enc := speaker.EncodeOptions{FourOctetAS: !c.as2, MaxMessage: speaker.MaxMessageLen}
			if c.big {
				enc.MaxMessage = 65535
			}
			h.addSession(m.name, c.addr, c.rid, fams, enc)
		}
	}
	h.upAll()
	h.sync("start")

	v4s, v6s := seqPrefixes(0, 24, false), seqPrefixes(0, 12, true)
	const rounds = 60
	flaps := 0
	for round := range rounds {
		for range 1 + rng.IntN(40) {
			x := h.sess[rng.IntN(len(h.sess))]
			switch k := rng.IntN(100); {
			case k < 4:
				if x.up {
					h.down(x)
					flaps++
				} else {
					h.up(x)
				}
			case !x.up:
			case k < 6:
				x.tm.ss.RouteRefresh(speaker.IPv4Unicast)
			case k < 78:
				v4 := rng.IntN(3) > 0
				if !x.nh4.IsValid() || !x.nh6.IsValid() {
					v4 = x.nh4.IsValid()
				}
				pool := v4s
				if !v4 {
					pool = v6s
				}
				var nlri []netip.Prefix
				for range 1 + rng.IntN(4) {
					nlri = append(nlri, pool[rng.IntN(len(pool))])
				}
				h.send(x, &speaker.Update{Attrs: refRandomAttrs(rng, x, v4, asns, rich), NLRI: nlri})
			default:
				var wd []netip.Prefix
				for range 1 + rng.IntN(3) {
					if rng.IntN(2) == 0 {
						wd = append(wd, v4s[rng.IntN(len(v4s))])
					} else {
						wd = append(wd, v6s[rng.IntN(len(v6s))])
					}
				}
				h.send(x, &speaker.Update{Withdrawn: wd})
			}
			// Passes and reads at random moments, so that sessions fall behind and catch up.
			if rng.IntN(3) == 0 {
				s.pass()
			}
			if y := h.sess[rng.IntN(len(h.sess))]; y.up && rng.IntN(3) == 0 {
				y.tm.read()
			}
		}
		h.sync(fmt.Sprintf("seed %d round %d", seed, round))
	}
	st := ref.stats
	t.Logf("seed %d: reference exported %d routes; %d not the best, %d candidates denied by control communities, "+
		"%d skipped for the receiver's AS in the path, %d prepended, %d MED-ranked lists, %d with informational communities, %d multi-route prefixes",
		seed, st.exported, st.notFirst, st.denied, st.inPath, st.prepended, st.medRanked, st.infoAdded, st.multiRoute)
	if st.exported == 0 || st.notFirst == 0 || st.denied == 0 || st.inPath == 0 || st.prepended == 0 ||
		st.medRanked == 0 || st.multiRoute == 0 || rich && st.infoAdded == 0 || st.rejected == 0 || flaps == 0 {
		report := t.Errorf
		if !coverage {
			report = t.Logf
		}
		report("seed %d: the run exercised too little: %+v, %d flaps", seed, st, flaps)
	}
}

// refRandomAttrs builds the attributes of a random announcement by x: mostly acceptable, with
// prepends, transit ASes, other members' ASes, MEDs, origins, graceful shutdown, control and
// ordinary communities; now and then rejected (next hop, first AS, path length).
func refRandomAttrs(rng *rand.Rand, x *refSess, v4 bool, asns []uint32, rich bool) *speaker.Attrs {
	path := []uint32{x.asn}
	for range rng.IntN(3) / 2 {
		path = append(path, x.asn)
	}
	for range rng.IntN(3) {
		path = append(path, 65010+uint32(rng.IntN(3)))
	}
	if rng.IntN(6) == 0 {
		path = append(path, asns[rng.IntN(len(asns))]) // may be the receiver's: it must not get it
	}
	if rng.IntN(40) == 0 {
		path = append(path, rsASN) // never redistributed
	}
	a := &speaker.Attrs{Origin: uint8([]int{0, 0, 0, 0, 1, 2}[rng.IntN(6)])}
	if rng.IntN(3) > 0 {
		a.HasMED, a.MED = true, uint32([]int{0, 10, 20, 20}[rng.IntN(4)])
	}
	switch rng.IntN(40) {
	case 0, 1, 2:
		path[0] = 65010 // first AS not the member's
	case 3:
		for len(path) <= 32 {
			path = append(path, 65011) // too long
		}
	}
	a.ASPath = speaker.ASPath{{Type: speaker.SegSequence, ASNs: path}}
	nh := x.nh4
	if !v4 {
		nh = x.nh6
	}
	if rng.IntN(15) == 0 {
		nh = netip.MustParseAddr("192.0.2.250") // not the member's: rejected
		if !v4 {
			nh = netip.MustParseAddr("2001:db8::250")
		}
	}
	if v4 {
		a.NextHop = nh
	} else {
		a.MPNextHop = nh
	}
	if rng.IntN(12) == 0 {
		a.Communities = append(a.Communities, policy.CommunityGracefulShutdown)
	}
	if rich && rng.IntN(20) == 0 {
		a.HasOTC, a.OTC = true, x.asn
	}
	if rng.IntN(3) == 0 {
		for range 1 + rng.IntN(3) {
			refRandomCommunity(rng, a, x.asn, asns)
		}
	}
	return a
}

// refRandomCommunity adds one community: a control community of docs/policy.md's table in one of
// its forms, one of the route server's reserved ranges (forged), or an ordinary one.
func refRandomCommunity(rng *rand.Rand, a *speaker.Attrs, own uint32, asns []uint32) {
	p := asns[rng.IntN(len(asns))]
	if rng.IntN(8) == 0 {
		p = 64599 // not a member
	}
	std := func(hi, lo uint32) { a.Communities = append(a.Communities, hi<<16|lo) }
	large := func(f, t uint32) {
		a.LargeCommunities = append(a.LargeCommunities, speaker.LargeCommunity{Global: rsASN, Local1: f, Local2: t})
	}
	rt := func(hi, lo uint32) { a.ExtCommunities = append(a.ExtCommunities, 0x0002<<48|uint64(hi)<<32|uint64(lo)) }
	// The standard form names only 16-bit ASes; a 4-octet target takes the large or route-target form.
	stdOr := func(hi uint32, f uint32) {
		switch {
		case p > 0xffff && rng.IntN(2) == 0:
			rt(hi, p)
		case p > 0xffff:
			large(f, p)
		default:
			std(hi, p)
		}
	}
	n := uint32(1 + rng.IntN(3))
	switch rng.IntN(20) {
	case 0:
		stdOr(0, 0) // not to P
	case 1:
		large(0, p)
	case 2:
		rt(0, p)
	case 3:
		std(0, rsASN) // not to any ...
		if rng.IntN(2) == 0 {
			stdOr(rsASN, 1) // ... but to P
		}
	case 4:
		large(0, 0)
		if rng.IntN(2) == 0 {
			large(1, p)
		}
	case 5:
		std(rsASN, rsASN) // RS:RS, announce to everyone: stripped, no effect
	case 6:
		std(65500+n, rsASN) // prepend toward all
	case 7:
		large(100+n, 0)
	case 8:
		stdOr(65510+n, 100+n) // prepend toward P
	case 9:
		stdOr(65281, 65281) // NO_EXPORT toward P
	case 10:
		stdOr(65282, 65282) // NO_ADVERTISE toward P
	case 11:
		large(1000, 1) // forged informational: stripped
	case 12:
		large(1101, 5) // forged reject reason: stripped
	case 13:
		std(65535, 65281) // NO_EXPORT set by the member: passed on
	case 14:
		std(65501, 64502) // looks like a prepend but names no route server: passed on
	case 15:
		rt(65010, 42) // another network's route target: passed on
	case 16:
		a.LargeCommunities = append(a.LargeCommunities, speaker.LargeCommunity{Global: own, Local1: 1, Local2: 42})
	case 17:
		std(rsASN, p) // to P without "not to any": no effect
	default:
		if own <= 0xffff {
			std(own, 42)
		} else {
			std(65010, 42)
		}
	}
}
