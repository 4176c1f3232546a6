package rs

import (
	"math"
	"testing"

	"github.com/ixrs/ixrs/speaker"
)

// countingOut is discardOut that also counts Queue calls: each is a wake-up of the session's writer
// and, in the daemon, a write system call.
type countingOut struct {
	discardOut
	calls int
}

func (o *countingOut) Queue(b []byte) (int, error) {
	if len(b) > 0 {
		o.calls++
	}
	return o.discardOut.Queue(b)
}

// BenchmarkConverge is the initial convergence of cmd/ixbench's medium workload on the RIB loop
// alone: every member up with an infinitely fast output, then the members' tables arrive through
// their inbound queues, refilled before every pass as fast readers would (UPDATEs of 12 prefixes,
// the workload's average; member tables Zipf-sized with exponent 1.2 as in the workload, so the
// largest member holds about a quarter of the routes and sends long after the others are done).
// One op is the whole convergence; decoding and the sockets are not in it. Besides the time it
// reports the loop passes and the Queue calls (each a writer wake-up and a write in the daemon).
// IXRS_BENCH_MEMBERS and IXRS_BENCH_ROUTES change the size.
func BenchmarkConverge(b *testing.B) {
	members, routes := envInt("IXRS_BENCH_MEMBERS", 100), envInt("IXRS_BENCH_ROUTES", 100_000)
	const perUpdate = 12
	sizes := make([]int, members)
	sum := 0.0
	for k := range sizes {
		sum += math.Pow(float64(k+1), -1.2)
	}
	for k := range sizes {
		sizes[k] = max(perUpdate, int(float64(routes)*math.Pow(float64(k+1), -1.2)/sum))
	}
	var passes, queues, msgs int
	for b.Loop() {
		b.StopTimer()
		s := newTestServer(b, func(c *Config) { c.OutHighWater = 1 << 30 })
		peers := make([]*session, members)
		for i := range peers {
			peers[i] = benchPeer(b, s, i)
			peers[i].out = &countingOut{}
		}
		for s.pass() { // the sessions' (empty) table dumps and End-of-RIBs, as in ixbench
		}
		ups := make([][]*speaker.Update, members)
		total, first := 0, 0
		for i, p := range peers {
			ps := seqPrefixes(first, sizes[i], false)
			first += sizes[i]
			for j := 0; j < len(ps); j += perUpdate {
				ups[i] = append(ups[i], &speaker.Update{Attrs: benchAttrs(p, uint32(j/perUpdate%5)), NLRI: ps[j:min(j+perUpdate, len(ps))]})
			}
			total += len(ps)
		}
		p0 := s.stats.passes
		q0, m0 := 0, 0
		for _, p := range peers {
			q0 += p.out.(*countingOut).calls
			m0 += int(p.msgsOut)
		}
		b.StartTimer()
		for {
			left := false
			for i, p := range peers {
				for len(ups[i]) > 0 && len(p.ib.ch) < cap(p.ib.ch) {
					p.ib.ch <- inMsg{u: ups[i][0]}
					ups[i] = ups[i][1:]
					if p.ib.sched.CompareAndSwap(false, true) {
						s.mail.post(mailEvent{kind: evReady, ib: p.ib})
					}
				}
				left = left || len(p.ib.ch) > 0
			}
			if !s.pass() && !left {
				break
			}
		}
		b.StopTimer()
		passes = int(s.stats.passes - p0)
		st := s.snapshot()
		if st.Routes != total || st.Pending != 0 {
			b.Fatalf("routes %d of %d, pending %d", st.Routes, total, st.Pending)
		}
		queues, msgs = -q0, -m0
		for _, p := range peers {
			queues += p.out.(*countingOut).calls
			msgs += int(p.msgsOut)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(passes), "passes")
	b.ReportMetric(float64(queues), "queues")
	b.ReportMetric(float64(msgs), "msgs-out")
}
