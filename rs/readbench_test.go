package rs

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// BenchmarkReadUnderChurn measures looking-glass reads the way a member sees them: the RIB loop runs
// (Run, as in production), a stream of churn keeps it busy (every member in turn withdraws and
// re-announces 100 of its routes with new attributes, without pause, so the loop never idles), and
// the benchmark submits read jobs through the mailbox and times each to its answer. Per query kind
// it reports the p50 and p99 latency and how many churn UPDATEs per second the loop took in while
// the reads ran; "churn-only" is that rate with no reader, the baseline the others compare to.
//
// Scale: IXRS_BENCH_MEMBERS (default 50) members of IXRS_BENCH_ROUTES (default 2000) routes each,
// half of them shared with the next member; IXRS_BENCH_CLIENTS (default 1) concurrent readers.
// An op is one answered read.
func BenchmarkReadUnderChurn(b *testing.B) {
	members := envInt("IXRS_BENCH_MEMBERS", 50)
	perMember := envInt("IXRS_BENCH_ROUTES", 2000)
	clients := envInt("IXRS_BENCH_CLIENTS", 1)
	perMember -= perMember % 200

	s := quietServer(b)
	ps := make([]*session, members)
	prefixes := make([][]netip.Prefix, members)
	for i := range ps {
		ps[i] = benchPeer(b, s, i+1)
		prefixes[i] = seqPrefixes(i*perMember/2, perMember, false)
	}
	attrs := func(i int, k uint32) *speaker.Attrs {
		p := ps[i]
		return &speaker.Attrs{NextHop: p.addr,
			ASPath:      speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{p.m.asn, 65000 + k%100, 4_200_000_000 + uint32(i)}}},
			Communities: []uint32{p.m.asn<<16 | 1, p.m.asn<<16 | k%7},
		}
	}
	for i, p := range ps {
		for j := 0; j < perMember; j += 100 {
			s.importUpdate(p, &speaker.Update{Attrs: attrs(i, uint32(j/100)), NLRI: prefixes[i][j : j+100]})
		}
	}
	for n := 0; s.pass() && n < 1_000_000; n++ {
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	var churned atomic.Int64
	go func() {
		defer wg.Done()
		for round := uint32(1); ctx.Err() == nil; round++ {
			for i, p := range ps {
				j := int(round) * 100 % perMember
				chunk := prefixes[i][j : j+100]
				if p.ss.Receive(&speaker.Update{Withdrawn: chunk}) != nil ||
					p.ss.Receive(&speaker.Update{Attrs: attrs(i, round), NLRI: chunk}) != nil {
					return
				}
				churned.Add(2)
			}
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	rate := func(b *testing.B, d time.Duration, n0 int64) {
		b.ReportMetric(float64(churned.Load()-n0)/d.Seconds(), "churn-updates/s")
	}
	b.Run("churn-only", func(b *testing.B) {
		for b.Loop() {
			n0, t0 := churned.Load(), time.Now()
			time.Sleep(100 * time.Millisecond)
			rate(b, time.Since(t0), n0)
		}
	})

	queries := []struct {
		name string
		run  func(rng *rand.Rand) error
	}{
		{"received-page", func(rng *rand.Rand) error {
			_, err := s.Routes(ctx, RoutesQuery{Neighbor: ps[rng.IntN(members)].addr, Limit: DefaultPage})
			return err
		}},
		{"prefix-lookup", func(rng *rand.Rand) error {
			i := rng.IntN(members)
			_, err := s.Lookup(ctx, LookupQuery{Prefix: prefixes[i][rng.IntN(perMember)]})
			return err
		}},
		{"origin-search", func(rng *rand.Rand) error {
			_, err := s.Search(ctx, SearchQuery{Origin: 4_200_000_000 + uint32(rng.IntN(members))})
			return err
		}},
		{"as-path-search", func(rng *rand.Rand) error {
			asn := 4_200_000_000 + uint32(rng.IntN(members))
			_, err := s.Search(ctx, SearchQuery{Path: func(p speaker.ASPath) bool {
				return len(p) > 0 && slices.Contains(p[len(p)-1].ASNs, asn)
			}})
			return err
		}},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			bctx, stop := context.WithCancel(ctx)
			var bg sync.WaitGroup
			for c := 1; c < clients; c++ {
				bg.Add(1)
				go func() {
					defer bg.Done()
					rng := rand.New(rand.NewPCG(uint64(c), 2))
					for bctx.Err() == nil {
						_ = q.run(rng)
					}
				}()
			}
			rng := rand.New(rand.NewPCG(1, 1))
			var lat []time.Duration
			n0, t0 := churned.Load(), time.Now()
			for b.Loop() {
				t := time.Now()
				if err := q.run(rng); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
			}
			rate(b, time.Since(t0), n0)
			stop()
			bg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
