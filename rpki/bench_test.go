package rpki

import (
	"bytes"
	"net/netip"
	"runtime"
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

// rtrStream is n IPv4 Prefix PDUs (distinct /24s) as a cache sends them.
func rtrStream(n int) []byte {
	b := make([]byte, 0, n*20)
	for i := range n {
		a := netip.AddrFrom4([4]byte{byte(1 + i>>16&0x7f), byte(i >> 8), byte(i), 0})
		b = (&PrefixPDU{Version: 1, Announce: true, Prefix: netip.PrefixFrom(a, 24), MaxLength: 24, ASN: uint32(1000 + i%5000)}).AppendTo(b)
	}
	return b
}

// BenchmarkDecodePrefixPDU is reading and decoding one IPv4 Prefix PDU from a stream, as the
// client does.
func BenchmarkDecodePrefixPDU(b *testing.B) {
	stream := rtrStream(100_000)
	r := bytes.NewReader(stream)
	var buf []byte
	b.SetBytes(20)
	b.ReportAllocs()
	for b.Loop() {
		if r.Len() == 0 {
			r.Reset(stream)
		}
		raw, nb, err := ReadPDU(r, buf)
		buf = nb
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// loadCache applies a reset response of n VRPs to fresh cache data, as the client does; pending,
// when not nil, is called with the response complete but not committed yet.
func loadCache(tb testing.TB, n int, pending func()) *cacheData {
	d := newCacheData()
	x := newDelta(true)
	stream := rtrStream(n)
	for off := 0; off < len(stream); off += 20 {
		p, err := Decode(stream[off : off+20])
		if err != nil {
			tb.Fatal(err)
		}
		if err := d.add(x, p); err != nil {
			tb.Fatal(err)
		}
	}
	if pending != nil {
		pending()
	}
	d.commit(x)
	return d
}

// BenchmarkCacheMemory is the memory one cache's data takes per VRP after a reset response of a
// million VRPs: the snapshot handed to the RIB, which is also the set the client checks
// announcements and withdrawals against (heap in use after GC, divided by the VRPs). B/pending-VRP is
// the same for a response still in progress (no snapshot yet), the cost of records a cache sends
// before the bound stops it.
func BenchmarkCacheMemory(b *testing.B) {
	const n = 1_000_000
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for b.Loop() {
		before := heap()
		var pending uint64
		d := loadCache(b, n, func() { pending = heap() })
		after := heap()
		b.ReportMetric(float64(after-before)/n, "B/VRP")
		b.ReportMetric(float64(pending-before)/n, "B/pending-VRP")
		runtime.KeepAlive(d)
	}
}

// BenchmarkSerial is a serial of 1% changes (3,500 withdrawals, 3,500 announcements) on a cache
// holding 700,000 VRPs: checking the PDUs, committing, and building the new snapshot.
func BenchmarkSerial(b *testing.B) {
	const n = 700_000
	d := loadCache(b, n, nil)
	more := rtrStream(n + 3500)[n*20:]
	old := rtrStream(3500)
	flip := false
	for b.Loop() {
		x := newDelta(false)
		add, del := more, old
		if flip {
			add, del = old, more
		}
		flip = !flip
		for off := 0; off < len(add); off += 20 {
			p, _ := Decode(add[off : off+20])
			p.(*PrefixPDU).Announce = true
			if err := d.add(x, p); err != nil {
				b.Fatal(err)
			}
			q, _ := Decode(del[off : off+20])
			q.(*PrefixPDU).Announce = false
			if err := d.add(x, q); err != nil {
				b.Fatal(err)
			}
		}
		if c := d.commit(x); len(c) != 7000 {
			b.Fatalf("%d changed prefixes", len(c))
		}
	}
}
