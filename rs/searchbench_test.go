package rs

import (
	"slices"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// searchTable builds members × perMember routes in sets of 10 routes, with paths member AS, a
// common transit AS (65000+k%100) and an origin per set; one route in every 1000 carries the rare
// AS 4_100_000_000+(its member) as origin instead, and the community rareCommunity+(its member).
// It returns the server after convergence.
func searchTable(b testing.TB, members, perMember int) *Server {
	s := quietServer(b)
	for i := 0; i < members; i++ {
		p := benchPeer(b, s, i+1)
		pfx := seqPrefixes(i*perMember, perMember, false)
		for j := 0; j < perMember; j += 10 {
			origin := 4_200_000_000 + uint32(j)
			if j%1000 == 0 {
				origin = 4_100_000_000 + uint32(i)
			}
			a := &speaker.Attrs{NextHop: p.addr,
				ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: []uint32{p.m.asn, 65000 + uint32(j/10%100), origin}}}}
			if j%1000 == 0 {
				a.Communities = []uint32{rareCommunity + uint32(i)}
			}
			s.importUpdate(p, &speaker.Update{Attrs: a, NLRI: pfx[j:min(j+10, perMember)]})
		}
	}
	for n := 0; s.pass() && n < 1_000_000; n++ {
	}
	return s
}

// rareCommunity is the first of searchTable's rare communities (65535:1000 on).
const rareCommunity = 0xffff<<16 | 1000

// runSearch runs a search job to its end on the loop's goroutine, with budget per step, and
// returns the page and the work the job counted.
func runSearch(b testing.TB, s *Server, q SearchQuery, budget int) (RoutesPage, int) {
	j, err := newSearchJob(q)
	if err != nil {
		b.Fatal(err)
	}
	for steps := 0; ; steps++ {
		if steps > 1_000_000 {
			b.Fatal("search did not end")
		}
		if _, done := j.step(s, budget); done {
			break
		}
	}
	if j.err != nil {
		b.Fatal(j.err)
	}
	return j.page, j.work
}

// BenchmarkSearchSmallAnswer: searches whose answer is a few routes of a 40 × 5,000-route table (the
// rare origin or community of one member: 5 routes), run as a job on the loop's goroutine with the background
// budget, so ns/op is the RIB loop's CPU per page; work/op is what the page counted against
// Config.ReadLimit.
func BenchmarkSearchSmallAnswer(b *testing.B) {
	members := envInt("IXRS_BENCH_MEMBERS", 40)
	perMember := envInt("IXRS_BENCH_ROUTES", 5000)
	s := searchTable(b, members, perMember)
	rare := uint32(4_100_000_000 + members/2)
	qs := []struct {
		name string
		q    SearchQuery
	}{
		{"origin", SearchQuery{Origin: rare}},
		{"asn", SearchQuery{ASN: rare}},
		{"as-path-with-asn", SearchQuery{PathASNs: []uint32{rare}, Path: func(p speaker.ASPath) bool {
			return len(p) > 0 && slices.Contains(p[len(p)-1].ASNs, rare)
		}}},
		{"community", SearchQuery{Communities: []uint32{rareCommunity + uint32(members/2)}}},
	}
	s.sets.terms() // built by the first search that names a community (BenchmarkTermIndexBuild)
	for _, c := range qs {
		b.Run(c.name, func(b *testing.B) {
			var work int
			for b.Loop() {
				pg, w := runSearch(b, s, c.q, 1024)
				if len(pg.Routes) == 0 || pg.More {
					b.Fatalf("%d routes, more %v", len(pg.Routes), pg.More)
				}
				work += w
			}
			b.ReportMetric(float64(work)/float64(b.N), "work/op")
		})
	}
}
