package daemon

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/mrt"
	"github.com/ixrs/ixrs/speaker"
)

// ErrNoMRT is returned by DumpMRT when [mrt] dump_dir is not set.
var ErrNoMRT = errors.New("mrt dumps not configured ([mrt] dump_dir)")

// mrtState is the running MRT dumper and update log. Both live as long as the RIB; a reload that
// changes [mrt] replaces the one whose settings changed (applyMRT). The pointers are read by any
// goroutine (the admin interface, the sessions' readers); the rest is Run's.
type mrtState struct {
	dumper atomic.Pointer[mrt.Dumper]    // nil without dump_dir
	upd    atomic.Pointer[mrt.UpdateLog] // nil without updates

	cfg        config.MRT // in force
	dir        string     // dump_dir resolved
	stopDumper context.CancelFunc
	stopUpd    chan struct{}
	wg         sync.WaitGroup
}

// startMRT starts the MRT dumper and the update log as [mrt] says; the returned function stops
// them and waits for them to end (the update log finishes its current file).
func (d *Daemon) startMRT(ctx context.Context) (wait func()) {
	d.applyMRT(ctx, d.cfg)
	return func() {
		d.applyMRT(ctx, &config.Config{})
		d.mrt.wg.Wait()
	}
}

// applyMRT makes cfg's [mrt] the one in force: the dumper is replaced when its settings changed
// (a dump on demand already running finishes on the old one), the update log when its settings
// changed (the old one finishes its file; the new one logs from the next UPDATE). ctx is the
// RIB's: it ends both at shutdown.
func (d *Daemon) applyMRT(ctx context.Context, cfg *config.Config) {
	s := &d.mrt
	c := cfg.MRT
	dir := ""
	if c.DumpDir != "" {
		dir = cfg.Resolve(c.DumpDir)
	}
	old := s.cfg
	changedDumps := dir != s.dir || c.DumpInterval != old.DumpInterval || c.Keep != old.Keep
	changedUpd := dir != s.dir || c.Updates != old.Updates || c.UpdatesInterval != old.UpdatesInterval ||
		c.UpdatesKeep != old.UpdatesKeep || !slices.Equal(c.UpdatesMembers, old.UpdatesMembers)
	log := d.log.With("component", "mrt")
	if dir != "" {
		// Created here, at start and at every reload (one that finds it removed too): a missing
		// directory would fail every dump and every update file. A failure is logged; the dumps
		// then fail with the same error, which the admin interface reports.
		if err := os.MkdirAll(dir, 0o750); err != nil {
			log.Error("mrt: cannot create dump_dir", "dir", dir, "err", err)
		}
	}
	if changedDumps {
		if s.stopDumper != nil {
			s.stopDumper()
			s.stopDumper = nil
		}
		s.dumper.Store(nil)
		if dir != "" {
			dm := mrt.New(d.rib, mrt.Config{Dir: dir, Keep: c.Keep, Interval: c.DumpInterval,
				RouterID: d.cfg.Server.RouterID, Logger: log, Routing: d.rib.RoutingTime})
			dctx, cancel := context.WithCancel(ctx)
			s.stopDumper = cancel
			s.dumper.Store(dm)
			s.wg.Add(1)
			go func() { defer s.wg.Done(); dm.Run(dctx) }()
		}
	}
	if changedUpd {
		var nu *mrt.UpdateLog
		if c.Updates && dir != "" {
			nu = mrt.NewUpdateLog(mrt.UpdateLogConfig{Dir: dir, Interval: c.UpdatesInterval, Keep: c.UpdatesKeep,
				Members: c.UpdatesMembers, Logger: log})
		}
		s.upd.Store(nu) // sessions log to the new one from their next UPDATE
		if s.stopUpd != nil {
			close(s.stopUpd)
			s.stopUpd = nil
		}
		if nu != nil {
			stop := make(chan struct{})
			s.stopUpd = stop
			s.wg.Add(1)
			go func() { defer s.wg.Done(); nu.Run(stop) }()
		}
	}
	s.cfg, s.dir = c, dir
}

// updateSource is a session's identity in the update log: set when the session is established,
// cleared when it goes down. Its hook runs on the session's reader goroutine.
type updateSource struct {
	d    *Daemon
	peer atomic.Pointer[mrt.UpdatePeer]
}

// onMessage is the speaker's PeerConfig.OnMessage: with an update log running and the session
// established, the message goes to the log (which keeps UPDATEs only and never blocks). Off, it
// costs two atomic loads per message.
func (u *updateSource) onMessage(_ *speaker.Peer, msg []byte) {
	l := u.d.mrt.upd.Load()
	if l == nil {
		return
	}
	if p := u.peer.Load(); p != nil {
		l.Log(p, msg)
	}
}

// established records the session p for the update log; member is the RIB member's name. A nil
// updateSource (a handler built without one) does nothing.
func (u *updateSource) established(p *speaker.Peer, member string, peerAS uint32, fourOctetAS bool) {
	if u == nil {
		return
	}
	local, remote := p.ConnAddrs()
	u.peer.Store(&mrt.UpdatePeer{Member: member, PeerAS: peerAS, LocalAS: p.Config().LocalAS,
		Peer: remote.Addr(), Local: local.Addr(), FourOctetAS: fourOctetAS})
}

func (u *updateSource) down() {
	if u != nil {
		u.peer.Store(nil)
	}
}

// DumpMRT writes an MRT dump of the Adj-RIB-In now (mrt.Dumper.Dump).
func (d *Daemon) DumpMRT(ctx context.Context) (mrt.Result, error) {
	dm := d.mrt.dumper.Load()
	if dm == nil {
		return mrt.Result{}, ErrNoMRT
	}
	return dm.Dump(ctx)
}

// MRTStatus returns the MRT dumper's last result, and false when MRT dumps are not configured.
func (d *Daemon) MRTStatus() (mrt.Status, bool) {
	dm := d.mrt.dumper.Load()
	if dm == nil {
		return mrt.Status{}, false
	}
	return dm.Status(), true
}

// MRTUpdatesStatus returns the update log's counters, and false when [mrt] updates is off.
func (d *Daemon) MRTUpdatesStatus() (mrt.UpdateLogStatus, bool) {
	l := d.mrt.upd.Load()
	if l == nil {
		return mrt.UpdateLogStatus{}, false
	}
	return l.Status(), true
}
