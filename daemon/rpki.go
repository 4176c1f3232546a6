package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/rpki"
	"github.com/ixrs/ixrs/rs"
)

// RPKI data: the RTR client (when [rpki] has caches) and the VRP file are two sources; the feed
// goroutine picks one — the caches while one of them has unexpired data, else the file — applies
// the SLURM file to it and hands the result to the RIB through SetVRPs with the VRP prefixes that
// changed, so the RIB revalidates only the routes those cover. It never runs on the RIB loop: it
// waits for SetVRPs like any other input. When neither source has data, the RIB gets nil VRPs
// and every route is RPKI "not checked" (docs/rpki.md).
//
// ASPA records come only from a cache that speaks RTR version 2: while the caches' data is in use
// and its cache sent them, the RIB gets them through SetASPA with the customers that changed;
// otherwise (a version 0/1 cache, the VRP file, no data) it gets none and every route is ASPA "not
// checked" — an empty table would make every path "unknown".

// rpkiFeed owns the RPKI sources and the snapshot in force.
type rpkiFeed struct {
	log    *slog.Logger
	rib    *rs.Server
	client *rpki.Client // nil without caches
	files  chan rpkiFiles
	ended  chan struct{} // closed when the feed goroutine returns
	// hasASPA reports whether the cache at an address sends ASPA records (speaks version 2);
	// nil: none does.
	hasASPA func(cache string) bool

	mu     sync.Mutex
	status RPKIStatus

	// Owned by the feed goroutine.
	cache   *rpki.Table // the caches' data (nil: none unexpired)
	file    *rpki.Table // the VRP file's data (nil: none)
	slurm   *rpki.SLURM
	raw     *rpki.Table     // the source data the snapshot in force was built from
	inForce *rpki.Table     // what the RIB has (nil: nothing, every route "not checked")
	aspa    *rpki.ASPATable // the caches' ASPA records (nil: none, or a cache below version 2)
	aspaIn  *rpki.ASPATable // the ASPA records the RIB has (nil: none)
}

// rpkiFiles is what loadVRPs read: the VRP file's data and the SLURM file; a file that was
// refused is not ok, and the feed keeps the one in force. done is closed once the feed has handed
// the result to the RIB.
type rpkiFiles struct {
	vrps            *rpki.Table
	slurm           *rpki.SLURM
	vrpsOK, slurmOK bool
	done            chan struct{}
}

// RPKIStatus is the RPKI state for the read side (looking glass, metrics).
type RPKIStatus struct {
	// Source is "rtr" (a cache's data), "file" (vrp_file) or "" (no data: every route is "not
	// checked").
	Source string
	// Cache is the address of the cache in use with Source "rtr".
	Cache string
	// VRPsIPv4 and VRPsIPv6 count the VRPs in force, SLURM applied.
	VRPsIPv4, VRPsIPv6 int
	// ASPAs counts the ASPA records of the cache in use.
	ASPAs int
	// Updated is when the data in force last changed.
	Updated time.Time
	// SLURMFilters and SLURMAssertions count the prefix entries of the SLURM file in force.
	SLURMFilters, SLURMAssertions int
	// Caches is every configured cache, in configuration order.
	Caches []rpki.CacheStatus
}

// RPKIStatus returns the RPKI state. Safe for concurrent use.
func (d *Daemon) RPKIStatus() RPKIStatus {
	f := d.rpki
	f.mu.Lock()
	st := f.status
	f.mu.Unlock()
	if f.client != nil {
		st.Caches = f.client.Status()
	}
	return st
}

// newRPKIFeed builds the RTR client from [rpki]; it connects only when run.
func newRPKIFeed(cfg *config.Config, rib *rs.Server, log *slog.Logger) (*rpkiFeed, error) {
	f := &rpkiFeed{log: log, rib: rib, files: make(chan rpkiFiles), ended: make(chan struct{})}
	if len(cfg.RPKI.Caches) == 0 {
		return f, nil
	}
	rc := rpki.Config{Refresh: cfg.RPKI.Refresh, Retry: cfg.RPKI.Retry, Expire: cfg.RPKI.Expire,
		MaxRecords: cfg.RPKI.MaxRecords, Logger: log}
	for i, c := range cfg.RPKI.Caches {
		cc := rpki.CacheConfig{Address: c.Address, Preference: c.Preference, Version: uint8(c.Version)}
		if c.Transport == "tls" {
			tc, err := cacheTLS(cfg, c)
			if err != nil {
				return nil, fmt.Errorf("rpki.caches[%d] %s: %w", i, c.Address, err)
			}
			cc.TLS = tc
		}
		rc.Caches = append(rc.Caches, cc)
	}
	client, err := rpki.NewClient(rc)
	if err != nil {
		return nil, err
	}
	f.client = client
	f.hasASPA = f.speaksASPA
	return f, nil
}

// cacheTLS is the TLS configuration of a cache: its CA file (or the system's roots) and the name
// its certificate must carry.
func cacheTLS(cfg *config.Config, c config.RPKICache) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName}
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(c.Address)
		if err != nil {
			return nil, err
		}
		tc.ServerName = host
	}
	if c.TLSCA != "" {
		pem, err := os.ReadFile(cfg.Resolve(c.TLSCA))
		if err != nil {
			return nil, fmt.Errorf("tls_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca %s: no PEM certificate in it", c.TLSCA)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// start runs the feed (and the RTR client) until ctx is done; the returned function waits for
// both to end.
func (f *rpkiFeed) start(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	var updates <-chan rpki.Update
	if f.client != nil {
		updates = f.client.Updates()
		wg.Go(func() { _ = f.client.Run(ctx) })
	}
	wg.Go(func() {
		defer close(f.ended)
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-updates:
				f.fromCache(ctx, u)
			case fl := <-f.files:
				f.fromFiles(ctx, fl)
			}
		}
	})
	return wg.Wait
}

// setFiles hands newly read files to the feed and waits until the RIB has the result (or the
// feed has ended), so data loaded at start is in force before the first session comes up.
func (f *rpkiFeed) setFiles(fl rpkiFiles) {
	fl.done = make(chan struct{})
	select {
	case f.files <- fl:
	case <-f.ended:
		return
	}
	select {
	case <-fl.done:
	case <-f.ended:
	}
}

func (f *rpkiFeed) fromCache(ctx context.Context, u rpki.Update) {
	prev := f.cache
	f.cache = u.VRPs
	switch {
	case u.VRPs == nil && prev != nil && f.file != nil:
		f.log.Error("RPKI: no RTR cache has unexpired data; falling back to the VRP file")
	case u.VRPs == nil && prev != nil:
		f.log.Error("RPKI: no RTR cache has unexpired data and there is no VRP file: every route is now RPKI \"not checked\"")
	}
	f.aspa = nil
	if u.VRPs != nil && f.hasASPA != nil && f.hasASPA(u.Cache) {
		f.aspa = u.ASPAs
	}
	f.mu.Lock()
	f.status.Cache, f.status.ASPAs = u.Cache, u.ASPAs.Len()
	f.mu.Unlock()
	f.push(ctx, &u)
}

func (f *rpkiFeed) fromFiles(ctx context.Context, fl rpkiFiles) {
	defer close(fl.done)
	if !fl.vrpsOK {
		fl.vrps = f.file
	}
	if !fl.slurmOK {
		fl.slurm = f.slurm
	}
	slurmChanged := !f.slurm.Equal(fl.slurm)
	// An unchanged file is the same table (the file cache, filecache.go): nothing to compare. A
	// changed one is compared up to its first difference; push works out all of them.
	fileChanged := fl.vrps != f.file && ((f.file == nil) != (fl.vrps == nil) || !rpki.Equal(f.file, fl.vrps))
	if !slurmChanged && !fileChanged {
		return
	}
	f.file, f.slurm = fl.vrps, fl.slurm
	if slurmChanged {
		f.raw = nil // forces a full rebuild
		nf, na := fl.slurm.Counts()
		f.mu.Lock()
		f.status.SLURMFilters, f.status.SLURMAssertions = nf, na
		f.mu.Unlock()
	}
	f.push(ctx, nil)
}

// speaksASPA reports whether the cache at addr last answered in RTR version 2, the version with
// ASPA records.
func (f *rpkiFeed) speaksASPA(addr string) bool {
	for _, c := range f.client.Status() {
		if c.Address == addr {
			return c.Version >= 2
		}
	}
	return false
}

// pushASPA hands the ASPA records that go with the VRP source in use to the RIB, when they changed.
func (f *rpkiFeed) pushASPA(ctx context.Context) {
	want := f.aspa
	if f.cache == nil {
		want = nil // the VRP file or nothing: no ASPA source
	}
	if want == f.aspaIn {
		return
	}
	u := rs.ASPAUpdate{ChangedCustomers: rpki.ASPAChanged(f.aspaIn, want)}
	if want != nil {
		u.ASPA = want // a nil *ASPATable must not become a non-nil interface
	}
	if f.aspaIn != nil {
		u.Base = f.aspaIn
	}
	if err := f.rib.SetASPA(ctx, u, nil); err != nil {
		if ctx.Err() == nil {
			f.log.Error("ASPA data not handed to the RIB", "err", err)
		}
		return
	}
	f.aspaIn = want
	f.log.Info("ASPA data in force", "customers", want.Len(), "changed_customers", len(u.ChangedCustomers))
}

// push works out the snapshot the RIB should have and hands it over. incr, when not nil, is the
// cache Update that leads to the caches' new data (usable when its Base is f.raw).
func (f *rpkiFeed) push(ctx context.Context, incr *rpki.Update) {
	raw, source := f.cache, "rtr"
	if raw == nil {
		raw, source = f.file, "file"
	}
	if raw == nil {
		source = ""
	}
	f.pushASPA(ctx)
	if raw == f.raw && (raw != nil || f.inForce == nil) {
		return // nothing new for the RIB
	}
	var eff *rpki.Table
	var changed []netip.Prefix
	switch {
	case raw == nil:
	case f.slurm == nil && incr != nil && f.raw != nil && incr.Base == f.raw:
		eff, changed = raw, incr.Changed // snapshots are immutable: share the source's
	case f.slurm == nil:
		eff, changed = raw, rpki.Changed(f.inForce, raw).Prefixes()
	case incr != nil && f.raw != nil && incr.Base == f.raw:
		eff, changed = f.slurm.Update(f.inForce, f.raw, raw, incr.Changed)
	default:
		eff = f.slurm.Table(raw)
		changed = rpki.Changed(f.inForce, eff).Prefixes()
	}
	u := rs.VRPUpdate{Changed: changed}
	if eff != nil {
		u.VRPs = eff // a nil *Table must not become a non-nil interface
	}
	if f.inForce != nil {
		u.Base = f.inForce
	}
	if err := f.rib.SetVRPs(ctx, u, nil); err != nil {
		if ctx.Err() == nil {
			f.log.Error("RPKI data not handed to the RIB", "err", err)
		}
		return
	}
	f.raw, f.inForce = raw, eff
	v4, v6 := eff.Len()
	f.mu.Lock()
	f.status.Source, f.status.VRPsIPv4, f.status.VRPsIPv6, f.status.Updated = source, v4, v6, time.Now()
	if source != "rtr" {
		f.status.Cache, f.status.ASPAs = "", 0
	}
	f.mu.Unlock()
	if source == "" {
		f.log.Error("RPKI: no data from any source; every route is RPKI \"not checked\"")
		return
	}
	f.log.Info("RPKI data in force", "source", source, "ipv4", v4, "ipv6", v6, "changed_prefixes", len(changed))
}
