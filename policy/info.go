package policy

// Info is the validation state of an accepted or rejected route that export turns into
// informational communities (docs/policy.md, "What the route server adds"): the RPKI state in bits 0–1,
// the IRR prefix state in bits 2–3, the IRR origin state in bits 4–5 and the ASPA state in bits 6–7.
// It is one byte so that a
// route can carry it at no memory cost.
type Info uint8

// IRRState is the result of one IRR check.
type IRRState uint8

// IRR states.
const (
	IRRNotChecked IRRState = iota
	IRRIn
	IRRNotIn
)

func (s IRRState) String() string {
	return [...]string{"not checked", "in IRR", "not in IRR", "?"}[s&3]
}

// RPKI returns the RPKI state.
func (i Info) RPKI() RPKIState { return RPKIState(i & 3) }

// IRRPrefix returns the IRR prefix-list state.
func (i Info) IRRPrefix() IRRState { return IRRState(i >> 2 & 3) }

// IRROrigin returns the IRR origin state.
func (i Info) IRROrigin() IRRState { return IRRState(i >> 4 & 3) }

// ASPA returns the ASPA state.
func (i Info) ASPA() ASPAState { return ASPAState(i >> 6 & 3) }

func (i Info) withRPKI(s RPKIState) Info { return i&^3 | Info(s) }

func (i Info) withASPA(s ASPAState) Info { return i&^(3<<6) | Info(s&3)<<6 }

func (i Info) withIRR(prefix, origin IRRState) Info {
	return i&^(0xf<<2) | Info(prefix)<<2 | Info(origin)<<4
}

// NumInfo is the number of distinct Info values: a per-set cache indexed by Info needs this many
// slots.
const NumInfo = 256

// Functions of the informational large communities RS:F:N.
const (
	InfoRPKIFunction = 1000  // RS:1000:1 valid, :2 unknown, :3 not checked, :4 invalid (Euro-IX)
	InfoIRRFunction  = 64512 // RS:64512:11/10 prefix in/not in, :21/20 origin in/not in (arouteserver)
	InfoASPAFunction = 1002  // RS:1002:1 valid, :2 unknown, :4 invalid (ixrs' own, numbered like RS:1000)
)

// Communities returns the informational large communities for i, in a fixed order.
func (i Info) Communities(rsASN uint32) []LargeCommunity {
	out := make([]LargeCommunity, 0, 4)
	rpki := [...]uint32{RPKINotChecked: 3, RPKIValid: 1, RPKINotFound: 2, RPKIInvalidState: 4}
	out = append(out, LargeCommunity{rsASN, InfoRPKIFunction, rpki[i.RPKI()]})
	switch i.IRRPrefix() {
	case IRRIn:
		out = append(out, LargeCommunity{rsASN, InfoIRRFunction, 11})
	case IRRNotIn:
		out = append(out, LargeCommunity{rsASN, InfoIRRFunction, 10})
	}
	switch i.IRROrigin() {
	case IRRIn:
		out = append(out, LargeCommunity{rsASN, InfoIRRFunction, 21})
	case IRRNotIn:
		out = append(out, LargeCommunity{rsASN, InfoIRRFunction, 20})
	}
	if a := i.ASPA(); a != ASPANotChecked {
		aspa := [...]uint32{ASPAValid: 1, ASPAUnknown: 2, ASPAInvalidState: 4}
		out = append(out, LargeCommunity{rsASN, InfoASPAFunction, aspa[a]})
	}
	return out
}

// RFC 8097 BGP Prefix Origin Validation State extended community: type 0x43 (non-transitive
// opaque), subtype 0x00, the state in the last octet (0 valid, 1 not found, 2 invalid).
const rfc8097Type = 0x4300

// RFC8097Community returns the origin validation state extended community for i's RPKI state, and
// false when the route was not checked (RFC 8097 has no value for that).
func (i Info) RFC8097Community() (uint64, bool) {
	var st uint64
	switch i.RPKI() {
	case RPKIValid:
		st = 0
	case RPKINotFound:
		st = 1
	case RPKIInvalidState:
		st = 2
	default:
		return 0, false
	}
	return rfc8097Type<<48 | st, true
}

// IsRFC8097 reports whether ext is an origin validation state extended community.
func IsRFC8097(ext uint64) bool { return ext>>48 == rfc8097Type }
