package daemon

import (
	"context"
	"net/netip"
	"sync"

	"github.com/ixrs/ixrs/bmp"
	"github.com/ixrs/ixrs/speaker"
)

// bmpExporters are the running BMP exporters, one per [[bmp]] collector. They are started with the
// RIB and stopped with it; a reload does not change them.
type bmpExporters struct {
	list []*bmp.Exporter
}

// startBMP starts an exporter per configured collector; the returned function waits for them to
// end once ctx is done (each sends its collector a Termination on the way out).
func (d *Daemon) startBMP(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	sysName := d.cfg.LookingGlass.Name
	if sysName == "" {
		sysName = d.cfg.Server.RouterID.String()
	}
	for _, c := range d.cfg.BMP {
		stats := c.StatsInterval
		if stats == 0 {
			stats = -1 // "0s": none
		}
		e := bmp.New(d.rib, bmp.Config{Name: c.Name, Address: c.Address,
			PrePolicy: c.Monitors("pre-policy"), PostPolicy: c.Monitors("post-policy"), AdjRIBOut: c.Monitors("adj-rib-out"),
			SysName: sysName, SysDescr: "ixrs route server " + d.opts.Version, StatsInterval: stats,
			Notification: d.lastNotification, Logger: d.log.With("component", "bmp")})
		d.bmp.list = append(d.bmp.list, e)
		wg.Add(1)
		go func() { defer wg.Done(); e.Run(ctx) }()
	}
	return wg.Wait
}

// lastNotification returns the last NOTIFICATION sent or received on neighbor's session, for BMP
// Peer Down messages.
func (d *Daemon) lastNotification(neighbor netip.Addr, sent bool) *speaker.Notification {
	p := d.sp.Peer(neighbor)
	if p == nil {
		return nil
	}
	st := p.Stats()
	n := st.LastReceived
	if sent {
		n = st.LastSent
	}
	if n.Code == 0 {
		return nil
	}
	return &n
}

// BMPStatus returns the state of every BMP exporter, in configuration order.
func (d *Daemon) BMPStatus() []bmp.Status {
	out := make([]bmp.Status, 0, len(d.bmp.list))
	for _, e := range d.bmp.list {
		out = append(out, e.Status())
	}
	return out
}
