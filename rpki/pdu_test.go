package rpki

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenPDUs are wire encodings written by hand from the layouts in RFC 6810 §5, RFC 8210 §5 and
// draft-ietf-sidrops-8210bis §5.12 (header: version, type, session/zero/flags, length).
var goldenPDUs = []struct {
	name string
	wire string
	pdu  PDU
}{
	{"v0 serial notify", "00 00 1234 0000000c 00000007", &SerialNotify{0, 0x1234, 7}},
	{"v1 serial notify", "01 00 1234 0000000c 00000007", &SerialNotify{1, 0x1234, 7}},
	{"v0 serial query", "00 01 0001 0000000c fffffffe", &SerialQuery{0, 1, 0xfffffffe}},
	{"v1 serial query", "01 01 0001 0000000c 00000002", &SerialQuery{1, 1, 2}},
	{"v2 serial query", "02 01 0001 0000000c 00000002", &SerialQuery{2, 1, 2}},
	{"v0 reset query", "00 02 0000 00000008", &ResetQuery{0}},
	{"v1 reset query", "01 02 0000 00000008", &ResetQuery{1}},
	{"v2 reset query", "02 02 0000 00000008", &ResetQuery{2}},
	{"v0 cache response", "00 03 beef 00000008", &CacheResponse{0, 0xbeef}},
	{"v1 cache response", "01 03 beef 00000008", &CacheResponse{1, 0xbeef}},
	{"v0 ipv4 prefix announce", "00 04 0000 00000014 01 18 18 00 c0000200 0000fde9",
		&PrefixPDU{0, true, netip.MustParsePrefix("192.0.2.0/24"), 24, 65001}},
	{"v1 ipv4 prefix withdraw", "01 04 0000 00000014 00 16 18 00 c6336400 0000fdea",
		&PrefixPDU{1, false, netip.MustParsePrefix("198.51.100.0/22"), 24, 65002}},
	{"v1 ipv4 default AS0", "01 04 0000 00000014 01 00 20 00 00000000 00000000",
		&PrefixPDU{1, true, netip.MustParsePrefix("0.0.0.0/0"), 32, 0}},
	{"v0 ipv6 prefix", "00 06 0000 00000020 01 30 30 00 20010db8010000000000000000000000 0000fde9",
		&PrefixPDU{0, true, netip.MustParsePrefix("2001:db8:100::/48"), 48, 65001}},
	{"v1 ipv6 prefix withdraw", "01 06 0000 00000020 00 20 80 00 20010db8000000000000000000000000 fbf00001",
		&PrefixPDU{1, false, netip.MustParsePrefix("2001:db8::/32"), 128, 4226809857}},
	{"v0 end of data", "00 07 1234 0000000c 00000009", &EndOfData{Version: 0, SessionID: 0x1234, Serial: 9}},
	{"v1 end of data", "01 07 1234 00000018 00000009 00000e10 00000258 00001c20",
		&EndOfData{1, 0x1234, 9, 3600, 600, 7200}},
	{"v2 end of data", "02 07 0001 00000018 00000001 0000001e 0000000a 00000258",
		&EndOfData{2, 1, 1, 30, 10, 600}},
	{"v0 cache reset", "00 08 0000 00000008", &CacheReset{0}},
	{"v1 cache reset", "01 08 0000 00000008", &CacheReset{1}},
	{"v1 router key", "01 09 0100 00000024 0102030405060708090a0b0c0d0e0f1011121314 0000fde9 aabbccdd",
		&RouterKey{1, true, [20]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, 65001, []byte{0xaa, 0xbb, 0xcc, 0xdd}}},
	{"v2 router key withdraw", "02 09 0000 00000020 0000000000000000000000000000000000000000 0000fde9",
		&RouterKey{Version: 2, ASN: 65001}},
	{"v0 error report", "00 0a 0002 00000010 00000000 00000000", &ErrorReport{Version: 0, Code: CodeNoData}},
	{"v1 error report with pdu and text", "01 0a 0007 00000027 00000014 01 04 0000 00000014 01 18 18 00 c0000200 0000fde9 00000003 647570",
		&ErrorReport{1, CodeDuplicate, []byte{1, 4, 0, 0, 0, 0, 0, 0x14, 1, 0x18, 0x18, 0, 0xc0, 0, 2, 0, 0, 0, 0xfd, 0xe9}, "dup"}},
	{"v2 error report ASPA", "02 0a 0009 00000011 00000000 00000001 78", &ErrorReport{2, CodeASPAProviderList, nil, "x"}},
	{"v2 aspa announce", "02 0b 0100 00000014 0000fdeb 0000fde8 0000fdea",
		&ASPA{2, true, 65003, []uint32{65000, 65002}}},
	{"v2 aspa withdraw", "02 0b 0000 0000000c 0000fdeb", &ASPA{Version: 2, Customer: 65003}},
}

func TestPDUGolden(t *testing.T) {
	for _, g := range goldenPDUs {
		wire := unhex(t, g.wire)
		got, err := Decode(wire)
		if err != nil {
			t.Errorf("%s: Decode: %v", g.name, err)
			continue
		}
		if !reflect.DeepEqual(got, g.pdu) {
			t.Errorf("%s: Decode = %#v, want %#v", g.name, got, g.pdu)
		}
		if enc := g.pdu.AppendTo(nil); !bytes.Equal(enc, wire) {
			t.Errorf("%s: AppendTo = % x, want % x", g.name, enc, wire)
		}
		raw, _, err := ReadPDU(bytes.NewReader(append(wire, 0xff)), nil)
		if err != nil || !bytes.Equal(raw, wire) {
			t.Errorf("%s: ReadPDU = % x, %v", g.name, raw, err)
		}
	}
}

// TestPDUMalformed is every class of malformed PDU, with the Error Report code it must get.
func TestPDUMalformed(t *testing.T) {
	cases := []struct {
		name string
		wire string
		code ErrorCode
	}{
		{"short header", "01 00 00", CodeCorruptData},
		{"version 3", "03 02 0000 00000008", CodeUnsupportedVersion},
		{"version 255", "ff 00 0000 0000000c 00000000", CodeUnsupportedVersion},
		{"unknown type 5", "01 05 0000 00000008", CodeUnsupportedPDU},
		{"unknown type 12", "02 0c 0000 00000008", CodeUnsupportedPDU},
		{"unknown type 255", "01 ff 0000 00000008", CodeUnsupportedPDU},
		{"router key in v0", "00 09 0100 00000020 0000000000000000000000000000000000000000 0000fde9", CodeUnsupportedPDU},
		{"aspa in v1", "01 0b 0100 00000010 0000fdeb 0000fde8", CodeUnsupportedPDU},
		{"serial notify short", "01 00 0001 0000000b 000000", CodeCorruptData},
		{"reset query long", "01 02 0000 00000009 00", CodeCorruptData},
		{"reset query zero field", "01 02 0001 00000008", CodeCorruptData},
		{"cache reset zero field", "01 08 8000 00000008", CodeCorruptData},
		{"v1 end of data of v0 size", "01 07 0001 0000000c 00000001", CodeCorruptData},
		{"v0 end of data of v1 size", "00 07 0001 00000018 00000009 00000e10 00000258 00001c20", CodeCorruptData},
		{"ipv4 prefix length 33", "01 04 0000 00000014 01 21 21 00 c0000200 0000fde9", CodeCorruptData},
		{"ipv4 max length < length", "01 04 0000 00000014 01 18 10 00 c0000200 0000fde9", CodeCorruptData},
		{"ipv4 max length 33", "01 04 0000 00000014 01 18 21 00 c0000200 0000fde9", CodeCorruptData},
		{"ipv4 host bits", "01 04 0000 00000014 01 18 18 00 c0000201 0000fde9", CodeCorruptData},
		{"ipv4 flags 2", "01 04 0000 00000014 02 18 18 00 c0000200 0000fde9", CodeCorruptData},
		{"ipv4 zero byte", "01 04 0000 00000014 01 18 18 01 c0000200 0000fde9", CodeCorruptData},
		{"ipv4 header zero", "01 04 0100 00000014 01 18 18 00 c0000200 0000fde9", CodeCorruptData},
		{"ipv4 with ipv6 length", "01 04 0000 00000020 01 18 18 00 c0000200 0000fde9 0000000000000000 0000000000000000", CodeCorruptData},
		{"ipv6 prefix length 129", "01 06 0000 00000020 01 81 81 00 20010db8000000000000000000000000 0000fde9", CodeCorruptData},
		{"ipv6 short", "01 06 0000 00000014 01 18 18 00 c0000200 0000fde9", CodeCorruptData},
		{"router key short", "01 09 0100 0000001c 0000000000000000000000000000000000000000", CodeCorruptData},
		{"router key flags", "01 09 0300 00000020 0000000000000000000000000000000000000000 0000fde9", CodeCorruptData},
		{"error report pdu overruns", "01 0a 0000 00000010 00000001 00000000", CodeCorruptData},
		{"error report huge pdu length", "01 0a 0000 00000010 ffffffff 00000000", CodeCorruptData},
		{"error report text overruns", "01 0a 0000 00000011 00000000 00000002 41", CodeCorruptData},
		{"error report text short", "01 0a 0000 00000012 00000000 00000001 4142", CodeCorruptData},
		{"error report short", "01 0a 0000 0000000c 00000000", CodeCorruptData},
		{"aspa odd length", "02 0b 0100 00000012 0000fdeb 0000", CodeCorruptData},
		{"aspa flags", "02 0b 0200 00000010 0000fdeb 0000fde8", CodeCorruptData},
		{"aspa zero byte", "02 0b 0101 00000010 0000fdeb 0000fde8", CodeCorruptData},
		{"aspa announce without providers", "02 0b 0100 0000000c 0000fdeb", CodeASPAProviderList},
		{"aspa withdraw with providers", "02 0b 0000 00000010 0000fdeb 0000fde8", CodeASPAProviderList},
		{"aspa providers unsorted", "02 0b 0100 00000014 0000fdeb 0000fdea 0000fde8", CodeASPAProviderList},
		{"aspa duplicate provider", "02 0b 0100 00000014 0000fdeb 0000fde8 0000fde8", CodeASPAProviderList},
		{"length field longer than bytes", "01 03 0001 00000009", CodeCorruptData},
		{"length above the bound", "01 0a 0000 00100000", CodeCorruptData},
	}
	for _, c := range cases {
		_, err := Decode(unhex(t, c.wire))
		var pe *PDUError
		if !errors.As(err, &pe) {
			t.Errorf("%s: Decode error %v, want a *PDUError", c.name, err)
			continue
		}
		if pe.Code != c.code {
			t.Errorf("%s: code %v (%v), want %v", c.name, pe.Code, pe, c.code)
		}
	}
}

// TestReadPDUBoundsLength: a header claiming a huge PDU is refused before anything is read or
// allocated for its body.
func TestReadPDUBoundsLength(t *testing.T) {
	r := io.MultiReader(bytes.NewReader(unhex(t, "01 0a 0000 7fffffff")), neverEnds{})
	raw, _, err := ReadPDU(r, nil)
	var pe *PDUError
	if !errors.As(err, &pe) || pe.Code != CodeCorruptData || len(raw) != headerLen {
		t.Fatalf("ReadPDU = % x, %v; want the header and a Corrupt Data error", raw, err)
	}
	// A truncated body is an unexpected EOF, not a PDU.
	if _, _, err := ReadPDU(bytes.NewReader(unhex(t, "01 04 0000 00000014 01 18")), nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated PDU: %v", err)
	}
}

type neverEnds struct{}

func (neverEnds) Read(p []byte) (int, error) { return len(p), nil }

// FuzzDecodePDU checks that Decode never panics, and that whatever it accepts encodes back to the
// same bytes and decodes to the same PDU (strict decoding has one encoding per PDU).
func FuzzDecodePDU(f *testing.F) {
	for _, g := range goldenPDUs {
		f.Add(unhex(f, g.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			var pe *PDUError
			if !errors.As(err, &pe) {
				t.Fatalf("Decode error %T %v is not a *PDUError", err, err)
			}
			return
		}
		enc := p.AppendTo(nil)
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoded % x, input % x", enc, b)
		}
		p2, err := Decode(enc)
		if err != nil || !reflect.DeepEqual(p, p2) {
			t.Fatalf("decode of re-encoding: %#v, %v; first %#v", p2, err, p)
		}
	})
}

// TestFuzzCorpusSeeds keeps testdata/fuzz/FuzzDecodePDU in step with the golden PDUs: go test runs
// the files there as seeds, and a change to the golden table without -update would leave them stale.
func TestFuzzCorpusSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodePDU")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < len(goldenPDUs) {
		t.Fatalf("%s has %d seeds, want at least %d (one per golden PDU)", dir, len(entries), len(goldenPDUs))
	}
}
