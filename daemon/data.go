package daemon

import (
	"context"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rpki"
	"github.com/ixrs/ixrs/rs"
)

// Policy data files: the VRP file and each member's IRR files. They are read at start and on every
// reload. A file that cannot be read or parsed is refused with its error and the data already in
// force stays; data that did not change triggers nothing; changed data is handed to the RIB through
// its typed inputs (SetVRPs, SetIRR), which swaps it in and revalidates only the routes it affects,
// without resetting any session.

// refreshIRR loads the IRR files of every member and hands the data that changed to the RIB in one
// input (rs.SetIRRs), so that the members' routes are revalidated in one walk. On error a member's
// data in force stays.
func (d *Daemon) refreshIRR(ctx context.Context) {
	type loaded struct {
		m   *member
		irr *policy.IRR
	}
	var changed []loaded
	var in []rs.MemberIRR
	for _, m := range d.members {
		irr, err := d.files.irr(d.cfg, m.cfg)
		if err != nil {
			d.log.Error("IRR data refused; the data in force stays", "member", m.cfg.Name, "asn", m.cfg.ASN, "err", err)
			continue
		}
		if m.irr == irr || m.irr.Equal(irr) {
			continue
		}
		changed = append(changed, loaded{m, irr})
		in = append(in, rs.MemberIRR{Name: m.cfg.Name, IRR: irr})
	}
	if len(in) == 0 {
		return
	}
	if err := d.rib.SetIRRs(ctx, in, nil); err != nil {
		d.log.Error("IRR data", "members", len(in), "err", err)
		return
	}
	for _, l := range changed {
		l.m.irr = l.irr
		np, na := l.irr.Counts()
		d.log.Info("IRR data loaded", "member", l.m.cfg.Name, "asn", l.m.cfg.ASN, "prefixes", np, "asns", na)
	}
}

// loadVRPs reads the VRP file and the SLURM file, those configured, and hands them to the RPKI
// feed (rpki.go), which applies what changed to the RIB before loadVRPs returns. A file that cannot
// be read or parsed is refused with its error and the one in force stays.
func (d *Daemon) loadVRPs() {
	r := d.cfg.RPKI
	fl := rpkiFiles{vrpsOK: true, slurmOK: true}
	if r.VRPFile != "" {
		path := d.cfg.Resolve(r.VRPFile)
		t, err := d.files.vrpFile(path)
		if err != nil {
			d.log.Error("VRP file refused; the VRPs in force stay", "err", err)
			fl.vrpsOK = false
		} else {
			fl.vrps = t
			v4, v6 := t.Len()
			d.log.Info("VRP file read", "file", path, "ipv4", v4, "ipv6", v6)
		}
	}
	if r.SLURMFile != "" {
		path := d.cfg.Resolve(r.SLURMFile)
		s, err := rpki.LoadSLURM(path)
		if err != nil {
			d.log.Error("SLURM file refused; the one in force stays", "err", err)
			fl.slurmOK = false
		} else {
			fl.slurm = s
			nf, na := s.Counts()
			d.log.Info("SLURM file read", "file", path, "prefix_filters", nf, "prefix_assertions", na)
		}
	}
	d.rpki.setFiles(fl)
}

// reloadData re-reads every data file.
func (d *Daemon) reloadData(ctx context.Context) {
	d.loadVRPs()
	d.refreshIRR(ctx)
	// Files no longer configured leave the cache.
	keep := map[string]bool{}
	if d.cfg.RPKI.VRPFile != "" {
		keep["vrp\x00"+d.cfg.Resolve(d.cfg.RPKI.VRPFile)] = true
	}
	for _, m := range d.members {
		keep[irrKey(d.cfg, m.cfg)] = true
	}
	d.files.forget(keep)
}
