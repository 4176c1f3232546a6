package daemon

import (
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
