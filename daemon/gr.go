package daemon

import (
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/speaker"
)

// helperRestartTime is the restart time the route server advertises. It lists no families in its
// graceful-restart capability (RFC 4724 §3): it only helps members restart and keeps no state of
// its own across a restart of its own, so members drop its routes when it restarts (the second
// route server of the exchange carries them meanwhile). The time then only tells members how
// soon to expect it back.
const helperRestartTime = 120

// grCapability returns the graceful-restart capability to advertise, or nil when it is off.
func grCapability(srv config.Server) *speaker.GracefulRestart {
	if !srv.GracefulRestart {
		return nil
	}
	return &speaker.GracefulRestart{RestartTime: helperRestartTime}
}

// downGraceful reports whether a session's end lets the member's routes stay as stale: it ended
// without a NOTIFICATION (RFC 4724 §4.2). Whether the member negotiated graceful restart is the
// RIB's to check (rs.SessionInfo.GracefulRestart).
func downGraceful(err error) bool { return speaker.EndedWithoutNotification(err) }

// llgrCapability returns the long-lived graceful-restart capability to advertise to member mc
// (RFC 9494), or nil when its llgr_stale_time is 0 or graceful restart is off. Both unicast
// families, forwarding state not kept (the route server keeps none of its own across a restart),
// with the configured time: what the member may expect the route server to keep of its routes.
func llgrCapability(srv config.Server, mc config.Member) []speaker.LLGRFamily {
	if !srv.GracefulRestart || mc.LLGRStaleTime <= 0 {
		return nil
	}
	t := llgrSeconds(mc.LLGRStaleTime)
	return []speaker.LLGRFamily{{Family: speaker.IPv4Unicast, StaleTime: t}, {Family: speaker.IPv6Unicast, StaleTime: t}}
}

// llgrNegotiated returns the member's capability with each long-lived stale time lowered to the
// configured one: how long the RIB keeps the member's routes long-lived stale. nil stays nil (not
// negotiated).
func llgrNegotiated(remote []speaker.LLGRFamily, limit time.Duration) []speaker.LLGRFamily {
	if remote == nil {
		return nil
	}
	out := make([]speaker.LLGRFamily, len(remote))
	for i, f := range remote {
		f.StaleTime = min(f.StaleTime, llgrSeconds(limit))
		out[i] = f
	}
	return out
}

func llgrSeconds(d time.Duration) uint32 {
	return uint32(min(d/time.Second, speaker.MaxLLGRStaleTime))
}
