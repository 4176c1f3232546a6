package policy

import (
	"slices"
	"strconv"
)

// Export is the export-control summary of one attribute set: which target members the route may be
// sent to. It is computed once per set (ExportControl.Summarize) so that the per-target question,
// asked for every member on every change, is a constant-time lookup. The zero value allows every
// target.
type Export struct {
	control bool // any control community present: they must be stripped on export
	notAny  bool // "do not announce to any"
	// deny and allow hold target ASNs; small lists are scanned (a route carries a handful of
	// control communities), long ones are looked up in the maps.
	deny, allow       []uint32
	denyMap, allowMap map[uint32]struct{}
}

// smallList is the list length up to which a scan beats a map lookup.
const smallList = 8

// Allows reports whether a route with this summary may be announced to a member with AS target.
// Precedence (POLICY.md, "Export"): do-not-announce-to-peer wins over announce-to-peer, which wins
// over do-not-announce-to-any; the default is to announce.
func (e *Export) Allows(target uint32) bool {
	if !e.control {
		return true
	}
	if in(e.deny, e.denyMap, target) {
		return false
	}
	if in(e.allow, e.allowMap, target) {
		return true
	}
	return !e.notAny
}

// HasControl reports whether the set carries control communities, which are stripped on export.
func (e *Export) HasControl() bool { return e.control }

// Explain describes the decision for target in words, for the looking glass.
func (e *Export) Explain(target uint32) string {
	switch {
	case !e.control:
		return "no export-control communities"
	case in(e.deny, e.denyMap, target):
		return "tagged do-not-announce-to " + itoa(target)
	case in(e.allow, e.allowMap, target):
		return "tagged announce-to " + itoa(target)
	case e.notAny:
		return "tagged do-not-announce-to-any"
	}
	return "export-control communities do not name this member"
}

func in(list []uint32, m map[uint32]struct{}, v uint32) bool {
	if m != nil {
		_, ok := m[v]
		return ok
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// ExportControl interprets the route server's control communities (POLICY.md, "Control
// communities"): do not announce to any (0:RS, RS:0:0), do not announce to P (0:P, RS:0:P),
// announce to P (RS:P, RS:1:P). The remaining functions of the table (prepend, NO_EXPORT and
// NO_ADVERTISE toward P) belong to the full policy.
type ExportControl struct {
	// ASN is the route server's AS.
	ASN uint32
	// StdASN stands for the route server in standard communities. Zero means ASN when ASN fits in
	// 16 bits; a 4-byte route server ASN needs a configured placeholder, else only the large forms
	// work.
	StdASN uint16
}

// Large community functions (RS:F:P).
const (
	lcNotTo = 0
	lcTo    = 1
)

func (c *ExportControl) std() uint32 {
	if c.StdASN != 0 {
		return uint32(c.StdASN)
	}
	if c.ASN <= 0xffff {
		return c.ASN
	}
	return 0
}

// IsControl reports whether standard community v is one of the route server's control
// communities.
func (c *ExportControl) IsControl(v uint32) bool {
	hi, lo := v>>16, v&0xffff
	rs := c.std()
	switch {
	case hi == 0 && lo != 0:
		return true // 0:P and 0:RS
	case rs != 0 && hi == rs && lo != 0:
		return true // RS:P
	}
	return false
}

// IsControlLarge reports whether lc is one of the route server's control communities.
func (c *ExportControl) IsControlLarge(lc LargeCommunity) bool {
	return lc.Global == c.ASN && (lc.Local1 == lcNotTo || lc.Local1 == lcTo)
}

// Summarize computes the export summary of a path. It is the per-set half of export policy.
func (c *ExportControl) Summarize(p *Path) Export {
	var e Export
	rs := c.std()
	for _, v := range p.Communities {
		if !c.IsControl(v) {
			continue
		}
		e.control = true
		hi, lo := v>>16, v&0xffff
		switch {
		case hi == 0 && rs != 0 && lo == rs:
			e.notAny = true
		case hi == 0:
			e.deny = append(e.deny, lo)
		default:
			e.allow = append(e.allow, lo)
		}
	}
	for _, lc := range p.LargeCommunities {
		if !c.IsControlLarge(lc) {
			continue
		}
		e.control = true
		switch {
		case lc.Local1 == lcNotTo && lc.Local2 == 0:
			e.notAny = true
		case lc.Local1 == lcNotTo:
			e.deny = append(e.deny, lc.Local2)
		default:
			e.allow = append(e.allow, lc.Local2)
		}
	}
	e.deny, e.denyMap = compact(e.deny)
	e.allow, e.allowMap = compact(e.allow)
	return e
}

// compact deduplicates a target list and turns a long one into a map.
func compact(list []uint32) ([]uint32, map[uint32]struct{}) {
	if len(list) == 0 {
		return nil, nil
	}
	slices.Sort(list)
	list = slices.Clip(slices.Compact(list))
	if len(list) <= smallList {
		return list, nil
	}
	m := make(map[uint32]struct{}, len(list))
	for _, v := range list {
		m[v] = struct{}{}
	}
	return nil, m
}

// Strip returns the communities of p without the route server's control communities, which are
// requests to the route server and not meant for the receivers (RFC 7947 §2.2.1 allows exactly this
// change). changed is false, and the slices are p's own, when there was nothing to strip.
func (c *ExportControl) Strip(p *Path) (std []uint32, large []LargeCommunity, changed bool) {
	std, large = p.Communities, p.LargeCommunities
	if slices.ContainsFunc(std, c.IsControl) {
		std = slices.DeleteFunc(slices.Clone(std), c.IsControl)
		changed = true
	}
	if slices.ContainsFunc(large, c.IsControlLarge) {
		large = slices.DeleteFunc(slices.Clone(large), c.IsControlLarge)
		changed = true
	}
	return std, large, changed
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
