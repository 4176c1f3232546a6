package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// The realistic workload (-workload realistic) is the medium table plus routes that an IXP import
// policy must drop, with every daemon running the same policy: bogon prefixes, bogon ASNs anywhere in
// the path, prefix lengths (IPv4 /8–/24, IPv6 /12–/48), first AS = the member's AS, next hop inside
// the peering LANs, a max-prefix limit no member reaches, and RPKI origin validation (RFC 6811) against
// VRPs that every daemon fetches over RTR from one StayRTR cache that ixbench runs on loopback. The
// planted routes are the only ones any check drops, so the route checker's expected table (check.go)
// is the unfiltered one minus exactly those routes: a daemon that filters too little or too much fails
// the run. docs/benchmarks.md describes each daemon's configuration.

// Policy is the import policy of the realistic workload and what it must drop.
type Policy struct {
	// Planted are the routes added for the filters to drop, and the valid route beside an invalid one.
	Planted []Plant
	// VRPs are what the StayRTR cache serves: some routes valid, the planted invalid ones invalid, the
	// rest not found.
	VRPs []VRP
	// MaxPrefix is every member's limit per address family: twice the largest member's table, so that
	// every daemon pays for the count and none acts on it (the actions differ between daemons).
	MaxPrefix int
	// RTR is the StayRTR cache serving VRPs; set once it runs (startRTR).
	RTR netip.AddrPort
	// metrics is StayRTR's metrics endpoint, from which ixbench learns that a daemon asked for the VRPs.
	metrics netip.AddrPort

	filtered map[uint64]bool         // member<<32 | prefix: routes the policy drops
	index    map[netip.Prefix]uint32 // planted prefix → its index in Workload.Prefixes
	byPrefix map[netip.Prefix][]VRP  // VRPs by prefix, built on first use (rov)
}

// Plant is one planted route: member Member announces prefix Prefix (an index into Workload.Prefixes);
// Reason is the check that drops it, "" for a route that must be accepted.
type Plant struct {
	Member int
	Prefix uint32
	Reason string
}

// VRP is a validated ROA payload.
type VRP struct {
	Prefix netip.Prefix
	MaxLen int
	ASN    uint32
}

// peeringLANs are the LANs of every daemon's next-hop check (and ixrs's peering_lans): the members'
// session addresses, IPv4 next hops (198.18.0.0/15) and IPv6 next hops.
var peeringLANs = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("2001:db8:ffff::/64"),
}

// Prefix length limits of the realistic policy (ixrs's defaults, docs/policy.md).
const (
	minLen4, maxLen4 = 8, 24
	minLen6, maxLen6 = 12, 48
)

// Bogon lists given to every daemon: ixrs's own (policy/lists.go, docs/policy.md), so that all
// daemons check the same ranges. More-specifics of each prefix are bogons too; the default routes are
// bogons exactly.
var (
	bogonASNRanges                 = policy.BogonASNRanges()
	bogonPrefixes4, bogonPrefixes6 = policy.BogonPrefixes()
)

// Reasons of planted routes.
const (
	reasonBogonPrefix = "bogon prefix"
	reasonBogonASN    = "bogon ASN in path"
	reasonFirstAS     = "first AS not the member's"
	reasonTooLong     = "prefix too long"
	reasonTooShort    = "prefix too short"
	reasonNextHop     = "next hop outside the peering LANs"
	reasonRPKIOrigin  = "RPKI invalid (origin)"
	reasonRPKILength  = "RPKI invalid (length)"
)

// Realistic generates the workload of s (see Generate) and plants the routes the policy drops.
func Realistic(s Spec) (*Workload, error) {
	w, err := Generate(s)
	if err != nil {
		return nil, err
	}
	pl := &Policy{filtered: map[uint64]bool{}, index: map[netip.Prefix]uint32{}}
	w.Policy = pl
	rng := rand.New(rand.NewPCG(s.Seed, 0x9a11))
	// k routes of each kind: 20 on medium, at least 2, at most 60 (the address plan below).
	k := min(max(2, s.Routes/5000), 60)
	n := len(w.Members)
	next := 0
	member := func() *Member { m := w.Members[next%n]; next++; return m }
	path := func(m *Member, rest ...uint32) speaker.ASPath {
		return speaker.ASPath{{Type: speaker.SegSequence, ASNs: append([]uint32{m.ASN}, rest...)}}
	}
	v4 := func(a, b, c byte, bits int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{a, b, c, 0}), bits)
	}
	v6 := func(h0, h1, h2 uint16, bits int) netip.Prefix {
		var b [16]byte
		b[0], b[1], b[2], b[3], b[4], b[5] = byte(h0>>8), byte(h0), byte(h1>>8), byte(h1), byte(h2>>8), byte(h2)
		return netip.PrefixFrom(netip.AddrFrom16(b), bits)
	}
	// Planted IPv4 prefixes live in 185.K.i.0 (K a kind), IPv6 in 2a0f:K:i::/48: below and above
	// everything the allocator hands out (11.0.0.0 upwards, 2a10:: upwards) for any workload here.
	for i := 0; i < k; i++ {
		o := 3200 + uint32(i) // an origin AS
		ib := byte(i)
		// Bogon prefixes.
		m := member()
		w.plant(m, v4(10, 0, ib, 24), path(m, o), nil, reasonBogonPrefix)
		m = member()
		w.plant(m, v6(0x2001, 0x0db8, uint16(i), 48), path(m, o), nil, reasonBogonPrefix)
		m = member()
		w.plant(m, v4(192, 168, ib, 24), path(m), nil, reasonBogonPrefix)
		// Bogon ASNs, anywhere after the member's AS.
		bogons := []uint32{64512 + uint32(i), 23456, 4200000000 + uint32(i), 64496 + uint32(i%16), 65552 + uint32(i)}
		m = member()
		w.plant(m, v4(185, 1, ib, 24), path(m, bogons[i%len(bogons)], o), nil, reasonBogonASN)
		m = member()
		w.plant(m, v6(0x2a0f, 1, uint16(i), 48), path(m, o, bogons[(i+1)%len(bogons)]), nil, reasonBogonASN)
		// First AS not the member's.
		m = member()
		w.plant(m, v4(185, 2, ib, 24), speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{3000 + uint32(i), o}}}, nil, reasonFirstAS)
		m = member()
		w.plant(m, v6(0x2a0f, 2, uint16(i), 48), speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{3000 + uint32(i)}}}, nil, reasonFirstAS)
		// Prefix lengths: IPv4 /25–/28 and /7, IPv6 /11. (IPv6 longer than /48 is not planted: the
		// member side's prefix index keys IPv6 prefixes by their first 48 bits, session.go.)
		m = member()
		w.plant(m, v4(185, 3, ib, 25+i%4), path(m, o), nil, reasonTooLong)
		m = member()
		w.plant(m, v4(byte(20+2*i), 0, 0, 7), path(m, o), nil, reasonTooShort)
		m = member()
		w.plant(m, v6(0x2c00+uint16(i)*0x20, 0, 0, 11), path(m, o), nil, reasonTooShort)
		// Next hop outside the peering LANs (TEST-NET-1, and an IPv6 documentation address outside
		// the IPv6 LAN).
		m = member()
		w.plant(m, v4(185, 4, ib, 24), path(m, o), func(a *speaker.Attrs) {
			a.NextHop = netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i)})
		}, reasonNextHop)
		m = member()
		w.plant(m, v6(0x2a0f, 4, uint16(i), 48), path(m, o), func(a *speaker.Attrs) {
			a.MPNextHop = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xee, 0xee, 15: byte(1 + i)})
		}, reasonNextHop)
		// RPKI invalid: a VRP for another origin; and a VRP for the origin whose maximum length is
		// shorter than the route.
		m = member()
		p := w.plant(m, v4(185, 5, ib, 24), path(m, o), nil, reasonRPKIOrigin)
		pl.VRPs = append(pl.VRPs, VRP{Prefix: p, MaxLen: 24, ASN: o + 1000})
		m = member()
		p = w.plant(m, v6(0x2a0f, 5, uint16(i), 48), path(m, 4000+uint32(i)), nil, reasonRPKIOrigin)
		pl.VRPs = append(pl.VRPs, VRP{Prefix: p, MaxLen: 48, ASN: 4100 + uint32(i)})
		m = member()
		p = w.plant(m, v4(185, 6, byte(4*i), 24), path(m, o), nil, reasonRPKILength)
		pl.VRPs = append(pl.VRPs, VRP{Prefix: netip.PrefixFrom(p.Addr(), 22), MaxLen: 22, ASN: o})
		// One prefix, two members: the shorter path is RPKI invalid, the longer one valid, so the
		// valid one must be everyone's best (the filter drops a route, not the prefix).
		a, b := member(), member()
		p = w.plant(a, v4(185, 7, ib, 24), path(a, 5000, 3600+uint32(i)), nil, "")
		w.plant(b, p, path(b, 3700+uint32(i)), nil, reasonRPKIOrigin)
		pl.VRPs = append(pl.VRPs, VRP{Prefix: p, MaxLen: 24, ASN: 3600 + uint32(i)})
	}
	// Valid: VRPs for every 25th prefix announced by one member only, with its origin.
	origin := make(map[uint32]uint32, len(w.Prefixes))
	for _, m := range w.Members {
		for _, g := range m.Groups {
			asns := g.Attrs.ASPath[len(g.Attrs.ASPath)-1].ASNs
			for _, p := range g.Prefixes {
				origin[p] = asns[len(asns)-1]
			}
		}
	}
	planted := map[uint32]bool{}
	for _, x := range pl.Planted {
		planted[x.Prefix] = true
	}
	for p, ann := range w.Announcers {
		if len(ann) == 1 && p%25 == 0 && !planted[uint32(p)] {
			pfx := w.Prefixes[p]
			pl.VRPs = append(pl.VRPs, VRP{Prefix: pfx, MaxLen: pfx.Bits() + rng.IntN(2), ASN: origin[uint32(p)]})
		}
	}
	pl.MaxPrefix = 2*w.Members[w.Largest()].Routes + 100
	return w, nil
}

// plant adds member m's announcement of pfx with path (and edit applied to its attributes); an
// empty reason means the route is accepted. It returns pfx.
func (w *Workload) plant(m *Member, pfx netip.Prefix, path speaker.ASPath, edit func(*speaker.Attrs), reason string) netip.Prefix {
	pi, again := w.Policy.index[pfx]
	if again { // a second announcer of a planted prefix
		w.Announcers[pi] = append(w.Announcers[pi], int32(m.Index))
	} else {
		pi = uint32(len(w.Prefixes))
		w.Policy.index[pfx] = pi
		w.Prefixes = append(w.Prefixes, pfx)
		w.Announcers = append(w.Announcers, []int32{int32(m.Index)})
	}
	f := speaker.IPv4Unicast
	a := &speaker.Attrs{Origin: speaker.OriginIGP, ASPath: path}
	if pfx.Addr().Is6() {
		f, a.MPNextHop = speaker.IPv6Unicast, m.NextHop6
	} else {
		a.NextHop = m.NextHop4
	}
	if edit != nil {
		edit(a)
	}
	m.Groups = append(m.Groups, Group{Family: f, Attrs: a, Prefixes: []uint32{pi}})
	m.Routes++
	w.Policy.Planted = append(w.Policy.Planted, Plant{Member: m.Index, Prefix: pi, Reason: reason})
	if reason != "" {
		w.Policy.filtered[uint64(m.Index)<<32|uint64(pi)] = true
	}
	return pfx
}

// accepted reports whether the import policy keeps member m's route for prefix p.
func (w *Workload) accepted(m int, p uint32) bool {
	return w.Policy == nil || !w.Policy.filtered[uint64(m)<<32|uint64(p)]
}

// vrpJSON is the VRP file StayRTR serves (rpki-client's JSON format).
func (pl *Policy) vrpJSON() ([]byte, error) {
	type roa struct {
		Prefix    string `json:"prefix"`
		MaxLength int    `json:"maxLength"`
		ASN       uint32 `json:"asn"`
		TA        string `json:"ta"`
	}
	var out struct {
		Metadata struct {
			Buildtime string `json:"buildtime"`
			VRPs      int    `json:"vrps"`
		} `json:"metadata"`
		ROAs []roa `json:"roas"`
	}
	out.Metadata.Buildtime = time.Now().UTC().Format(time.RFC3339)
	out.Metadata.VRPs = len(pl.VRPs)
	for _, v := range pl.VRPs {
		out.ROAs = append(out.ROAs, roa{Prefix: v.Prefix.String(), MaxLength: v.MaxLen, ASN: v.ASN, TA: "ixbench"})
	}
	return json.Marshal(&out)
}

// startRTR runs StayRTR on loopback serving pl's VRPs until the returned stop is called.
func (pl *Policy) startRTR(dir string) (stop func(), err error) {
	b, err := pl.vrpJSON()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "vrps.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		return nil, err
	}
	lo := netip.MustParseAddr("127.0.0.1")
	rp, err := freePort(lo)
	if err != nil {
		return nil, err
	}
	mp, err := freePort(lo)
	if err != nil {
		return nil, err
	}
	pl.RTR, pl.metrics = netip.AddrPortFrom(lo, uint16(rp)), netip.AddrPortFrom(lo, uint16(mp))
	p, err := startProc([]string{"stayrtr", "-bind", pl.RTR.String(), "-cache", file, "-checktime=false",
		"-refresh", "3600", "-metrics.addr", pl.metrics.String()}, dir, false)
	if err != nil {
		return nil, fmt.Errorf("stayrtr: %w", err)
	}
	// Ready when it counts the VRPs it loaded.
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if n, ok := pl.metric("rpki_vrps", `filtered="unfiltered"`); ok && n > 0 {
			return p.stop, nil
		}
		if p.exited() {
			break
		}
	}
	p.stop()
	return nil, fmt.Errorf("stayrtr did not load %d VRPs: %s", len(pl.VRPs), p.tail(5))
}

// metric sums the samples of StayRTR's metric name whose labels contain label.
func (pl *Policy) metric(name, label string) (float64, bool) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + pl.metrics.String() + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	sum, found := 0.0, false
	for _, line := range strings.Split(sb.String(), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if label != "" && !strings.Contains(line, label) {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

// rtrQueries is how many Reset and Serial Queries StayRTR has received.
func (pl *Policy) rtrQueries() float64 {
	n, _ := pl.metric("rtr_pdus", "query")
	return n
}

// rtrSettle is how long a daemon gets to apply the VRPs after asking for them: a few hundred VRPs over
// loopback take milliseconds. A daemon that is slower lets invalid routes through, and the route check
// fails its run; it is not measured wrong.
const rtrSettle = 2 * time.Second

// waitRTR waits until the daemon under test has queried the cache (the query count exceeds before),
// then rtrSettle.
func (pl *Policy) waitRTR(before float64, deadline time.Time) error {
	for time.Now().Before(deadline) {
		if pl.rtrQueries() > before {
			time.Sleep(rtrSettle)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the daemon did not query the RTR cache %s", pl.RTR)
}

// summary counts the planted routes by reason and the VRPs, for the log.
func (pl *Policy) summary() string {
	n := map[string]int{}
	for _, x := range pl.Planted {
		r := x.Reason
		if r == "" {
			r = "valid beside an invalid"
		}
		n[r]++
	}
	keys := make([]string, 0, len(n))
	for r := range n {
		keys = append(keys, r)
	}
	slices.Sort(keys)
	var parts []string
	for _, r := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", n[r], r))
	}
	return fmt.Sprintf("%d planted routes (%s), %d VRPs from stayrtr at %s, max-prefix %d per family",
		len(pl.Planted), strings.Join(parts, ", "), len(pl.VRPs), pl.RTR, pl.MaxPrefix)
}

// RPKI origin validation states as the informational large community RS:1000:N (Euro-IX) tags them:
// every daemon adds it to the routes it accepts, as ixrs does, IXP Manager's configurations do, and
// Alice-LG reads.
const (
	infoRPKI     = 1000
	rpkiValid    = 1
	rpkiNotFound = 2
	rpkiInvalid  = 4
)

// rov returns the RFC 6811 state of origin for pfx against the VRPs.
func (pl *Policy) rov(pfx netip.Prefix, origin uint32) uint32 {
	if pl.byPrefix == nil {
		pl.byPrefix = map[netip.Prefix][]VRP{}
		for _, v := range pl.VRPs {
			pl.byPrefix[v.Prefix] = append(pl.byPrefix[v.Prefix], v)
		}
	}
	covered := false
	for l := pfx.Bits(); l >= 0; l-- {
		q, _ := pfx.Addr().Prefix(l)
		for _, v := range pl.byPrefix[q] {
			covered = true
			if v.ASN == origin && pfx.Bits() <= v.MaxLen && origin != 0 {
				return rpkiValid
			}
		}
	}
	if covered {
		return rpkiInvalid
	}
	return rpkiNotFound
}

// taggedHashes returns the route checker's hashes (check.go) of a's route for pfx with next hop nh, as
// announced and as worsened by member asn, with the RPKI state community every daemon adds.
func (pl *Policy) taggedHashes(pfx netip.Prefix, a *speaker.Attrs, nh netip.Addr, asn uint32) (h, hw uint64) {
	last := a.ASPath[len(a.ASPath)-1].ASNs
	tag := speaker.LargeCommunity{Global: RSASN, Local1: infoRPKI, Local2: pl.rov(pfx, last[len(last)-1])}
	var r route
	r.fromAttrs(a, nh, 0)
	r.large = append(r.large, tag)
	r.canon()
	h = r.hash()
	r.fromAttrs(a, nh, asn)
	r.large = append(r.large, tag)
	r.canon()
	return h, r.hash()
}
