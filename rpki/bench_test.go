package rpki

import (
	"net/netip"
	"strconv"
	"testing"
)

// benchTable is a table of the global RPKI's size (about 500,000 IPv4 VRPs, /16 to /24).
func benchTable() (*Table, []netip.Prefix) {
	vrps := make([]VRP, 0, 500_000)
	for i := range 500_000 {
		a := netip.AddrFrom4([4]byte{byte(1 + i>>16&0x7f), byte(i >> 8), byte(i), 0})
		vrps = append(vrps, VRP{Prefix: netip.PrefixFrom(a, 24), MaxLength: 24, ASN: uint32(1000 + i%5000)})
	}
	routes := make([]netip.Prefix, 4096)
	for i := range routes {
		routes[i] = vrps[i*97].Prefix
	}
	return NewTable(vrps), routes
}

// BenchmarkValidate is one origin validation against a full-size table.
func BenchmarkValidate(b *testing.B) {
	t, routes := benchTable()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := routes[i&4095]
		t.Validate(r, 1000)
		i++
	}
}

// BenchmarkParseJSON is loading a VRP file of 10,000 entries.
func BenchmarkParseJSON(b *testing.B) {
	var buf []byte
	buf = append(buf, `{"roas": [`...)
	for i := range 10_000 {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"prefix": "11.`...)
		buf = append(buf, []byte(strconv.Itoa(i>>8))...)
		buf = append(buf, '.')
		buf = append(buf, []byte(strconv.Itoa(i&255))...)
		buf = append(buf, `.0/24", "maxLength": 24, "asn": 65001}`...)
	}
	buf = append(buf, "]}"...)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := ParseJSON(buf); err != nil {
			b.Fatal(err)
		}
	}
}
