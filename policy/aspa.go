package policy

// ASPA path verification (draft-ietf-sidrops-aspa-verification), check 15. A route server client is
// a customer of nobody at the route server, so a route from a client takes the procedure for routes
// received from a customer or lateral peer, the "upstream" one: every hop from the origin up to the
// client must go from a customer to a provider its ASPA names. The check reads only the AS path; the
// ASPA records come with each call (Data.ASPA) like the VRPs.

// ASPAState is the outcome of ASPA upstream verification. NotChecked is the zero value: the check
// is off or there is no ASPA data.
type ASPAState uint8

// ASPA states.
const (
	ASPANotChecked   ASPAState = iota
	ASPAValid                  // every hop goes from a customer to an attested provider
	ASPAUnknown                // some customer has no ASPA, and no hop is proven wrong
	ASPAInvalidState           // some hop goes to an AS its customer did not attest as provider
)

var aspaStateNames = [...]string{"not checked", "valid", "unknown", "invalid"}

func (s ASPAState) String() string {
	if int(s) < len(aspaStateNames) {
		return aspaStateNames[s]
	}
	return "?"
}

// ASPAVerifier answers ASPA upstream verification for an AS path received from a route server
// client: asns left to right as AS_PATH carries them (the client first, the origin last), hasSet
// when the path has an AS_SET. The rpki package implements it on an ASPA snapshot; implementations
// must be safe for concurrent use and answer from one snapshot. Upstream never returns
// ASPANotChecked.
type ASPAVerifier interface {
	Upstream(asns []uint32, hasSet bool) ASPAState
	// VerifyUpstream returns the state and, for invalid and unknown, the hop that decided it in
	// words (for Explain; may allocate).
	VerifyUpstream(asns []uint32, hasSet bool) (ASPAState, string)
}

// ASPAMode is the aspa key (check 15).
type ASPAMode uint8

// ASPA modes.
const (
	ASPAOff           ASPAMode = iota // not verified, no community
	ASPATag                           // verified, informational community only
	ASPARejectInvalid                 // invalid routes rejected (reason 17)
)

func (m ASPAMode) String() string { return [...]string{"off", "tag", "reject-invalid"}[m%3] }

// aspa runs check 15: the state (ASPANotChecked when off or without data) and whether the route is
// rejected for it.
func (im *Import) aspa(d Data, p *Path) (ASPAState, bool) {
	if im.ASPA == ASPAOff || d.ASPA == nil {
		return ASPANotChecked, false
	}
	st := d.ASPA.Upstream(p.ASNs, p.HasSet)
	return st, st == ASPAInvalidState && im.ASPA == ASPARejectInvalid
}
