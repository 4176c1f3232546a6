package rpki

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ixrs/ixrs/policy"
)

// ASPA path verification (draft-ietf-sidrops-aspa-verification) for routes a route server
// receives from its clients. A route server client is a customer of nobody at the route server,
// so its routes take the procedure for routes received from a customer or a lateral peer: the
// "upstream" one, in which every hop from the origin up to the client must go from a customer to
// its provider. The route server does not appear in the path (RFC 7947), so the client is the
// path's left-most AS.

// ASPAState is the outcome of ASPA verification (policy.ASPAState; VerifyUpstream never returns
// policy.ASPANotChecked).
type ASPAState = policy.ASPAState

// ASPA verification outcomes.
const (
	ASPAUnknown = policy.ASPAUnknown // some hop has no attestation and none is proven wrong
	ASPAValid   = policy.ASPAValid   // every hop goes from a customer to an attested provider
	ASPAInvalid = policy.ASPAInvalidState
)

// hop is the draft's hop check: whether provider is attested by customer's ASPA (Provider+), not
// (Not Provider+), or customer has no ASPA (No Attestation).
type hop uint8

const (
	hopNoAttestation hop = iota
	hopProvider
	hopNotProvider
)

func (t *ASPATable) hop(customer, provider uint32) hop {
	ps, ok := t.Providers(customer)
	if !ok {
		return hopNoAttestation
	}
	if _, found := slices.BinarySearch(ps, provider); found {
		return hopProvider
	}
	return hopNotProvider
}

// Upstream is VerifyUpstream without the explanation: it does not allocate, for import policy's
// hot path (policy.ASPAVerifier).
func (t *ASPATable) Upstream(asns []uint32, hasSet bool) ASPAState {
	if len(asns) == 0 || hasSet {
		return ASPAInvalid
	}
	// Walk origin first, skipping prepends: each distinct AS and the next distinct one to its
	// left form a hop (customer, provider).
	st := ASPAValid
	cust := asns[len(asns)-1]
	for i := len(asns) - 2; i >= 0; i-- {
		prov := asns[i]
		if prov == cust {
			continue
		}
		switch t.hop(cust, prov) {
		case hopNotProvider:
			return ASPAInvalid
		case hopNoAttestation:
			st = ASPAUnknown
		}
		cust = prov
	}
	return st
}

// VerifyUpstream verifies an AS path received from a route server client: asns left to right as
// AS_PATH carries them (the client first, the origin last), hasSet when the path has an AS_SET. It
// returns the state and, for invalid and unknown, the hop that decided it. An empty path or one
// with an AS_SET is invalid; a path of one AS (after removing prepends) is valid.
func (t *ASPATable) VerifyUpstream(asns []uint32, hasSet bool) (ASPAState, string) {
	if len(asns) == 0 {
		return ASPAInvalid, "empty AS path"
	}
	if hasSet {
		return ASPAInvalid, "AS path with an AS_SET"
	}
	// Collapse prepends, origin first: seq[0] is the origin, seq[len-1] the client.
	seq := make([]uint32, 0, len(asns))
	for i := len(asns) - 1; i >= 0; i-- {
		if len(seq) == 0 || seq[len(seq)-1] != asns[i] {
			seq = append(seq, asns[i])
		}
	}
	unknown := ""
	for i := 0; i+1 < len(seq); i++ {
		switch t.hop(seq[i], seq[i+1]) {
		case hopNotProvider:
			return ASPAInvalid, fmt.Sprintf("AS%d is not a provider of AS%d in its ASPA (%s)", seq[i+1], seq[i], t.describe(seq[i]))
		case hopNoAttestation:
			if unknown == "" {
				unknown = fmt.Sprintf("AS%d has no ASPA", seq[i])
			}
		}
	}
	if unknown != "" {
		return ASPAUnknown, unknown
	}
	return ASPAValid, ""
}

func (t *ASPATable) describe(customer uint32) string {
	ps, _ := t.Providers(customer)
	var b strings.Builder
	b.WriteString("providers")
	for i, p := range ps {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more", len(ps)-5)
			break
		}
		fmt.Fprintf(&b, " AS%d", p)
	}
	return b.String()
}

// NewASPATable builds a snapshot from customer → providers (as from a file or a test). Provider
// lists are copied, sorted and de-duplicated.
func NewASPATable(m map[uint32][]uint32) *ASPATable {
	t := &ASPATable{m: make(map[uint32][]uint32, len(m))}
	for c, ps := range m {
		s := slices.Clone(ps)
		slices.Sort(s)
		t.m[c] = slices.Compact(s)
	}
	return t
}

// ASPAChanged returns the customer ASes whose ASPA differs between a and b (added, removed or with
// other providers), sorted: the route server revalidates only routes whose AS paths contain one of
// them. Either may be nil (empty).
func ASPAChanged(a, b *ASPATable) []uint32 {
	var out []uint32
	if a == b {
		return nil
	}
	for c, pa := range a.all() {
		if pb, ok := b.Providers(c); !ok || !slices.Equal(pa, pb) {
			out = append(out, c)
		}
	}
	for c := range b.all() {
		if _, ok := a.Providers(c); !ok {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

func (t *ASPATable) all() map[uint32][]uint32 {
	if t == nil {
		return nil
	}
	return t.m
}
