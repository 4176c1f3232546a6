package rs

import (
	"context"
	"math/bits"
	"time"

	"github.com/ixrs/ixrs/policy"
)

// Status returns the counters and every configured session's status in one request to the RIB
// loop: what a monitoring scrape needs, at the cost of one control request however many readers
// ask (Stats and Sessions would be two, and could disagree).
func (s *Server) Status(ctx context.Context) (Stats, []SessionStatus, error) {
	var st Stats
	var out []SessionStatus
	err := s.do(ctx, func() {
		st = s.snapshot()
		out = make([]SessionStatus, 0, len(s.sessions))
		for _, m := range s.members {
			for _, ss := range m.sessions {
				out = append(out, s.sessionStatus(ss))
			}
		}
	})
	return st, out, err
}

// Loop phases, the index of Stats.PhaseHistogram.
const (
	PhaseControl = iota
	PhaseInbound
	PhaseOutbound
	PhaseBackground
	NumPhases
)

// PhaseBuckets is the number of finite buckets of a PhaseHistogram. Bucket i counts the phases
// that took at most PhaseBucketBound(i); the last element counts the rest.
const PhaseBuckets = 12

// PhaseHistogram counts loop phases by duration (not cumulative: each phase is counted in one
// bucket). Powers of four from about 1 µs to about 4 s cover an idle pass and a stalled one
// with one increment per phase and no floating point on the loop.
type PhaseHistogram [PhaseBuckets + 1]uint64

// PhaseBucketBound returns the upper bound of bucket i: 2^(10+2i) ns.
func PhaseBucketBound(i int) time.Duration { return time.Duration(1) << (10 + 2*i) }

func (h *PhaseHistogram) observe(d time.Duration) {
	h[phaseBucket(d)]++
}

func phaseBucket(d time.Duration) int {
	if d <= 1<<10 {
		return 0
	}
	b := bits.Len64(uint64(d - 1)) // d <= 2^b
	return min((b-10+1)/2, PhaseBuckets)
}

// ReasonSlots is the size of FamilyCounts.FilteredBy: one slot per reject code in use (1..16)
// and slot 0 for any other.
const ReasonSlots = 17

// countFiltered adds n filtered routes with reasons rs to the session's per-reason counts, under
// the primary reason only so that the counts sum to the filtered routes.
func (p *session) countFiltered(fi famIdx, rs policy.Reasons, n int) {
	r := int(rs.Primary())
	if r >= ReasonSlots {
		r = 0
	}
	p.filteredBy[fi][r] += n
}
