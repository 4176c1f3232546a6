package demo

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Files writes, into dir, what the route server's configuration refers to for the members: each
// IRR member's prefix list and AS-SET, a VRP file and the ASN names; and returns the configuration
// to append to the route server's: a [[member]] table per member and, when rpki is true (the base
// configuration has no [rpki] table of its own), an [rpki] table reading the VRP file.
//
// Members are passive (the route server waits for them), have RPKI origin validation and, with
// IRR data, IRR filtering on; a member with NearLimit has its IPv4 max-prefix set so that it
// uses that share of it.
func Files(dir string, ms []Member, rsASN uint32, rpki bool) (toml string, names string, err error) {
	if err := Validate(ms); err != nil {
		return "", "", err
	}
	var b strings.Builder
	var roas []roa
	for i := range ms {
		m := &ms[i]
		v4, v6 := table(ms, i, rsASN)
		fmt.Fprintf(&b, "\n[[member]]\nname = %s\nasn = %d\nneighbors = [", strconv.Quote(m.Name), m.ASN)
		for j, a := range m.neighbors() {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(a.String()))
		}
		fmt.Fprintf(&b, "]\ndescription = %s\npassive = true\n", strconv.Quote(m.Description()))
		if rpki {
			b.WriteString("rpki = \"reject-invalid\"\n")
		}
		if m.Misconfig {
			b.WriteString("max_communities = 20\ntoo_many_communities = \"reject\"\n")
		}
		if m.NearLimit > 0 {
			held := 0
			for _, g := range v4 {
				held += len(g.prefixes)
			}
			fmt.Fprintf(&b, "max_prefix_ipv4 = %d\nmax_prefix_action = \"warn\"\n", held*100/m.NearLimit)
		}
		if m.IRR {
			pf, af := filepath.Join(dir, fmt.Sprintf("irr-AS%d.json", m.ASN)), filepath.Join(dir, fmt.Sprintf("irr-AS%d.asns", m.ASN))
			if err := writeIRR(pf, af, ms, i); err != nil {
				return "", "", err
			}
			fmt.Fprintf(&b, "irr = \"reject\"\nirr_prefix_file = %s\nirr_asn_file = %s\n", strconv.Quote(pf), strconv.Quote(af))
		}
		roas = append(roas, memberROAs(ms, i, v4, v6)...)
	}
	if rpki {
		vf := filepath.Join(dir, "vrps.json")
		if err := writeVRPs(vf, roas); err != nil {
			return "", "", err
		}
		fmt.Fprintf(&b, "\n[rpki]\nvrp_file = %s\n", strconv.Quote(vf))
	}
	names = filepath.Join(dir, "asn-names.txt")
	var nb strings.Builder
	nb.WriteString("# AS names of the ixrs demo (simulated members; these AS numbers are not allocated)\n")
	all := Names(ms)
	keys := make([]uint32, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&nb, "%d %s\n", k, all[k])
	}
	if err := os.WriteFile(names, []byte(nb.String()), 0o644); err != nil {
		return "", "", fmt.Errorf("demo: %w", err)
	}
	return b.String(), names, nil
}

// writeIRR writes member i's prefix list (bgpq4 -j) and AS-SET: its own space and its customers. A
// misconfigured member's list covers only its first /16, so its routes beyond are filtered.
func writeIRR(prefixFile, asnFile string, ms []Member, i int) error {
	m := &ms[i]
	type entry struct {
		Prefix string `json:"prefix"`
		Exact  bool   `json:"exact"`
		GE     int    `json:"greater-equal,omitempty"`
		LE     int    `json:"less-equal,omitempty"`
	}
	list := []entry{}
	// A transit provider's AS-SET holds its customers: here, every other member.
	covered := []int{i}
	if m.Transit > 0 {
		covered = nil
		for j := range ms {
			covered = append(covered, j)
		}
	}
	for _, j := range covered {
		if m.Misconfig {
			list = append(list, entry{Prefix: v4Block(j, 0, 16).String(), LE: 32})
		} else {
			for s := 0; s <= (ms[j].IPv4+100)/256; s++ {
				list = append(list, entry{Prefix: v4Block(j, byte(s), 16).String(), LE: 32})
			}
		}
		list = append(list, entry{Prefix: v6Block(j).String(), LE: 128})
	}
	data, err := json.Marshal(map[string][]entry{"NN": list})
	if err != nil {
		return err
	}
	if err := os.WriteFile(prefixFile, data, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# AS-SET of %s (demo)\n", m.Name)
	for _, j := range covered {
		for c := uint32(0); c <= customers; c++ {
			fmt.Fprintf(&b, "%d\n", ms[j].ASN+c)
		}
	}
	if err := os.WriteFile(asnFile, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

type roa struct {
	Prefix    string `json:"prefix"`
	MaxLength int    `json:"maxLength"`
	ASN       uint32 `json:"asn"`
	TA        string `json:"ta"`
}

// memberROAs are the VRPs for member i's routes: most of its routes are covered (valid), a part is
// not (not found), and its reason-13 routes belong to another origin (invalid).
func memberROAs(ms []Member, i int, v4, v6 []*group) []roa {
	var out []roa
	invalid := rpkiInvalid(v4)
	for _, gs := range [][]*group{v4, v6} {
		for _, g := range gs {
			if len(g.path) == 0 || g.filtered != 0 || g.path[0] != ms[i].ASN {
				continue
			}
			origin := g.path[len(g.path)-1]
			if slices.Contains(g.comms, blackholeCommunity) {
				// Blackholes are host routes: valid only with a ROA that allows them.
				for _, p := range g.prefixes {
					out = append(out, roa{Prefix: p.String(), MaxLength: p.Bits(), ASN: origin, TA: "demo"})
				}
				continue
			}
			for n, p := range g.prefixes {
				if (n+i)%4 == 3 || p.Bits() > 48 || (p.Addr().Is4() && p.Bits() > 24) {
					continue // not found: no ROA
				}
				if p.Bits() < 24 || (p.Addr().Is6() && p.Bits() < 48) {
					// No ROA for the aggregates: one with their own length as max length would make
					// every more-specific without a ROA of its own invalid instead of not found.
					continue
				}
				out = append(out, roa{Prefix: p.String(), MaxLength: p.Bits(), ASN: origin, TA: "demo"})
			}
		}
	}
	for _, p := range invalid {
		out = append(out, roa{Prefix: p.String(), MaxLength: p.Bits(), ASN: ms[i].ASN + 99, TA: "demo"})
	}
	return out
}

func writeVRPs(path string, roas []roa) error {
	data, err := json.Marshal(map[string]any{"metadata": map[string]any{"generated": 0}, "roas": roas})
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// RouteServerAddr picks where members connect to the route server: the first listener of the
// family, with an unspecified address ("0.0.0.0:179") meaning loopback.
func RouteServerAddr(listen []netip.AddrPort, ipv6 bool) (netip.AddrPort, bool) {
	for _, ap := range listen {
		if ap.Addr().Unmap().Is4() == ipv6 {
			continue
		}
		a := ap.Addr()
		if a.IsUnspecified() {
			a = netip.AddrFrom4([4]byte{127, 0, 0, 1})
			if ipv6 {
				a = netip.IPv6Loopback()
			}
		}
		if !a.IsLoopback() {
			continue
		}
		return netip.AddrPortFrom(a, ap.Port()), true
	}
	return netip.AddrPort{}, false
}
