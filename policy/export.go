package policy

import (
	"slices"
	"strconv"
	"strings"
)

// Variant is how the attributes one target member receives differ from what every member
// receives: the announcing member's AS prepended 0–3 times (bits 0–1), NO_EXPORT (bit 2) and
// NO_ADVERTISE (bit 3) added. The zero value is no difference. The route server caches one
// encoding per (attribute set, variant), so a variant costs one encoding, not one per member.
type Variant uint8

// Prepend returns how many times the announcing AS is prepended.
func (v Variant) Prepend() int { return int(v & 3) }

// NoExport reports whether NO_EXPORT is added.
func (v Variant) NoExport() bool { return v&4 != 0 }

// NoAdvertise reports whether NO_ADVERTISE is added.
func (v Variant) NoAdvertise() bool { return v&8 != 0 }

// NumVariants is the number of distinct variants.
const NumVariants = 16

func (v Variant) String() string {
	var parts []string
	if n := v.Prepend(); n > 0 {
		parts = append(parts, "prepend "+strconv.Itoa(n)+"x")
	}
	if v.NoExport() {
		parts = append(parts, "NO_EXPORT added")
	}
	if v.NoAdvertise() {
		parts = append(parts, "NO_ADVERTISE added")
	}
	if len(parts) == 0 {
		return "unchanged"
	}
	return strings.Join(parts, ", ")
}

// tflags is what a set's control communities say about one target member.
type tflags uint8

const (
	tDeny  tflags = 1 << 4
	tAllow tflags = 1 << 5
	// bits 0–3 hold the member's Variant: prepend count, NO_EXPORT, NO_ADVERTISE.
)

type target struct {
	asn uint32
	f   tflags
}

// Export is the export-control summary of one attribute set: which target members the route may be
// sent to, and which variant of the attributes each gets. It is computed once per set
// (ExportControl.Summarize) so that the per-target question, asked for every member on every
// change, is a constant-time lookup. The zero value allows every target, unchanged.
type Export struct {
	control bool    // any control community present: they must be stripped on export
	notAny  bool    // "do not announce to any"
	all     Variant // prepend requested toward every member
	// targets holds what the communities say per named member; small lists are scanned (a route
	// carries a handful of control communities), long ones are looked up in the map.
	targets []target
	tmap    map[uint32]tflags
}

// smallList is the list length up to which a scan beats a map lookup.
const smallList = 8

func (e *Export) flags(asn uint32) tflags {
	if e.tmap != nil {
		return e.tmap[asn]
	}
	for _, t := range e.targets {
		if t.asn == asn {
			return t.f
		}
	}
	return 0
}

// Decide reports whether a route with this summary may be announced to a member with AS target,
// and with which variant. Precedence (docs/policy.md, "Steering your routes"): do-not-announce-to-peer wins over
// announce-to-peer, which wins over do-not-announce-to-any; the default is to announce. A prepend
// toward the member replaces a prepend toward any.
func (e *Export) Decide(target uint32) (bool, Variant) {
	if !e.control {
		return true, 0
	}
	f := e.flags(target)
	switch {
	case f&tDeny != 0:
		return false, 0
	case f&tAllow == 0 && e.notAny:
		return false, 0
	}
	v := Variant(f & 0xf)
	if v.Prepend() == 0 {
		v |= e.all
	}
	return true, v
}

// DeniesAll reports whether the route is denied to target by "do not announce to any" (0:RS,
// RS:0:0) with no announce-to for target, as opposed to a do-not-announce-to naming target: the
// looking glass gives the two different not-exported reasons.
func (e *Export) DeniesAll(target uint32) bool {
	if !e.control || !e.notAny {
		return false
	}
	return e.flags(target)&(tDeny|tAllow) == 0
}

// Allows reports whether a route with this summary may be announced to target.
func (e *Export) Allows(target uint32) bool {
	ok, _ := e.Decide(target)
	return ok
}

// HasControl reports whether the set carries control communities, which are stripped on export.
func (e *Export) HasControl() bool { return e.control }

// Explain describes the decision for target in words, for the looking glass.
func (e *Export) Explain(target uint32) string {
	if !e.control {
		return "no export-control communities"
	}
	f := e.flags(target)
	t := itoa(target)
	switch {
	case f&tDeny != 0:
		return "tagged do-not-announce-to " + t + " (0:" + t + " or RS:0:" + t + ")"
	case f&tAllow == 0 && e.notAny:
		return "tagged do-not-announce-to-any (0:RS or RS:0:0)"
	}
	why := "export-control communities do not deny " + t
	if f&tAllow != 0 {
		why = "tagged announce-to " + t
	}
	if _, v := e.Decide(target); v != 0 {
		why += "; " + v.String()
	}
	return why
}

// ExportControl interprets the route server's control communities (docs/policy.md,
// "Steering your routes") in their standard, extended (route target, rt:) and large forms.
type ExportControl struct {
	// ASN is the route server's AS.
	ASN uint32
	// StdASN stands for the route server in standard and extended communities. Zero means ASN when
	// ASN fits in 16 bits; a 4-byte route server ASN needs a configured placeholder, else only the
	// large forms name the route server.
	StdASN uint16
}

// Control functions, as the large form's middle field spells them (RS:F:P).
const (
	fnNotTo       = 0
	fnTo          = 1
	fnPrepend1    = 101
	fnPrepend2    = 102
	fnPrepend3    = 103
	fnNoExport    = 65281
	fnNoAdvertise = 65282
)

// Standard-form high halves of the prepend and NO_EXPORT/NO_ADVERTISE functions.
const (
	stdPrependAny = 65500 // 65501..65503:RS
	stdPrependTo  = 65510 // 65511..65513:P
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

// fromStd maps the standard form hi:lo (lo 32 bits wide in the extended form) to a control
// function and target; target 0 means every member. ok is false when hi:lo is not a control
// community.
func (c *ExportControl) fromStd(hi, lo uint32) (fn, tgt uint32, ok bool) {
	rs := c.std()
	switch {
	case lo == 0:
		return 0, 0, false
	case hi == 0 && rs != 0 && lo == rs:
		return fnNotTo, 0, true
	case hi == 0:
		return fnNotTo, lo, true
	case rs != 0 && hi == rs:
		return fnTo, lo, true
	case hi > stdPrependAny && hi <= stdPrependAny+3 && rs != 0 && lo == rs:
		return fnPrepend1 + hi - stdPrependAny - 1, 0, true
	case hi > stdPrependTo && hi <= stdPrependTo+3:
		return fnPrepend1 + hi - stdPrependTo - 1, lo, true
	case hi == fnNoExport, hi == fnNoAdvertise:
		return hi, lo, true
	}
	return 0, 0, false
}

// fromLarge maps RS:F:P to a control function and target (0: every member).
func (c *ExportControl) fromLarge(lc LargeCommunity) (fn, tgt uint32, ok bool) {
	if lc.Global != c.ASN {
		return 0, 0, false
	}
	switch lc.Local1 {
	case fnNotTo, fnTo, fnPrepend1, fnPrepend2, fnPrepend3:
		if lc.Local1 == fnTo && lc.Local2 == 0 {
			return 0, 0, false
		}
		return lc.Local1, lc.Local2, true
	case fnNoExport, fnNoAdvertise:
		if lc.Local2 == 0 {
			return 0, 0, false
		}
		return lc.Local1, lc.Local2, true
	}
	return 0, 0, false
}

// fromExt maps an extended community to a control function: only the two-octet-AS route target
// (type 0x00, subtype 0x02), written rt:hi:lo, carries the standard forms.
func (c *ExportControl) fromExt(v uint64) (fn, tgt uint32, ok bool) {
	if v>>48 != 0x0002 {
		return 0, 0, false
	}
	return c.fromStd(uint32(v>>32)&0xffff, uint32(v))
}

// IsControl reports whether standard community v is one of the route server's control
// communities.
func (c *ExportControl) IsControl(v uint32) bool {
	_, _, ok := c.fromStd(v>>16, v&0xffff)
	return ok
}

// IsControlExt reports whether extended community v is one of the control communities.
func (c *ExportControl) IsControlExt(v uint64) bool {
	_, _, ok := c.fromExt(v)
	return ok
}

// IsControlLarge reports whether lc is one of the route server's control communities or lies in
// a range only the route server may set (informational RS:1000:*, RS:1002:*, RS:64512:*, reasons RS:1101:*):
// members cannot forge those (docs/policy.md, check 1), so they are removed as well.
func (c *ExportControl) IsControlLarge(lc LargeCommunity) bool {
	if _, _, ok := c.fromLarge(lc); ok {
		return true
	}
	return lc.Global == c.ASN && (lc.Local1 == InfoRPKIFunction || lc.Local1 == InfoASPAFunction || lc.Local1 == InfoIRRFunction || lc.Local1 == EuroIXFunction)
}

// Summarize computes the export summary of a path. It is the per-set half of export policy.
func (c *ExportControl) Summarize(p *Path) Export {
	var e Export
	m := map[uint32]tflags(nil)
	apply := func(fn, tgt uint32) {
		e.control = true
		if tgt == 0 {
			switch fn {
			case fnNotTo:
				e.notAny = true
			case fnPrepend1, fnPrepend2, fnPrepend3:
				e.all = max(e.all, Variant(fn-fnPrepend1+1))
			}
			return
		}
		if m == nil {
			m = map[uint32]tflags{}
		}
		f := m[tgt]
		switch fn {
		case fnNotTo:
			f |= tDeny
		case fnTo:
			f |= tAllow
		case fnPrepend1, fnPrepend2, fnPrepend3:
			f = f&^3 | max(f&3, tflags(fn-fnPrepend1+1))
		case fnNoExport:
			f |= 4
		case fnNoAdvertise:
			f |= 8
		}
		m[tgt] = f
	}
	for _, v := range p.Communities {
		if fn, tgt, ok := c.fromStd(v>>16, v&0xffff); ok {
			apply(fn, tgt)
		}
	}
	for _, v := range p.ExtCommunities {
		if fn, tgt, ok := c.fromExt(v); ok {
			apply(fn, tgt)
		}
	}
	for _, lc := range p.LargeCommunities {
		if fn, tgt, ok := c.fromLarge(lc); ok {
			apply(fn, tgt)
		}
	}
	if len(m) > smallList {
		e.tmap = m
	} else if len(m) > 0 {
		e.targets = make([]target, 0, len(m))
		for asn, f := range m {
			e.targets = append(e.targets, target{asn, f})
		}
		slices.SortFunc(e.targets, func(a, b target) int { return int(int64(a.asn) - int64(b.asn)) })
	}
	return e
}

// Strip returns the communities of p without the route server's control communities, which are
// requests to the route server and not meant for the receivers (RFC 7947 §2.2.1 allows exactly this
// change), and without the ranges only the route server may set. changed is false, and the slices
// are p's own, when there was nothing to strip.
func (c *ExportControl) Strip(p *Path) (std []uint32, ext []uint64, large []LargeCommunity, changed bool) {
	std, ext, large = p.Communities, p.ExtCommunities, p.LargeCommunities
	if slices.ContainsFunc(std, c.IsControl) {
		std = slices.DeleteFunc(slices.Clone(std), c.IsControl)
		changed = true
	}
	if slices.ContainsFunc(ext, c.IsControlExt) {
		ext = slices.DeleteFunc(slices.Clone(ext), c.IsControlExt)
		changed = true
	}
	if slices.ContainsFunc(large, c.IsControlLarge) {
		large = slices.DeleteFunc(slices.Clone(large), c.IsControlLarge)
		changed = true
	}
	return std, ext, large, changed
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
