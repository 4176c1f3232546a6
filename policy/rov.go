package policy

import "net/netip"

// RPKIState is a route's RPKI origin validation state (RFC 6811).
type RPKIState uint8

// Validation states. NotChecked is the zero value: RPKI is off, or no validator is configured.
const (
	RPKINotChecked RPKIState = iota
	RPKIValid
	RPKINotFound
	RPKIInvalidState
)

var rpkiStateNames = [...]string{"not checked", "valid", "not found", "invalid"}

func (s RPKIState) String() string {
	if int(s) < len(rpkiStateNames) {
		return rpkiStateNames[s]
	}
	return "unknown"
}

// OriginValidator answers RFC 6811 origin validation. The rpki package implements it from a VRP
// file or an RTR cache; implementations must be safe for concurrent use and must answer from one
// consistent snapshot per call. origin 0 stands for NONE (an AS path ending in an AS_SET): such a
// route is never valid.
type OriginValidator interface {
	Validate(pfx netip.Prefix, origin uint32) RPKIState
	// Explain returns the state and the VRPs that decided it, in words (for Explain; may allocate).
	Explain(pfx netip.Prefix, origin uint32) (RPKIState, string)
}

// RPKIMode is the rpki key: what the chain does with validation states (check 10).
type RPKIMode uint8

// RPKI modes.
const (
	RPKIOff           RPKIMode = iota // not validated, RS:1000:3
	RPKITag                           // validated, informational communities only
	RPKIRejectInvalid                 // invalid routes rejected (RS:1101:13)
)

// IRRMode is the irr key (check 11).
type IRRMode uint8

// IRR modes.
const (
	IRROff    IRRMode = iota
	IRRTag            // checked, informational communities only
	IRRReject         // rejected when not in the member's IRR data (RS:1101:9 / :10)
)
