package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/ixrs/ixrs/speaker"
)

// Spec describes a workload: how many members, how many routes (announcements, counting a prefix
// announced by three members three times) and the seed that makes it reproducible.
type Spec struct {
	Name    string
	Members int
	Routes  int
	Seed    uint64
	// Policy: every daemon runs the realistic import policy and the workload plants routes for it to
	// drop (realistic.go).
	Policy bool
}

// Shape constants of the generated table. They follow what IXP route servers see: a long-tailed
// distribution of table sizes, about a quarter of the routes IPv6, some multi-homed prefixes.
const (
	// sizeExponent is the Zipf exponent of member table sizes: member k (1-based, by size) gets a
	// share proportional to k^-sizeExponent. With 1.2 the largest of 100 members holds about a quarter
	// of the routes and the median one about a hundred.
	sizeExponent = 1.2
	// minRoutes is the smallest table a member announces.
	minRoutes = 4
	// ipv6Share is the share of each member's prefixes that are IPv6.
	ipv6Share = 0.25
	// sharedShare is the share of distinct prefixes that one or two more members announce as well
	// (with paths of their own), so the decision process has candidates to compare.
	sharedShare = 0.06
	// churnShare is the share of all routes withdrawn and re-announced in the churn burst.
	churnShare = 0.05
	// maxGroup bounds the prefixes that share one attribute set (and thus usually one UPDATE).
	maxGroup = 48
)

// Member is one simulated IXP member: its session address, AS, next hops, and its routes grouped by
// attribute set.
type Member struct {
	Index    int
	Name     string
	ASN      uint32
	Addr     netip.Addr // session source address, 127.1.x.y
	NextHop4 netip.Addr // per-member benchmarking address (RFC 2544 range)
	NextHop6 netip.Addr // per-member documentation address
	Groups   []Group
	Routes   int // number of prefixes announced
}

// Group is a set of prefixes of one family announced with the same attributes.
type Group struct {
	Family   speaker.Family
	Attrs    *speaker.Attrs
	Prefixes []uint32 // indices into Workload.Prefixes
}

// Workload is a generated IXP table. Prefix indices are dense: Prefixes[i] is prefix i.
type Workload struct {
	Spec     Spec
	Members  []*Member
	Prefixes []netip.Prefix
	// Churn holds, per member, the prefix indices it withdraws and re-announces in the churn burst.
	Churn [][]uint32
	// Announcers lists, per prefix, the members announcing it.
	Announcers [][]int32
	// Policy is the realistic workload's import policy (realistic.go); nil: nothing is filtered.
	Policy *Policy
}

// RSASN is the route server's AS in every daemon's configuration. It is outside every range the
// generator draws path ASNs from, so no route is suppressed for carrying it.
const RSASN = 65500

// memberASN returns member i's 4-octet AS (public 4-octet space, disjoint from path ASNs).
func memberASN(i int) uint32 { return 210000 + uint32(i)*7 }

// memberAddr returns member i's session address: 127.1.x.y, y in 1..250.
func memberAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 1, byte(i / 250), byte(i%250 + 1)})
}

// Generate builds the workload of s deterministically from s.Seed.
func Generate(s Spec) (*Workload, error) {
	if s.Members < 2 || s.Routes < s.Members*minRoutes {
		return nil, fmt.Errorf("workload %s: need at least 2 members and %d routes per member", s.Name, minRoutes)
	}
	if s.Members > 250*250 {
		return nil, fmt.Errorf("workload %s: at most %d members", s.Name, 250*250)
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x1e5b))
	w := &Workload{Spec: s}

	// Routes = distinct + extra announcements of shared prefixes (one or two more each, 1.5 on average).
	distinct := int(float64(s.Routes) / (1 + sharedShare*1.5))
	sizes := skewedSizes(distinct, s.Members)
	// Shuffle so that member order (and thus addresses) does not reveal size.
	rng.Shuffle(len(sizes), func(i, j int) { sizes[i], sizes[j] = sizes[j], sizes[i] })

	alloc := newAllocator(rng)
	own := make([][]uint32, s.Members) // per member: its prefixes (owned first, shared added later)
	for i := 0; i < s.Members; i++ {
		m := &Member{
			Index:    i,
			Name:     fmt.Sprintf("m%03d", i),
			ASN:      memberASN(i),
			Addr:     memberAddr(i),
			NextHop4: netip.AddrFrom4([4]byte{198, 18, byte((i + 1) >> 8), byte(i + 1)}),
			NextHop6: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 14: byte((i + 1) >> 8), 15: byte(i + 1)}),
		}
		w.Members = append(w.Members, m)
		for k := 0; k < sizes[i]; k++ {
			var p netip.Prefix
			if rng.Float64() < ipv6Share {
				p = alloc.next6()
			} else {
				p = alloc.next4()
			}
			own[i] = append(own[i], uint32(len(w.Prefixes)))
			w.Prefixes = append(w.Prefixes, p)
			w.Announcers = append(w.Announcers, []int32{int32(i)})
		}
	}
	// Multi-homed prefixes: fill the remaining route budget with second and third announcers.
	extra := s.Routes - len(w.Prefixes)
	for extra > 0 {
		pi := uint32(rng.IntN(len(w.Prefixes)))
		ann := w.Announcers[pi]
		if len(ann) >= 3 {
			continue
		}
		j := int32(rng.IntN(s.Members))
		if slices.Contains(ann, j) {
			continue
		}
		w.Announcers[pi] = append(ann, j)
		own[j] = append(own[j], pi)
		extra--
	}

	paths := newPathPool(rng)
	for i, m := range w.Members {
		ps := own[i]
		m.Routes = len(ps)
		// Keep the owned prefixes in allocation order (address order, as real tables mostly are) and
		// split them into families and then into attribute groups of 1..maxGroup prefixes.
		slices.Sort(ps)
		var v4, v6 []uint32
		for _, pi := range ps {
			if w.Prefixes[pi].Addr().Is4() {
				v4 = append(v4, pi)
			} else {
				v6 = append(v6, pi)
			}
		}
		for _, fam := range []struct {
			f  speaker.Family
			ps []uint32
		}{{speaker.IPv4Unicast, v4}, {speaker.IPv6Unicast, v6}} {
			for len(fam.ps) > 0 {
				n := groupSize(rng)
				n = min(n, len(fam.ps))
				m.Groups = append(m.Groups, Group{Family: fam.f, Attrs: paths.attrs(m, fam.f), Prefixes: fam.ps[:n:n]})
				fam.ps = fam.ps[n:]
			}
		}
		// Churn: a share of this member's routes, drawn uniformly.
		nc := int(math.Round(float64(len(ps)) * churnShare))
		perm := rng.Perm(len(ps))[:nc]
		c := make([]uint32, 0, nc)
		for _, k := range perm {
			c = append(c, ps[k])
		}
		slices.Sort(c)
		w.Churn = append(w.Churn, c)
	}
	return w, nil
}

// skewedSizes splits total into n Zipf-distributed sizes of at least minRoutes, largest first.
func skewedSizes(total, n int) []int {
	weights := make([]float64, n)
	var sum float64
	for k := range weights {
		weights[k] = math.Pow(float64(k+1), -sizeExponent)
		sum += weights[k]
	}
	sizes := make([]int, n)
	left := total - n*minRoutes
	used := 0
	for k := range sizes {
		sizes[k] = minRoutes + int(float64(left)*weights[k]/sum)
		used += sizes[k]
	}
	sizes[0] += total - used // rounding remainder to the largest
	return sizes
}

// groupSize draws how many prefixes share one attribute set: mostly small groups, some large, as
// in real tables where a member's own and its big customers' prefixes share paths.
func groupSize(rng *rand.Rand) int {
	switch r := rng.Float64(); {
	case r < 0.4:
		return 1 + rng.IntN(4)
	case r < 0.8:
		return 4 + rng.IntN(16)
	default:
		return 16 + rng.IntN(maxGroup-15)
	}
}

// allocator hands out non-overlapping prefixes in public address space, in address order.
type allocator struct {
	rng   *rand.Rand
	next4 func() netip.Prefix
	cur4  uint32
	cur6  uint64 // the upper 64 bits of the next IPv6 address
}

func newAllocator(rng *rand.Rand) *allocator {
	a := &allocator{rng: rng, cur4: 11 << 24, cur6: 0x2a10_0000_0000_0000}
	a.next4 = a.nextIPv4
	return a
}

// reserved4 are IPv4 ranges the allocator skips (bogons and special-purpose space past 11/8).
var reserved4 = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
}

func (a *allocator) nextIPv4() netip.Prefix {
	// Mostly /24s, as in the global table; a few shorter ones.
	var l int
	switch r := a.rng.Float64(); {
	case r < 0.70:
		l = 24
	case r < 0.82:
		l = 23
	case r < 0.92:
		l = 22
	case r < 0.96:
		l = 21
	case r < 0.985:
		l = 20
	case r < 0.998:
		l = 19
	default:
		l = 16
	}
	size := uint32(1) << (32 - l)
	for {
		a.cur4 = (a.cur4 + size - 1) &^ (size - 1)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a.cur4 >> 24), byte(a.cur4 >> 16), byte(a.cur4 >> 8), byte(a.cur4)}), l)
		if a.cur4 >= 224<<24 {
			panic("ixbench: IPv4 space exhausted") // only for tables far beyond any workload here
		}
		skip := false
		for _, r := range reserved4 {
			if r.Overlaps(p) {
				b := r.Addr().As4()
				a.cur4 = (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) + uint32(1)<<(32-r.Bits())
				skip = true
				break
			}
		}
		if skip {
			continue
		}
		a.cur4 += size
		return p
	}
}

func (a *allocator) next6() netip.Prefix {
	var l int
	switch r := a.rng.Float64(); {
	case r < 0.60:
		l = 48
	case r < 0.75:
		l = 44
	case r < 0.85:
		l = 40
	case r < 0.93:
		l = 36
	default:
		l = 32
	}
	size := uint64(1) << (64 - l)
	a.cur6 = (a.cur6 + size - 1) &^ (size - 1)
	var b [16]byte
	for k := 0; k < 8; k++ {
		b[k] = byte(a.cur6 >> (56 - 8*k))
	}
	a.cur6 += size
	return netip.PrefixFrom(netip.AddrFrom16(b), l)
}

// pathPool draws attribute sets: AS paths of 1 to 6 ASNs starting with the member's AS, standard and
// large communities, sometimes a MED.
type pathPool struct{ rng *rand.Rand }

func newPathPool(rng *rand.Rand) *pathPool { return &pathPool{rng: rng} }

// pathASN draws an AS for a path behind a member: 2-octet public ASNs and a 4-octet block, both
// disjoint from member ASNs, the route server's AS and AS_TRANS.
func (pp *pathPool) pathASN() uint32 {
	if pp.rng.IntN(3) == 0 {
		return 300000 + uint32(pp.rng.IntN(100000))
	}
	for {
		a := 1000 + uint32(pp.rng.IntN(60000))
		if a != speaker.ASTrans {
			return a
		}
	}
}

func (pp *pathPool) attrs(m *Member, f speaker.Family) *speaker.Attrs {
	rng := pp.rng
	var n int // path length
	switch r := rng.Float64(); {
	case r < 0.20:
		n = 1
	case r < 0.50:
		n = 2
	case r < 0.75:
		n = 3
	case r < 0.87:
		n = 4
	case r < 0.95:
		n = 5
	default:
		n = 6
	}
	asns := []uint32{m.ASN}
	for len(asns) < n {
		asns = append(asns, pp.pathASN())
	}
	a := &speaker.Attrs{
		Origin: speaker.OriginIGP,
		ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: asns}},
	}
	if f == speaker.IPv4Unicast {
		a.NextHop = m.NextHop4
	} else {
		a.MPNextHop = m.NextHop6
	}
	if rng.IntN(4) == 0 {
		a.HasMED, a.MED = true, uint32(rng.IntN(100))
	}
	// Informational communities in private 2-octet AS space (never the route server's control
	// communities or well-known ones, which would change what the daemons export).
	for k := rng.IntN(4); k > 0; k-- {
		a.Communities = append(a.Communities, uint32(64600+rng.IntN(100))<<16|uint32(rng.IntN(1000)))
	}
	slices.Sort(a.Communities)
	a.Communities = slices.Compact(a.Communities)
	for k := rng.IntN(3); k > 0; k-- {
		a.LargeCommunities = append(a.LargeCommunities, speaker.LargeCommunity{Global: m.ASN, Local1: uint32(1 + rng.IntN(3)), Local2: uint32(rng.IntN(1000))})
	}
	return a
}

// Expected returns, per member, how many distinct prefixes a route server must send it when the
// members in active announce what present says: every prefix announced by at least one active member,
// except the prefixes the member announces itself (a route server sends one best path per prefix; a
// member's own prefixes are not counted because FRR, and BIRD without `secondary`, never send a member
// another member's route for a prefix whose best route is its own: path hiding). present(m, p) reports
// whether member m currently announces prefix p; inactive members' counts are -1.
func (w *Workload) Expected(active []bool, present func(m int, p uint32) bool) []int {
	total := 0
	own := make([]int, len(w.Members)) // live prefixes that member m announces in the workload
	for p, ann := range w.Announcers {
		live := false
		for _, m := range ann {
			if active[m] && present(int(m), uint32(p)) && w.accepted(int(m), uint32(p)) {
				live = true
				break
			}
		}
		if !live {
			continue
		}
		total++
		for _, m := range ann {
			own[m]++
		}
	}
	out := make([]int, len(w.Members))
	for m := range out {
		if !active[m] {
			out[m] = -1
			continue
		}
		out[m] = total - own[m]
	}
	return out
}

// Own returns, per member, a bit set of the prefixes it announces (and does not count on receipt).
func (w *Workload) Own() [][]uint64 {
	out := make([][]uint64, len(w.Members))
	for m := range out {
		out[m] = make([]uint64, (len(w.Prefixes)+63)/64)
	}
	for p, ann := range w.Announcers {
		for _, m := range ann {
			out[m][p/64] |= 1 << (p % 64)
		}
	}
	return out
}

// AllActive returns an active slice with every member set.
func (w *Workload) AllActive() []bool {
	a := make([]bool, len(w.Members))
	for i := range a {
		a[i] = true
	}
	return a
}

// announcedAll is a present function for Expected: the full table.
func announcedAll(int, uint32) bool { return true }

// churnSet returns a present function for the table with the churn prefixes withdrawn.
func (w *Workload) churnWithdrawn() func(m int, p uint32) bool {
	gone := make([]map[uint32]bool, len(w.Members))
	for m, c := range w.Churn {
		gone[m] = make(map[uint32]bool, len(c))
		for _, p := range c {
			gone[m][p] = true
		}
	}
	return func(m int, p uint32) bool { return !gone[m][p] }
}

// Largest returns the index of the member announcing the most routes.
func (w *Workload) Largest() int {
	best := 0
	for i, m := range w.Members {
		if m.Routes > w.Members[best].Routes {
			best = i
		}
	}
	return best
}

// prefixKey packs a prefix into a uint64 for the receive-side lookup table. Generated IPv6 prefixes are
// at most /48, so their first 48 bits identify them; ok is false for anything the generator never makes.
func prefixKey(p netip.Prefix) (uint64, bool) {
	if p.Addr().Is4() {
		b := p.Addr().As4()
		return 1<<62 | uint64(b[0])<<32 | uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(p.Bits()), true
	}
	if p.Bits() > 48 {
		return 0, false
	}
	b := p.Addr().As16()
	var hi uint64
	for k := 0; k < 6; k++ {
		hi = hi<<8 | uint64(b[k])
	}
	return 2<<62 | hi<<8 | uint64(p.Bits()), true
}
