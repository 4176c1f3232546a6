package daemon

import (
	"context"
	"net/netip"
	"slices"
	"sync"

	"github.com/ixrs/ixrs/bmp"
	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/speaker"
)

// bmpExporters are the running BMP exporters, one per [[bmp]] collector, in configuration order.
// They live as long as the RIB; a reload starts added collectors, stops removed ones and restarts
// changed ones (applyBMP). list is read by any goroutine under mu; the rest is Run's.
type bmpExporters struct {
	mu   sync.Mutex
	list []*bmpCollector
	wg   sync.WaitGroup
}

// bmpCollector is one running exporter and the configuration it was started with.
type bmpCollector struct {
	cfg  config.BMP
	e    *bmp.Exporter
	stop context.CancelFunc
}

// startBMP starts an exporter per configured collector; the returned function waits for them to
// end once the RIB's context is done (each sends its collector a Termination on the way out).
func (d *Daemon) startBMP() (wait func()) {
	d.applyBMP(d.cfg)
	return d.bmp.wg.Wait
}

// applyBMP makes cfg's [[bmp]] list the one in force. Collectors are matched by name (default:
// the address): an unchanged one keeps its connection, a changed one is disconnected and connected
// again with its new settings (and gets a new dump), a removed one is disconnected with a
// Termination. Member sessions are not touched.
func (d *Daemon) applyBMP(cfg *config.Config) {
	key := func(c config.BMP) string {
		if c.Name != "" {
			return c.Name
		}
		return c.Address
	}
	running := map[string]*bmpCollector{}
	d.bmp.mu.Lock()
	for _, c := range d.bmp.list {
		running[key(c.cfg)] = c
	}
	d.bmp.mu.Unlock()
	list := make([]*bmpCollector, 0, len(cfg.BMP))
	for _, c := range cfg.BMP {
		if r := running[key(c)]; r != nil && sameBMP(r.cfg, c) {
			delete(running, key(c))
			list = append(list, r)
			continue
		}
		list = append(list, d.startCollector(c))
	}
	for _, r := range running {
		d.log.Info("bmp collector removed or changed: disconnecting", "collector", key(r.cfg))
		r.stop()
	}
	d.bmp.mu.Lock()
	d.bmp.list = list
	d.bmp.mu.Unlock()
}

func sameBMP(a, b config.BMP) bool {
	return a.Address == b.Address && a.Name == b.Name && a.StatsInterval == b.StatsInterval &&
		slices.Equal(a.RouteMonitoring, b.RouteMonitoring)
}

func (d *Daemon) startCollector(c config.BMP) *bmpCollector {
	sysName := d.cfg.LookingGlass.Name
	if sysName == "" {
		sysName = d.cfg.Server.RouterID.String()
	}
	stats := c.StatsInterval
	if stats == 0 {
		stats = -1 // "0s": none
	}
	e := bmp.New(d.rib, bmp.Config{Name: c.Name, Address: c.Address,
		PrePolicy: c.Monitors("pre-policy"), PostPolicy: c.Monitors("post-policy"), AdjRIBOut: c.Monitors("adj-rib-out"),
		SysName: sysName, SysDescr: "ixrs route server " + d.opts.Version, StatsInterval: stats,
		Notification: d.lastNotification, Logger: d.log.With("component", "bmp")})
	ctx, cancel := context.WithCancel(d.ribCtx)
	d.bmp.wg.Add(1)
	go func() { defer d.bmp.wg.Done(); e.Run(ctx) }()
	return &bmpCollector{cfg: c, e: e, stop: cancel}
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
	d.bmp.mu.Lock()
	defer d.bmp.mu.Unlock()
	out := make([]bmp.Status, 0, len(d.bmp.list))
	for _, c := range d.bmp.list {
		out = append(out, c.e.Status())
	}
	return out
}
