package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rpki"
)

// Policy data files: the VRP file and each member's IRR files. They are read at start and on every
// SIGHUP. A file that cannot be read or parsed is refused with its error and the data already in
// force stays; data that did not change triggers nothing; changed data is swapped in and the
// affected routes are re-evaluated by the RIB without resetting any session.

// loadIRR reads a member's IRR files. A member with neither file has no IRR data (nil).
func loadIRR(cfg *config.Config, m config.Member) (*policy.IRR, error) {
	if m.IRRPrefixFile == "" && m.IRRASNFile == "" {
		return nil, nil
	}
	var prefixes []policy.IRRPrefix
	var asns []uint32
	if m.IRRPrefixFile != "" {
		path := cfg.Resolve(m.IRRPrefixFile)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("irr_prefix_file: %w", err)
		}
		if prefixes, err = policy.ParseBGPQ4JSON(data); err != nil {
			return nil, fmt.Errorf("irr_prefix_file %s: %w", path, err)
		}
	}
	if m.IRRASNFile != "" {
		path := cfg.Resolve(m.IRRASNFile)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("irr_asn_file: %w", err)
		}
		if asns, err = policy.ParseASNList(data); err != nil {
			return nil, fmt.Errorf("irr_asn_file %s: %w", path, err)
		}
	}
	return policy.NewIRR(prefixes, asns), nil
}

// refreshIRR loads member m's IRR files into src and reports whether the data changed. On error
// src keeps what it had.
func (d *daemon) refreshIRR(m config.Member, src *policy.IRRSource) bool {
	irr, err := loadIRR(d.cfg, m)
	if err != nil {
		d.log.Error("IRR data refused; the data in force stays", "member", m.Name, "asn", m.ASN, "err", err)
		return false
	}
	if src.Load().Equal(irr) {
		return false
	}
	src.Store(irr)
	np, na := irr.Counts()
	d.log.Info("IRR data loaded", "member", m.Name, "asn", m.ASN, "prefixes", np, "asns", na)
	return true
}

// refreshVRPs loads the VRP file, if configured. It returns which routes the change may affect
// (those covered by a VRP that was added or removed), or nil when nothing changed.
func (d *daemon) refreshVRPs() func(netip.Prefix) bool {
	if d.cfg.RPKI.VRPFile == "" {
		return nil
	}
	path := d.cfg.Resolve(d.cfg.RPKI.VRPFile)
	t, err := rpki.LoadFile(path)
	if err != nil {
		d.log.Error("VRP file refused; the VRPs in force stay", "err", err)
		return nil
	}
	old := d.vrps.Load()
	diff := rpki.Changed(old, t)
	if old != nil && diff.Len() == 0 {
		return nil
	}
	d.vrps.Set(t)
	v4, v6 := t.Len()
	d.log.Info("VRPs loaded", "file", path, "ipv4", v4, "ipv6", v6, "changed_prefixes", diff.Len())
	if old == nil {
		return everything
	}
	return diff.Covers
}

// everything selects every route for re-evaluation.
func everything(netip.Prefix) bool { return true }

// reloadData re-reads every data file and re-evaluates what changed: the routes covered by an
// added or removed VRP, and the routes of members whose IRR data changed.
func (d *daemon) reloadData(ctx context.Context) {
	if affected := d.refreshVRPs(); affected != nil {
		if err := d.rib.ReevaluatePrefixes(ctx, affected, nil); err != nil {
			d.log.Error("re-evaluate", "err", err)
		}
	}
	for name, rm := range d.members {
		if d.refreshIRR(rm.cfg, rm.irr) {
			if err := d.rib.Reevaluate(ctx, name, nil); err != nil {
				d.log.Error("re-evaluate", "member", name, "err", err)
			}
		}
	}
}
