package policy

import (
	"math/bits"
	"strconv"
	"strings"
)

// Reason is why import policy rejected a route. Values 1–15 are the Euro-IX reject codes
// (the N of the large community RS:1101:N); they are shown in the looking glass and API and never
// sent to members.
type Reason uint8

// Euro-IX reject reasons (RS:1101:N).
const (
	PrefixTooLong       Reason = 1
	PrefixTooShort      Reason = 2
	BogonPrefix         Reason = 3
	BogonASN            Reason = 4
	ASPathTooLong       Reason = 5
	ASPathTooShort      Reason = 6
	FirstASNotPeerAS    Reason = 7
	NextHopNotPeerIP    Reason = 8
	IRRPrefixFiltered   Reason = 9
	IRROriginFiltered   Reason = 10
	PrefixNotInOriginAS Reason = 11
	RPKIUnknown         Reason = 12
	RPKIInvalid         Reason = 13
	TransitFreeASN      Reason = 14
	TooManyCommunities  Reason = 15

	// OTCLeak is ixrs' own code (Euro-IX has none): a route from a member carried OTC, which
	// RFC 9234 says is a route leak.
	OTCLeak Reason = 16
	// ASPAInvalid is ixrs' own code (Euro-IX has none): ASPA upstream verification
	// (draft-ietf-sidrops-aspa-verification) found a hop to an AS that is not an attested provider
	// of the AS before it, a route leak or a forged path.
	ASPAInvalid Reason = 17
)

// EuroIXFunction is the middle field of the Euro-IX reject-reason large community RS:1101:N.
const EuroIXFunction = 1101

var reasonNames = [...]string{
	PrefixTooLong:       "prefix too long",
	PrefixTooShort:      "prefix too short",
	BogonPrefix:         "bogon prefix",
	BogonASN:            "bogon ASN in AS path",
	ASPathTooLong:       "AS path too long",
	ASPathTooShort:      "AS path too short",
	FirstASNotPeerAS:    "first AS not peer AS",
	NextHopNotPeerIP:    "next hop not peer IP",
	IRRPrefixFiltered:   "prefix not in IRR",
	IRROriginFiltered:   "origin not in IRR AS-SET",
	PrefixNotInOriginAS: "prefix not in origin AS",
	RPKIUnknown:         "RPKI unknown",
	RPKIInvalid:         "RPKI invalid",
	TransitFreeASN:      "transit-free ASN in path",
	TooManyCommunities:  "too many communities",
	OTCLeak:             "route leak (OTC from a member)",
	ASPAInvalid:         "ASPA invalid",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return "reason " + strconv.Itoa(int(r))
}

// Community returns the Euro-IX large community RS:1101:N that names r.
func (r Reason) Community(rsASN uint32) LargeCommunity {
	return LargeCommunity{Global: rsASN, Local1: EuroIXFunction, Local2: uint32(r)}
}

// chainOrder lists reasons in the order the import chain runs its checks (the table in
// docs/policy.md, "What happens to a route you send"), so that the first failing check is the primary reason whatever the codes are.
var chainOrder = [...]Reason{
	NextHopNotPeerIP,
	ASPathTooShort, ASPathTooLong,
	FirstASNotPeerAS,
	BogonASN,
	TransitFreeASN,
	BogonPrefix,
	PrefixTooLong, PrefixTooShort,
	TooManyCommunities,
	RPKIInvalid, RPKIUnknown,
	IRROriginFiltered, IRRPrefixFiltered, PrefixNotInOriginAS,
	OTCLeak,
	ASPAInvalid,
}

// Reasons is a set of Reason, one bit per code. A route stores its whole verdict in these 8 bytes,
// which is why reasons are a bit set and not a slice: at a million routes the difference is tens of
// megabytes.
type Reasons uint64

// Add returns rs with r added.
func (rs Reasons) Add(r Reason) Reasons { return rs | 1<<(r&63) }

// Has reports whether r is in rs.
func (rs Reasons) Has(r Reason) bool { return rs&(1<<(r&63)) != 0 }

// Len returns the number of reasons.
func (rs Reasons) Len() int { return bits.OnesCount64(uint64(rs)) }

// List returns the reasons in chain order (the primary reason first); codes outside the chain
// follow in numeric order.
func (rs Reasons) List() []Reason {
	if rs == 0 {
		return nil
	}
	out := make([]Reason, 0, rs.Len())
	left := rs
	for _, r := range chainOrder {
		if left.Has(r) {
			out = append(out, r)
			left &^= 1 << r
		}
	}
	for left != 0 {
		r := Reason(bits.TrailingZeros64(uint64(left)))
		out = append(out, r)
		left &^= 1 << r
	}
	return out
}

// Primary returns the first failing check in chain order, or 0 when rs is empty.
func (rs Reasons) Primary() Reason {
	if rs == 0 {
		return 0
	}
	for _, r := range chainOrder {
		if rs.Has(r) {
			return r
		}
	}
	return Reason(bits.TrailingZeros64(uint64(rs)))
}

func (rs Reasons) String() string {
	if rs == 0 {
		return "accepted"
	}
	var b strings.Builder
	for i, r := range rs.List() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.String())
	}
	return b.String()
}
