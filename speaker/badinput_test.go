package speaker

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// badInputSetup starts a speaker with a well-behaved neighbor (127.0.0.30, announcing one route) and a
// raw neighbor at from; every bad-input test checks that the well-behaved session is untouched.
type badInputSetup struct {
	sp      *Speaker
	port    uint16
	good    *Peer
	goodRec *recorder
	raw     *Peer
	rawRec  *recorder
	rawLog  *logCapture // everything the raw neighbor's Peer logs
}

func newBadInput(t *testing.T, from string, rawAS uint32) *badInputSetup {
	t.Helper()
	b := &badInputSetup{}
	b.sp, b.port = newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
	b.goodRec, b.rawRec, b.rawLog = newRecorder(), newRecorder(), newLogCapture()
	var err error
	if b.good, err = b.sp.AddPeer(PeerConfig{Name: "good", PeerAddr: adr("127.0.0.30"), PeerAS: 65030, Passive: true}, b.goodRec); err != nil {
		t.Fatal(err)
	}
	if b.raw, err = b.sp.AddPeer(PeerConfig{Name: "raw", PeerAddr: adr(from), PeerAS: rawAS, Passive: true,
		Logger: slog.New(b.rawLog)}, b.rawRec); err != nil {
		t.Fatal(err)
	}
	b.good.Start()
	b.raw.Start()
	c, _ := newTestSpeaker(t, 65030, "10.0.0.30", "")
	gr := newRecorder()
	gp, err := c.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.1"), PeerPort: b.port, PeerAS: 65000, LocalAddr: adr("127.0.0.30")}, gr)
	if err != nil {
		t.Fatal(err)
	}
	gp.Start()
	waitEstablished(t, b.goodRec, 10*time.Second)
	waitEstablished(t, gr, 10*time.Second)
	if err := gp.Announce(fullAttrs(), pfx("198.51.100.0/24")); err != nil {
		t.Fatal(err)
	}
	b.goodRec.waitUpdates(t, 10*time.Second, func(u []*Update) bool { return len(u) == 1 })
	return b
}

// checkGoodUntouched asserts the well-behaved neighbor's session stayed up and got nothing unexpected.
func (b *badInputSetup) checkGoodUntouched(t *testing.T) {
	t.Helper()
	if b.good.State() != StateEstablished || len(b.goodRec.down) != 0 {
		t.Fatalf("the well-behaved neighbor was affected: state %s", b.good.State())
	}
	if u, _ := b.goodRec.snapshot(); len(u) != 1 || len(u[0].NLRI) != 1 {
		t.Fatalf("the well-behaved neighbor's updates changed: %d", len(u))
	}
}

// TestBadHeaders: framing errors get the RFC 4271 §6.1 NOTIFICATION, on a connection still in OpenSent and
// on an established one.
func TestBadHeaders(t *testing.T) {
	long := rawMsg(MsgUpdate, make([]byte, 5000)) // over 4096 without RFC 8654
	tests := []struct {
		name      string
		msg       []byte
		code, sub uint8
		data      []byte
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrMessageHeader, SubConnectionNotSynchronized, nil},
		{"wrong-marker", func() []byte { m := EncodeKeepalive(); m[3] = 0; return m }(), ErrMessageHeader, SubConnectionNotSynchronized, nil},
		{"length-under-19", func() []byte { m := EncodeKeepalive(); binary.BigEndian.PutUint16(m[16:], 18); return m }(), ErrMessageHeader, SubBadMessageLength, []byte{0, 18}},
		{"length-over-max", long, ErrMessageHeader, SubBadMessageLength, long[16:18]},
		{"keepalive-length-20", append(func() []byte { m := EncodeKeepalive(); binary.BigEndian.PutUint16(m[16:], 20); return m }(), 0), ErrMessageHeader, SubBadMessageLength, []byte{0, 20}},
		{"unknown-type", rawMsg(9, nil), ErrMessageHeader, SubBadMessageType, []byte{9}},
		{"update-too-short", rawMsg(MsgUpdate, []byte{0, 0}), ErrMessageHeader, SubBadMessageLength, []byte{0, 21}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := netip.AddrFrom4([4]byte{127, 0, 1, byte(10 + i)}).String()
			b := newBadInput(t, from, 65040)
			raw := dialRaw(t, from, b.port)
			raw.handshake(rawOpen(65040, "10.0.0.40", 90))
			waitEstablished(t, b.rawRec, 10*time.Second)
			raw.send(tc.msg)
			n := raw.expectNotification(tc.code, tc.sub)
			if tc.data != nil && !slices.Equal(n.Data, tc.data) {
				t.Errorf("NOTIFICATION data %x, want %x", n.Data, tc.data)
			}
			waitDown(t, b.rawRec, 10*time.Second)
			b.checkGoodUntouched(t)
		})
	}
}

// TestTruncatedMessage: a connection closed in the middle of a message takes the session down without a
// NOTIFICATION (there is no one left to send it to) and without harm to anyone else.
func TestTruncatedMessage(t *testing.T) {
	b := newBadInput(t, "127.0.1.40", 65040)
	raw := dialRaw(t, "127.0.1.40", b.port)
	raw.handshake(rawOpen(65040, "10.0.0.40", 90))
	waitEstablished(t, b.rawRec, 10*time.Second)
	m := rawMsg(MsgUpdate, make([]byte, 100))
	raw.send(m[:50])
	raw.conn.Close()
	err := waitDown(t, b.rawRec, 10*time.Second)
	var se *SessionError
	if !errors.As(err, &se) || se.Notification != nil {
		t.Fatalf("down reason %v, want an I/O error", err)
	}
	b.checkGoodUntouched(t)
}

// TestBadOpen: each RFC 4271 §6.2 OPEN error gets its NOTIFICATION and no session.
func TestBadOpen(t *testing.T) {
	tests := []struct {
		name      string
		mod       func(o *Open) []byte
		code, sub uint8
	}{
		{"version-3", func(o *Open) []byte { o.Version = 3; return EncodeOpen(o) }, ErrOpen, SubUnsupportedVersion},
		{"wrong-as", func(o *Open) []byte { o.MyAS = 65099; o.Caps.AS4 = 65099; return EncodeOpen(o) }, ErrOpen, SubBadPeerAS},
		{"zero-id", func(o *Open) []byte { o.RouterID = adr("0.0.0.0"); return EncodeOpen(o) }, ErrOpen, SubBadBGPIdentifier},
		{"our-id", func(o *Open) []byte { o.RouterID = adr("10.0.0.1"); return EncodeOpen(o) }, ErrOpen, SubBadBGPIdentifier},
		{"hold-time-1", func(o *Open) []byte { o.HoldTime = 1; return EncodeOpen(o) }, ErrOpen, SubUnacceptableHoldTime},
		{"hold-time-2", func(o *Open) []byte { o.HoldTime = 2; return EncodeOpen(o) }, ErrOpen, SubUnacceptableHoldTime},
		{"no-common-family", func(o *Open) []byte {
			o.Caps.Families = []Family{NewFamily(25, 70)} // L2VPN EVPN only
			return EncodeOpen(o)
		}, ErrOpen, SubUnsupportedCapability},
		{"keepalive-before-open", func(o *Open) []byte { return EncodeKeepalive() }, ErrFSM, SubFSMUnexpectedOpenSent},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := netip.AddrFrom4([4]byte{127, 0, 2, byte(10 + i)}).String()
			b := newBadInput(t, from, 65040)
			raw := dialRaw(t, from, b.port)
			raw.send(tc.mod(rawOpen(65040, "10.0.0.40", 90)))
			raw.expect(MsgOpen)
			raw.expectNotification(tc.code, tc.sub)
			select {
			case <-b.rawRec.established:
				t.Fatal("session established with a bad OPEN")
			default:
			}
			b.checkGoodUntouched(t)
		})
	}
}

// attr encodes one path attribute.
func attr(flags, typ uint8, val []byte) []byte {
	if len(val) > 255 {
		flags |= FlagExtLen
		b := []byte{flags, typ, byte(len(val) >> 8), byte(len(val))}
		return append(b, val...)
	}
	return append([]byte{flags, typ, byte(len(val))}, val...)
}

// updateBody builds an UPDATE body from raw parts.
func updateBody(withdrawn []byte, attrs [][]byte, nlri []byte) []byte {
	var a []byte
	for _, x := range attrs {
		a = append(a, x...)
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(len(withdrawn)))
	b = append(b, withdrawn...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(a)))
	b = append(b, a...)
	return append(b, nlri...)
}

var (
	goodOrigin  = attr(FlagTransitive, AttrOrigin, []byte{0})
	goodASPath  = attr(FlagTransitive, AttrASPath, []byte{SegSequence, 1, 0, 0, 0xfe, 0x48}) // 65096
	goodNextHop = attr(FlagTransitive, AttrNextHop, []byte{192, 0, 2, 40})
	nlri24      = []byte{24, 198, 51, 100}
)

// TestBadUpdates: each class of RFC 7606 error gets exactly its action: attribute discard and
// treat-as-withdraw keep the session; the rest reset it with the right NOTIFICATION.
func TestBadUpdates(t *testing.T) {
	tests := []struct {
		name      string
		body      []byte
		action    UpdateAction
		code, sub uint8 // for a session reset
		check     func(t *testing.T, u *Update)
	}{
		{"aggregator-len-5-discard", updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop,
			attr(FlagOptional|FlagTransitive, AttrAggregator, []byte{0xfe, 0x48, 192, 0, 2})}, nlri24),
			ActionAttributeDiscard, 0, 0, func(t *testing.T, u *Update) {
				if len(u.NLRI) != 1 || u.Attrs == nil || u.Attrs.Aggregator != nil {
					t.Errorf("want the route without AGGREGATOR, got %+v", u)
				}
			}},
		{"communities-len-3-withdraw", updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop,
			attr(FlagOptional|FlagTransitive, AttrCommunities, []byte{1, 2, 3})}, nlri24),
			ActionTreatAsWithdraw, 0, 0, func(t *testing.T, u *Update) {
				if len(u.NLRI) != 0 || !slices.Equal(u.Withdrawn, []netip.Prefix{pfx("198.51.100.0/24")}) {
					t.Errorf("want a withdrawal of 198.51.100.0/24, got %+v", u)
				}
			}},
		{"origin-len-2-withdraw", updateBody(nil, [][]byte{attr(FlagTransitive, AttrOrigin, []byte{0, 0}), goodASPath, goodNextHop}, nlri24),
			ActionTreatAsWithdraw, 0, 0, nil},
		{"missing-next-hop-withdraw", updateBody(nil, [][]byte{goodOrigin, goodASPath}, nlri24),
			ActionTreatAsWithdraw, 0, 0, nil},
		{"otc-len-3-withdraw", updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop,
			attr(FlagOptional|FlagTransitive, AttrOTC, []byte{0, 0, 1})}, nlri24),
			ActionTreatAsWithdraw, 0, 0, nil},
		{"nlri-33-reset", updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop}, []byte{33, 198, 51, 100, 0, 0}),
			ActionSessionReset, ErrUpdate, 0xff, nil},
		{"withdrawn-overrun-reset", append([]byte{0, 9, 24, 1, 2}, 0, 0), ActionSessionReset, ErrUpdate, 0xff, nil},
		{"mp-reach-len-3-no-panic", updateBody(nil, [][]byte{goodOrigin, goodASPath,
			attr(FlagOptional, AttrMPReach, []byte{0, 2, 1})}, nil), ActionSessionReset, ErrUpdate, 0xff, nil},
		// RFC 7606 §3 j: an attribute overrun before MP_REACH_NLRI hides the IPv6 route; it must neither
		// stay announced nor go unnoticed.
		{"overrun-hides-mp-reach-reset", updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop,
			cdOverrun(attr(FlagOptional|FlagTransitive, AttrCommunities, []byte{0, 0, 0, 1})),
			cdMPReach6("2001:db8::1", "", "2001:db8:1::/48")}, nlri24), ActionSessionReset, ErrUpdate, SubAttrLengthError, nil},
		{"overrun-after-mp-withdraws-both-families", updateBody(nil, [][]byte{cdMPUnreach6("2001:db8:9::/48"),
			cdMPReach6("2001:db8::1", "", "2001:db8:1::/48"), goodOrigin, goodASPath, goodNextHop,
			cdOverrun(attr(FlagOptional|FlagTransitive, AttrCommunities, []byte{0, 0, 0, 1}))}, nlri24),
			ActionTreatAsWithdraw, 0, 0, func(t *testing.T, u *Update) {
				want := []netip.Prefix{pfx("2001:db8:9::/48"), pfx("198.51.100.0/24"), pfx("2001:db8:1::/48")}
				if len(u.NLRI) != 0 || u.Attrs != nil || !slices.Equal(u.Withdrawn, want) {
					t.Errorf("want a withdrawal of %v, got %+v", want, u)
				}
			}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := netip.AddrFrom4([4]byte{127, 0, 3, byte(10 + i)}).String()
			b := newBadInput(t, from, 65096)
			raw := dialRaw(t, from, b.port)
			raw.handshake(rawOpen(65096, "10.0.0.40", 90))
			waitEstablished(t, b.rawRec, 10*time.Second)
			raw.send(rawMsg(MsgUpdate, tc.body))
			if tc.action >= ActionAFISAFIDisable {
				n := DecodeNotification(raw.expect(MsgNotification).body)
				if n.Code != tc.code || (tc.sub != 0xff && n.Subcode != tc.sub) {
					t.Fatalf("NOTIFICATION %s, want code %d", n, tc.code)
				}
				waitDown(t, b.rawRec, 10*time.Second)
			} else {
				ups := b.rawRec.waitUpdates(t, 10*time.Second, func(u []*Update) bool { return len(u) == 1 })
				_, errs := b.rawRec.snapshot()
				if errs[0] == nil || errs[0].Action != tc.action {
					t.Fatalf("RFC 7606 action %v, want %s", errs[0], tc.action)
				}
				if tc.check != nil {
					tc.check(t, ups[0])
				}
				// The session stays up: a good UPDATE after the bad one is delivered.
				raw.send(rawMsg(MsgUpdate, updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop}, []byte{24, 203, 0, 113})))
				b.rawRec.waitUpdates(t, 10*time.Second, func(u []*Update) bool { return len(u) == 2 })
				if b.raw.State() != StateEstablished {
					t.Fatalf("session reset after %s", tc.action)
				}
			}
			b.checkGoodUntouched(t)
		})
	}
}
