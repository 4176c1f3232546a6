package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/ixrs/ixrs/mrt"
)

// ErrNoMRT is returned by DumpMRT when [mrt] dump_dir is not set.
var ErrNoMRT = errors.New("mrt dumps not configured ([mrt] dump_dir)")

// startMRT starts the MRT dumper when [mrt] dump_dir is set; the returned function waits for it
// to end once ctx is done. Like the BMP exporters it lives as long as the RIB; a reload does not
// change it.
func (d *Daemon) startMRT(ctx context.Context) (wait func()) {
	c := d.cfg.MRT
	if c.DumpDir == "" {
		return func() {}
	}
	d.mrt = mrt.New(d.rib, mrt.Config{Dir: d.cfg.Resolve(c.DumpDir), Keep: c.Keep, Interval: c.DumpInterval,
		RouterID: d.cfg.Server.RouterID, Logger: d.log.With("component", "mrt")})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.mrt.Run(ctx) }()
	return wg.Wait
}

// DumpMRT writes an MRT dump of the Adj-RIB-In now (mrt.Dumper.Dump).
func (d *Daemon) DumpMRT(ctx context.Context) (mrt.Result, error) {
	if d.mrt == nil {
		return mrt.Result{}, ErrNoMRT
	}
	return d.mrt.Dump(ctx)
}

// MRTStatus returns the MRT dumper's last result, and false when MRT dumps are not configured.
func (d *Daemon) MRTStatus() (mrt.Status, bool) {
	if d.mrt == nil {
		return mrt.Status{}, false
	}
	return d.mrt.Status(), true
}
