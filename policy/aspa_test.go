package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// refASPA is a deliberately literal reading of the upstream procedure of
// draft-ietf-sidrops-aspa-verification (customer → providers; a customer that attests AS0 has no
// providers): collapse prepends, then check every hop from the origin up. The rpki package's table
// is checked against the same cases in its own tests.
type refASPA map[uint32][]uint32

func (r refASPA) Upstream(asns []uint32, hasSet bool) ASPAState {
	st, _ := r.VerifyUpstream(asns, hasSet)
	return st
}

func (r refASPA) VerifyUpstream(asns []uint32, hasSet bool) (ASPAState, string) {
	if len(asns) == 0 {
		return ASPAInvalidState, "empty AS path"
	}
	if hasSet {
		return ASPAInvalidState, "AS_SET"
	}
	seq := slices.Compact(slices.Clone(asns))
	slices.Reverse(seq) // origin first
	st, why := ASPAValid, ""
	for i := 0; i+1 < len(seq); i++ {
		ps, ok := r[seq[i]]
		switch {
		case !ok:
			if st == ASPAValid {
				st, why = ASPAUnknown, fmt.Sprintf("AS%d has no ASPA", seq[i])
			}
		case !slices.Contains(ps, seq[i+1]):
			return ASPAInvalidState, fmt.Sprintf("AS%d is not a provider of AS%d", seq[i+1], seq[i])
		}
	}
	return st, why
}

// TestASPA: check 15 on the situations the draft's upstream procedure is built for, seen from the
// route server: member C (AS3000) sends routes; P (AS3100) is C's transit provider, X (AS3200) C's
// customer, Y (AS3300) a network C peers with privately, Z (AS3400) a network without ASPA, N
// (AS3500) a network that attests it has no provider (AS0).
func TestASPA(t *testing.T) {
	const C, P, X, Y, Z, N = 3000, 3100, 3200, 3300, 3400, 3500
	aspa := refASPA{
		C: {P},
		P: {174},
		X: {C, P},
		Y: {1299},
		N: {0},
	}
	sess := &Session{ASN: C, Addr: netip.MustParseAddr("1.9.0.11")}
	path := func(asns ...uint32) Path {
		p := Path{ASNs: asns, Len: len(asns), NextHop: sess.Addr}
		if len(asns) > 0 {
			p.First = asns[0]
		}
		return p
	}
	reject := &Import{ASPA: ASPARejectInvalid}
	tag := &Import{ASPA: ASPATag}
	off := &Import{ASPA: ASPAOff}
	withSet := path(C, X)
	withSet.HasSet = true
	cases := []struct {
		name  string
		im    *Import
		d     Data
		path  Path
		state ASPAState
		why   string
	}{
		{"C's own route", reject, Data{ASPA: aspa}, path(C), ASPAValid, ""},
		{"C's own route, prepended", reject, Data{ASPA: aspa}, path(C, C, C), ASPAValid, ""},
		{"a customer's route: X attests C", reject, Data{ASPA: aspa}, path(C, X), ASPAValid, ""},
		{"a customer's route with prepends", reject, Data{ASPA: aspa}, path(C, C, X, X, X), ASPAValid, ""},
		{"leak: a route from C's provider P", reject, Data{ASPA: aspa}, path(C, P, 174), ASPAInvalidState, "AS3000 is not a provider of AS3100"},
		{"leak: a route from C's private peer Y", reject, Data{ASPA: aspa}, path(C, Y), ASPAInvalidState, "AS3000 is not a provider of AS3300"},
		{"leak detected behind an unattested hop", reject, Data{ASPA: aspa}, path(C, Y, Z), ASPAInvalidState, "AS3000 is not a provider of AS3300"},
		{"unattested origin", reject, Data{ASPA: aspa}, path(C, Z), ASPAUnknown, "AS3400 has no ASPA"},
		{"unattested origin behind a customer", reject, Data{ASPA: aspa}, path(C, X, Z), ASPAUnknown, "AS3400 has no ASPA"},
		{"AS0: N has no provider", reject, Data{ASPA: aspa}, path(C, N), ASPAInvalidState, "AS3000 is not a provider of AS3500"},
		{"AS_SET", reject, Data{ASPA: aspa}, withSet, ASPAInvalidState, "AS_SET"},
		{"leak, tag only", tag, Data{ASPA: aspa}, path(C, Y), ASPAInvalidState, "AS3000 is not a provider of AS3300"},
		{"leak, check off", off, Data{ASPA: aspa}, path(C, Y), ASPANotChecked, ""},
		{"leak, no ASPA data", reject, Data{}, path(C, Y), ASPANotChecked, "no ASPA data"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			pfx := netip.MustParsePrefix("1.1.1.0/24")
			v := tt.im.ImportRoute(sess, tt.d, pfx, &tt.path, tt.im.ImportPath(sess, &tt.path))
			if v.Info.ASPA() != tt.state {
				t.Errorf("ASPA state %v, want %v", v.Info.ASPA(), tt.state)
			}
			wantReject := tt.state == ASPAInvalidState && tt.im.ASPA == ASPARejectInvalid
			if v.Reasons.Has(ASPAInvalid) != wantReject {
				t.Errorf("reasons %v, rejected for ASPA: want %v", v.Reasons, wantReject)
			}
			ex := tt.im.Explain(sess, tt.d, pfx, &tt.path)
			c := ex[len(ex)-1]
			if c.Step != 15 || c.Name != "ASPA" {
				t.Fatalf("last check is %v, want 15 ASPA", c)
			}
			if (c.Outcome == Fail) != wantReject || !strings.Contains(c.Detail, tt.why) {
				t.Errorf("Explain: %v, want failed=%v and detail %q", c, wantReject, tt.why)
			}
			if tt.im.ASPA == ASPAOff && c.Outcome != Skipped {
				t.Errorf("Explain with the check off: %v", c)
			}
		})
	}
}

func TestASPAReason(t *testing.T) {
	if got := ASPAInvalid.Community(64500); got != (LargeCommunity{64500, 1101, 17}) {
		t.Errorf("reason community %v", got)
	}
	// Primary reason order: ASPA comes after every other check.
	rs := Reasons(0).Add(ASPAInvalid).Add(OTCLeak)
	if rs.Primary() != OTCLeak || rs.List()[1] != ASPAInvalid {
		t.Errorf("chain order: %v", rs.List())
	}
	if ASPAInvalid.String() != "ASPA invalid" {
		t.Errorf("name %q", ASPAInvalid)
	}
}

func TestASPAInfoCommunities(t *testing.T) {
	for _, tt := range []struct {
		st   ASPAState
		want []LargeCommunity
	}{
		{ASPANotChecked, []LargeCommunity{{64500, 1000, 1}}},
		{ASPAValid, []LargeCommunity{{64500, 1000, 1}, {64500, 1002, 1}}},
		{ASPAUnknown, []LargeCommunity{{64500, 1000, 1}, {64500, 1002, 2}}},
		{ASPAInvalidState, []LargeCommunity{{64500, 1000, 1}, {64500, 1002, 4}}},
	} {
		i := Info(0).withRPKI(RPKIValid).withASPA(tt.st)
		if i.RPKI() != RPKIValid || i.ASPA() != tt.st {
			t.Errorf("Info %08b: rpki %v aspa %v", i, i.RPKI(), i.ASPA())
		}
		if got := i.Communities(64500); !slices.Equal(got, tt.want) {
			t.Errorf("%v: communities %v, want %v", tt.st, got, tt.want)
		}
	}
	if int(Info(0).withASPA(ASPAInvalidState).withIRR(IRRNotIn, IRRNotIn).withRPKI(RPKIInvalidState)) >= NumInfo {
		t.Errorf("NumInfo %d too small", NumInfo)
	}
	// Members cannot forge the ASPA community: it is scrubbed like RPKI's.
	c := ExportControl{ASN: 64500}
	if !c.IsControlLarge(LargeCommunity{64500, InfoASPAFunction, 1}) {
		t.Error("RS:1002:1 from a member is not scrubbed")
	}
}
