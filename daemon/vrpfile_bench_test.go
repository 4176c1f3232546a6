package daemon

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ixrs/ixrs/rpki"
)

// vrpFileData is an rpki-client VRP file of n IPv4 /24 VRPs; salt changes the origin of one VRP
// in a hundred.
func vrpFileData(n int, salt uint32) []byte {
	buf := []byte(`{"metadata": {"buildmachine": "rpki.example"}, "roas": [`)
	for i := range n {
		if i > 0 {
			buf = append(buf, ",\n"...)
		}
		asn := uint32(1000 + i%50_000)
		if i%100 == 0 {
			asn += salt
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + i>>16&0x7f), byte(i >> 8), byte(i), 0}), 24)
		buf = append(buf, `{ "asn": "AS`...)
		buf = strconv.AppendUint(buf, uint64(asn), 10)
		buf = append(buf, `", "prefix": "`...)
		buf = append(buf, p.String()...)
		buf = append(buf, `", "maxLength": 24, "ta": "ripe", "expires": 1700086400 }`...)
	}
	return append(buf, "]}\n"...)
}

// BenchmarkVRPFileReload400k is what a reload does with a VRP file of 400,000 VRPs of which 1%
// changed, before the RIB gets the result: read and hash the file, parse it, build the table
// (fileCache.vrpFile), tell that it changed and work out the changed prefixes (rpkiFeed). Writing
// the file is not timed.
func BenchmarkVRPFileReload400k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "vrps.json")
	versions := [][]byte{vrpFileData(400_000, 0), vrpFileData(400_000, 7)}
	if err := os.WriteFile(path, versions[0], 0o644); err != nil {
		b.Fatal(err)
	}
	var c fileCache
	cur, err := c.vrpFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		if err := os.WriteFile(path, versions[i%2], 0o644); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t, err := c.vrpFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if t == cur || rpki.Equal(cur, t) {
			b.Fatal("changed file read as unchanged")
		}
		if n := len(rpki.Changed(cur, t).Prefixes()); n != 4000 {
			b.Fatalf("%d changed prefixes, want 4000", n)
		}
		cur = t
	}
}
