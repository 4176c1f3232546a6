// Package demo simulates the members of an exchange for the route server's demo mode: in-process
// BGP speakers (package speaker) on loopback addresses, each with a real session to the route
// server, announcing a realistic table: a few thousand IPv4 and IPv6 prefixes with customer paths,
// aggregates and more-specifics, prefixes several members announce, blackholes, routes steered with
// the route server's control communities, and routes the import policy filters, for each of its
// reasons. One member flaps now and then and others churn a few routes, so the looking glass shows
// a living route server.
//
// Members (DefaultMembers) and the configuration the route server needs for them (Files, which
// writes the [[member]] tables and the IRR, RPKI and ASN-name files they refer to) are generated
// here; Run starts the members. Their descriptions start with "simulated by the ixrs demo", which
// the looking glass marks.
//
// Every AS number the members use lies in 1100000–1199999, which IANA has not allocated to any
// registry, so the demo names no real network; the prefixes are synthetic.
package demo

import (
	"cmp"
	"fmt"
	"net/netip"
	"strings"
)

// DescriptionPrefix starts every demo member's description.
const DescriptionPrefix = "simulated by the ixrs demo"

// Member is one simulated member network.
type Member struct {
	Name string
	ASN  uint32
	// Addr is the session's address (127.0.1.x), the member's source address toward the route
	// server; Addr6, when valid (::1 for at most one member), adds an IPv6 session.
	Addr  netip.Addr
	Addr6 netip.Addr
	Role  string // written into the description: "transit", "content", ...
	// IPv4 and IPv6 are how many accepted prefixes it announces in each family.
	IPv4, IPv6 int
	// Traits say what else it does.
	Flaps       bool // goes down now and then (Cease/administrative shutdown) and comes back
	Steers      bool // tags routes with control communities and announces blackholes
	Misconfig   bool // announces routes the import policy filters, one kind per reason
	Transit     int  // announces this many prefixes of other members too (as their upstream)
	NearLimit   int  // max-prefix usage in percent to configure for IPv4 (0: the defaults)
	IRR         bool // has IRR data (and so is filtered against it)
	ExtraOrigin bool // some routes originate from an AS outside its AS-SET
}

// Description is what the configuration's description says.
func (m *Member) Description() string { return DescriptionPrefix + ": " + m.Role }

// DefaultMembers returns twelve members on 127.0.1.1 … 127.0.1.12 (the second also on ::1),
// announcing about 4,000 IPv4 and 900 IPv6 prefixes in all.
func DefaultMembers() []Member {
	a := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 1, byte(i)}) }
	ms := []Member{
		{Name: "Northwind Transit", Role: "transit provider", IPv4: 1100, IPv6: 240, Transit: 300, IRR: true},
		{Name: "Bluefin Cloud", Role: "cloud and hosting", IPv4: 550, IPv6: 180, Addr6: netip.IPv6Loopback(), IRR: true},
		{Name: "Kestrel Broadband", Role: "access network", IPv4: 420, IPv6: 90, IRR: true},
		{Name: "Harbor Hosting", Role: "hosting", IPv4: 300, IPv6: 60, IRR: true},
		{Name: "Alder Mobile", Role: "mobile operator", IPv4: 240, IPv6: 50, NearLimit: 86},
		{Name: "Quarry Networks", Role: "regional ISP (flaps now and then)", IPv4: 200, IPv6: 40, Flaps: true},
		{Name: "Saltmarsh ISP", Role: "access network", IPv4: 160, IPv6: 30, NearLimit: 93},
		{Name: "Mistral CDN", Role: "content delivery", IPv4: 280, IPv6: 90, Steers: true, IRR: true},
		{Name: "Ridgeline Telecom", Role: "transit provider", IPv4: 380, IPv6: 70, Transit: 120},
		{Name: "Copperleaf DNS", Role: "anycast DNS", IPv4: 40, IPv6: 20, IRR: true},
		{Name: "Ferngate University", Role: "research network", IPv4: 70, IPv6: 15},
		{Name: "Oddity Labs", Role: "misconfigured router", IPv4: 90, IPv6: 20, Misconfig: true, IRR: true, ExtraOrigin: true},
	}
	for i := range ms {
		ms[i].ASN = 1100000 + uint32(i+1)*100
		ms[i].Addr = a(i + 1)
	}
	return ms
}

// Validate checks members for what Run and Files rely on.
func Validate(ms []Member) error {
	seen := map[netip.Addr]string{}
	asns := map[uint32]string{}
	for i := range ms {
		m := &ms[i]
		switch {
		case m.Name == "" || strings.ContainsAny(m.Name, "\"\\\n"):
			return fmt.Errorf("demo member %d: name %q: empty or with quotes", i, m.Name)
		case !m.Addr.Is4() || !m.Addr.IsLoopback():
			return fmt.Errorf("demo member %s: address %s is not an IPv4 loopback address", m.Name, m.Addr)
		case m.Addr6.IsValid() && !m.Addr6.IsLoopback():
			return fmt.Errorf("demo member %s: IPv6 address %s is not a loopback address", m.Name, m.Addr6)
		case m.ASN == 0 || m.ASN%100 != 0:
			return fmt.Errorf("demo member %s: ASN %d must be a non-zero multiple of 100 (its customers use the 99 after it)", m.Name, m.ASN)
		case m.IPv4 < 0 || m.IPv6 < 0 || m.IPv4 > 60000 || m.IPv6 > 60000:
			return fmt.Errorf("demo member %s: %d IPv4 / %d IPv6 prefixes: at most 60000 each", m.Name, m.IPv4, m.IPv6)
		}
		for _, a := range []netip.Addr{m.Addr, m.Addr6} {
			if !a.IsValid() {
				continue
			}
			if o, dup := seen[a]; dup {
				return fmt.Errorf("demo member %s: address %s is also %s's", m.Name, a, o)
			}
			seen[a] = m.Name
		}
		if o, dup := asns[m.ASN]; dup {
			return fmt.Errorf("demo member %s: ASN %d is also %s's", m.Name, m.ASN, o)
		}
		asns[m.ASN] = m.Name
	}
	return nil
}

// neighbors are the member's session addresses as the configuration lists them.
func (m *Member) neighbors() []netip.Addr {
	if m.Addr6.IsValid() {
		return []netip.Addr{m.Addr, m.Addr6}
	}
	return []netip.Addr{m.Addr}
}

// Names returns a name for every AS number the demo uses: members and their customers.
func Names(ms []Member) map[uint32]string {
	out := map[uint32]string{}
	for i := range ms {
		out[ms[i].ASN] = ms[i].Name
		short := cmp.Or(strings.Fields(ms[i].Name)...)
		for c := uint32(1); c <= customers; c++ {
			out[ms[i].ASN+c] = fmt.Sprintf("%s customer %d", short, c)
		}
	}
	return out
}
