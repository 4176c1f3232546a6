package rpki

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/ixrs/ixrs/internal/jsonscan"
)

// vrpFileJSON is a VRP file as rpki-client writes it, of n VRPs (nine in ten IPv4 /24s, one in
// ten IPv6 /48s, some with a string asn), the first changed of every hundred VRPs having a
// different origin when salt is non-zero: the "1% of VRPs change" of a reload. Like rpki-client's,
// the file lists IPv4 before IPv6, each in address order.
func vrpFileJSON(n int, salt uint32) []byte {
	buf := make([]byte, 0, n*96)
	buf = append(buf, `{"metadata": {"buildmachine": "rpki.example", "roas": 1, "generated": 1700000000},`+"\n"+`"roas": [`...)
	order := make([]int, 0, n)
	for _, v6 := range []bool{false, true} {
		for i := range n {
			if (i%10 == 9) == v6 {
				order = append(order, i)
			}
		}
	}
	for k, i := range order {
		if k > 0 {
			buf = append(buf, ",\n"...)
		}
		asn := uint32(1000 + i%50_000)
		if i%100 == 0 {
			asn += salt
		}
		var p string
		max := 24
		if i%10 == 9 {
			p = fmt.Sprintf("2a%02x:%x:%x::/48", i>>24&0xff, i>>12&0xfff, i&0xfff)
			max = 48
		} else {
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + i>>16&0x7f), byte(i >> 8), byte(i), 0}), 24).String()
		}
		buf = append(buf, `{ "asn": `...)
		if i%3 == 0 {
			buf = append(buf, `"AS`...)
			buf = strconv.AppendUint(buf, uint64(asn), 10)
			buf = append(buf, '"')
		} else {
			buf = strconv.AppendUint(buf, uint64(asn), 10)
		}
		buf = append(buf, `, "prefix": "`...)
		buf = append(buf, p...)
		buf = append(buf, `", "maxLength": `...)
		buf = strconv.AppendInt(buf, int64(max), 10)
		buf = append(buf, `, "ta": "ripe", "expires": 1700086400 }`...)
	}
	buf = append(buf, "\n]}\n"...)
	return buf
}

// BenchmarkVRPFile400k is the VRP-file path of a reload at IXP scale, 400,000 VRPs with 1% of
// them changed: parsing the file, building the table, and computing the changed prefixes against
// the table in force — each step separately.
func BenchmarkVRPFile400k(b *testing.B) {
	const n = 400_000
	oldData, newData := vrpFileJSON(n, 0), vrpFileJSON(n, 7)
	oldVRPs, err := ParseJSON(oldData)
	if err != nil {
		b.Fatal(err)
	}
	newVRPs, err := ParseJSON(newData)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(newData)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseJSON(newData); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewTable(newVRPs)
		}
	})
	// A file in another order costs NewTable a sort.
	shuffled := slices.Clone(newVRPs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b.Run("build-unsorted", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewTable(shuffled)
		}
	})
	oldTab, newTab := NewTable(oldVRPs), NewTable(newVRPs)
	b.Run("equal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if Equal(oldTab, newTab) {
				b.Fatal("tables with 1% changed are equal")
			}
		}
	})
	b.Run("diff", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if d := Changed(oldTab, newTab); d.Len() != n/100 {
				b.Fatalf("%d changed prefixes, want %d", d.Len(), n/100)
			}
		}
	})
}

// TestParseJSONHalves: a VRP file read in two halves at once (roasSplit) gives the list one pass
// gives, also where the place the halves would meet at is inside a string that looks like the end
// of an entry; and a file with a bad entry in either half is refused as in one pass.
func TestParseJSONHalves(t *testing.T) {
	plain := vrpFileJSON(5000, 3)
	// Every "ta" a string holding "}, {": the first candidate meeting place after the middle is
	// inside one, so the first half cannot end there.
	tricky := bytes.ReplaceAll(plain, []byte(`"ta": "ripe"`), []byte(`"ta": "r}, {\"asn\": 1}, {x"`))
	tricky = bytes.ReplaceAll(tricky, []byte(`\"asn\": 1`), []byte(`asn: 1`))
	for name, data := range map[string][]byte{"plain": plain, "strings": tricky} {
		want, err := parseJSONReflect(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		one, ok := fastParseJSON(data, len(data)+1)
		if !ok || !slices.Equal(one, want) {
			t.Fatalf("%s: one pass: ok %v, %d VRPs, want %d", name, ok, len(one), len(want))
		}
		two, ok := fastParseJSON(data, 0)
		if !ok || !slices.Equal(two, want) {
			t.Fatalf("%s: in halves: ok %v, %d VRPs, want %d", name, ok, len(two), len(want))
		}
		s := &vrpScanner{Scanner: jsonscan.Scanner{B: data, I: bytes.IndexByte(data, '[')}}
		if _, split := s.roasSplit(); split != (name == "plain") {
			t.Errorf("%s: read in halves: %v", name, split)
		}
	}
	for _, at := range []float64{0.1, 0.49, 0.51, 0.9} {
		i := bytes.Index(plain[int(float64(len(plain))*at):], []byte(`"maxLength": `)) + int(float64(len(plain))*at)
		bad := slices.Concat(plain[:i], []byte(`"maxLength": 999`), plain[i+len(`"maxLength": 24`):])
		if _, ok := fastParseJSON(bad, 0); ok {
			t.Errorf("a bad entry at %.0f%% of the file read in halves was accepted", at*100)
		}
		if _, err := ParseJSON(bad); err == nil {
			t.Errorf("a bad entry at %.0f%% of the file was accepted", at*100)
		}
	}
}
