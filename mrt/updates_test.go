package mrt

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	gomrt "github.com/osrg/gobgp/v3/pkg/packet/mrt"

	"github.com/ixrs/ixrs/speaker"
)

// updatePeers are the sessions of the update log tests: a 2-octet AS member and a 4-octet AS
// member with four-octet ASNs negotiated, over IPv4 and IPv6, and a member whose session did not
// negotiate them (its UPDATEs carry AS_TRANS and AS4_PATH).
var updatePeers = map[string]*UpdatePeer{
	"A":  {Member: "A", PeerAS: 64501, LocalAS: 65000, Peer: netip.MustParseAddr("192.0.2.11"), Local: netip.MustParseAddr("192.0.2.1"), FourOctetAS: true},
	"B6": {Member: "B", PeerAS: 4200000001, LocalAS: 65000, Peer: netip.MustParseAddr("2001:db8:ffff::12"), Local: netip.MustParseAddr("2001:db8:ffff::1"), FourOctetAS: true},
	"C":  {Member: "C", PeerAS: 64503, LocalAS: 4200000000, Peer: netip.MustParseAddr("192.0.2.13"), Local: netip.MustParseAddr("192.0.2.1")},
}

// rawUpdates encodes u as the session of p would carry it.
func rawUpdates(t *testing.T, p *UpdatePeer, u *speaker.Update) [][]byte {
	t.Helper()
	msgs, err := speaker.EncodeUpdate(u, speaker.EncodeOptions{FourOctetAS: p.FourOctetAS, MaxMessage: speaker.MaxMessageLen})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func upd(asn uint32, nh string, path []uint32, prefixes ...string) *speaker.Update {
	a := &speaker.Attrs{Origin: speaker.OriginIGP, ASPath: speaker.ASPath{{Type: speaker.SegSequence, ASNs: append([]uint32{asn}, path...)}},
		Communities: []uint32{65000<<16 | 100}}
	if n := netip.MustParseAddr(nh); n.Is4() {
		a.NextHop = n
	} else {
		a.MPNextHop = n
	}
	u := &speaker.Update{Attrs: a}
	for _, p := range prefixes {
		u.NLRI = append(u.NLRI, netip.MustParsePrefix(p))
	}
	return u
}

// logged runs an update log in dir, logs each peer's messages in order, rotates and returns the
// finished file.
func logged(t *testing.T, dir string, cfg UpdateLogConfig, msgs []struct {
	p   *UpdatePeer
	msg []byte
}) (*UpdateLog, string) {
	t.Helper()
	cfg.Dir, cfg.Logger = dir, quiet
	l := NewUpdateLog(cfg)
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() { l.Run(done); close(ended) }()
	t.Cleanup(func() { close(done); <-ended })
	for _, m := range msgs {
		l.Log(m.p, m.msg)
	}
	name := l.Rotate()
	if name == "" {
		t.Fatalf("rotation wrote no file: %+v", l.Status())
	}
	return l, name
}

type logMsg = struct {
	p   *UpdatePeer
	msg []byte
}

func testMessages(t *testing.T) []logMsg {
	a, b, c := updatePeers["A"], updatePeers["B6"], updatePeers["C"]
	var out []logMsg
	add := func(p *UpdatePeer, u *speaker.Update) {
		for _, m := range rawUpdates(t, p, u) {
			out = append(out, logMsg{p, m})
		}
	}
	add(a, upd(64501, "192.0.2.11", []uint32{64512}, "203.0.113.0/24"))
	add(b, upd(4200000001, "2001:db8:ffff::12", []uint32{65536}, "2001:db8:200::/48"))
	add(c, upd(64503, "192.0.2.13", []uint32{4200000002}, "198.51.100.0/24"))
	add(a, &speaker.Update{Withdrawn: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	out = append(out, logMsg{a, speaker.EncodeKeepalive()}) // not an UPDATE: not logged
	return out
}

// TestUpdateLogBGPDump: bgpdump reads an update file back: every UPDATE as the members sent it,
// IPv4 and IPv6, 2-octet and 4-octet ASNs, a session without four-octet ASNs (BGP4MP_MESSAGE,
// AS4_PATH merged by the reader), a withdrawal; the KEEPALIVE is not there.
func TestUpdateLogBGPDump(t *testing.T) {
	bin := bgpdumpBin(t)
	ts := time.Date(2026, 12, 4, 12, 0, 1, 250000000, time.UTC)
	l, name := logged(t, t.TempDir(), UpdateLogConfig{Now: func() time.Time { return ts }}, testMessages(t))
	if got, want := filepath.Base(name), "ixrs-updates-20261204T120001Z.mrt"; got != want {
		t.Errorf("file %s, want %s", got, want)
	}
	if st := l.Status(); st.Records != 4 || st.Dropped != 0 || st.Files != 1 {
		t.Errorf("status %+v: want 4 records, none dropped, 1 file", st)
	}
	want := []string{
		"BGP4MP_ET|A|192.0.2.11|64501|203.0.113.0/24|64501 64512|IGP|192.0.2.11|0|0|65000:100|NAG||",
		"BGP4MP_ET|A|192.0.2.13|64503|198.51.100.0/24|64503 4200000002|IGP|192.0.2.13|0|0|65000:100|NAG||",
		"BGP4MP_ET|A|2001:db8:ffff::12|4200000001|2001:db8:200::/48|4200000001 65536|IGP|2001:db8:ffff::12|0|0|65000:100|NAG||",
		"BGP4MP_ET|W|192.0.2.11|64501|203.0.113.0/24",
	}
	if got := readBack(t, bin, name); !slices.Equal(got, want) {
		t.Errorf("update file reads back as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestUpdateLogGobgp: gobgp's MRT reader decodes every record with the session's addresses and
// ASes and the microsecond timestamp, and its BGP message is the one logged, byte for byte.
func TestUpdateLogGobgp(t *testing.T) {
	ts := time.Date(2026, 12, 4, 12, 0, 1, 250000000, time.UTC)
	msgs := testMessages(t)
	_, name := logged(t, t.TempDir(), UpdateLogConfig{Now: func() time.Time { return ts }}, msgs)
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs[:4] {
		h := &gomrt.MRTHeader{}
		if err := h.DecodeFromBytes(b[:gomrt.MRT_COMMON_HEADER_LEN]); err != nil {
			t.Fatal(err)
		}
		if h.Type != gomrt.BGP4MP_ET || h.Timestamp != uint32(ts.Unix()) {
			t.Fatalf("record %d: header %+v", i, h)
		}
		rec := b[:gomrt.MRT_COMMON_HEADER_LEN+int(h.Len)]
		b = b[len(rec):]
		// gobgp does not read the extended timestamp's microseconds: check them here, then hand it
		// the record as plain BGP4MP.
		if usec := uint32(rec[12])<<24 | uint32(rec[13])<<16 | uint32(rec[14])<<8 | uint32(rec[15]); usec != 250000 {
			t.Errorf("record %d: microseconds %d", i, usec)
		}
		h.Type, h.Len = gomrt.BGP4MP, h.Len-4
		msg, err := gomrt.ParseMRTBody(h, rec[16:])
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		body := msg.Body.(*gomrt.BGP4MPMessage)
		if body.PeerAS != as4or2(m.p, m.p.PeerAS) || body.LocalAS != as4or2(m.p, m.p.LocalAS) ||
			body.PeerIpAddress.String() != m.p.Peer.String() || body.LocalIpAddress.String() != m.p.Local.String() {
			t.Errorf("record %d: %+v, want the session %+v", i, body.BGP4MPHeader, m.p)
		}
		got, _ := body.BGPMessage.Serialize()
		if _, ok := body.BGPMessage.Body.(*gobgp.BGPUpdate); !ok || string(got) != string(m.msg) {
			t.Errorf("record %d: message %x, want %x", i, got, m.msg)
		}
	}
	if len(b) != 0 {
		t.Errorf("%d bytes after the last record (the KEEPALIVE must not be logged)", len(b))
	}
}

func as4or2(p *UpdatePeer, asn uint32) uint32 {
	if p.FourOctetAS {
		return asn
	}
	return uint32(as2(asn))
}

// TestUpdateLogMembersAndLimits: only the listed members are logged; an UPDATE that does not fit
// the pending bound is dropped and counted, not waited for; finished files beyond keep are removed
// and no temporary file stays.
func TestUpdateLogMembersAndLimits(t *testing.T) {
	dir := t.TempDir()
	msgs := testMessages(t)
	l := NewUpdateLog(UpdateLogConfig{Dir: dir, Logger: quiet, Members: []string{"A"}, MaxPending: 200, Keep: 2})
	// No writer yet: what fits in 200 bytes is queued, the rest dropped.
	var accepted, dropped int
	for range 5 {
		for _, m := range msgs {
			if m.p.Member != "A" || m.msg[18] != 2 {
				if !l.Log(m.p, m.msg) {
					t.Fatal("a message that is not logged was reported dropped")
				}
				continue
			}
			if l.Log(m.p, m.msg) {
				accepted++
			} else {
				dropped++
			}
		}
	}
	if accepted == 0 || dropped == 0 || l.Status().Dropped != uint64(dropped) {
		t.Fatalf("accepted %d, dropped %d, status %+v: want both, counted", accepted, dropped, l.Status())
	}
	done, ended := make(chan struct{}), make(chan struct{})
	go func() { l.Run(done); close(ended) }()
	var files []string
	for range 3 {
		files = append(files, l.Rotate())
		time.Sleep(1100 * time.Millisecond) // one file per second: names have seconds
	}
	close(done)
	<-ended
	if st := l.Status(); st.Records != uint64(accepted) || st.Files != 4 {
		t.Errorf("status %+v: want %d records in 4 files", st, accepted)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !strings.HasPrefix(names[0], updatesPrefix) || slices.Contains(names, filepath.Base(files[0])) {
		t.Errorf("directory %v: want the newest 2 update files only (first was %s)", names, files[0])
	}
}
