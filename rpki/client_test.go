package rpki

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ixrs/ixrs/policy"
)

// A scripted RTR cache on loopback: the test accepts each connection the client opens and plays the
// cache's side PDU by PDU.

const waitLimit = 10 * time.Second

type fakeCache struct {
	ln    net.Listener
	conns chan net.Conn
}

func newFakeCache(t *testing.T) *fakeCache {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCache{ln: ln, conns: make(chan net.Conn, 16)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			all = append(all, c)
			mu.Unlock()
			f.conns <- c
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range all {
			c.Close()
		}
		mu.Unlock()
	})
	return f
}

func (f *fakeCache) addr() string { return f.ln.Addr().String() }

// accept returns the client's next connection.
func (f *fakeCache) accept(t *testing.T) *fakeConn {
	t.Helper()
	select {
	case c := <-f.conns:
		return &fakeConn{c: c}
	case <-time.After(waitLimit):
		t.Fatal("the client did not connect")
		return nil
	}
}

type fakeConn struct {
	c   net.Conn
	buf []byte
}

// expect reads the next PDU from the client.
func (fc *fakeConn) expect(t *testing.T) PDU {
	t.Helper()
	_ = fc.c.SetReadDeadline(time.Now().Add(waitLimit))
	raw, buf, err := ReadPDU(fc.c, fc.buf)
	fc.buf = buf
	if err != nil {
		t.Fatalf("reading from the client: %v", err)
	}
	p, err := Decode(raw)
	if err != nil {
		t.Fatalf("the client sent a bad PDU % x: %v", raw, err)
	}
	return p
}

// closed reports whether the client closed the connection (reading until EOF, bounded).
func (fc *fakeConn) closed(t *testing.T) {
	t.Helper()
	_ = fc.c.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := io.Copy(io.Discard, fc.c); err != nil {
		t.Fatalf("the client did not close the connection: %v", err)
	}
}

func (fc *fakeConn) send(t *testing.T, ps ...PDU) {
	t.Helper()
	var b []byte
	for _, p := range ps {
		b = p.AppendTo(b)
	}
	fc.raw(t, b)
}

func (fc *fakeConn) raw(t *testing.T, b []byte) {
	t.Helper()
	_ = fc.c.SetWriteDeadline(time.Now().Add(waitLimit))
	if _, err := fc.c.Write(b); err != nil {
		t.Fatalf("writing to the client: %v", err)
	}
}

func v4(s string, maxLen uint8, asn uint32, announce bool) *PrefixPDU {
	return &PrefixPDU{Version: 1, Announce: announce, Prefix: netip.MustParsePrefix(s), MaxLength: maxLen, ASN: asn}
}

func eod(session uint16, serial uint32) *EndOfData {
	return &EndOfData{Version: 1, SessionID: session, Serial: serial, Refresh: 3600, Retry: 600, Expire: 7200}
}

func startClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return c
}

func nextUpdate(t *testing.T, c *Client) Update {
	t.Helper()
	select {
	case u := <-c.Updates():
		return u
	case <-time.After(waitLimit):
		t.Fatal("no update from the client")
		return Update{}
	}
}

// noUpdate checks that no Update is pending (after the client has been seen to act on everything
// the test sent, e.g. through a PDU it answered).
func noUpdate(t *testing.T, c *Client) {
	t.Helper()
	select {
	case u := <-c.Updates():
		t.Fatalf("unexpected update from %s with %d changed prefixes", u.Cache, len(u.Changed))
	default:
	}
}

func state(tab *Table, pfx string, asn uint32) policy.RPKIState {
	return tab.Validate(netip.MustParsePrefix(pfx), asn)
}

func TestClientResetSerialNotify(t *testing.T) {
	f := newFakeCache(t)
	c := startClient(t, Config{Caches: []CacheConfig{{Address: f.addr(), Preference: 1, Version: 1}}})
	fc := f.accept(t)
	if q, ok := fc.expect(t).(*ResetQuery); !ok || q.Version != 1 {
		t.Fatalf("first query %#v, want a version 1 Reset Query", q)
	}
	fc.send(t, &CacheResponse{Version: 1, SessionID: 7},
		v4("192.0.2.0/24", 24, 65001, true), v4("198.51.100.0/22", 24, 65002, true),
		&PrefixPDU{Version: 1, Announce: true, Prefix: netip.MustParsePrefix("2001:db8::/32"), MaxLength: 48, ASN: 65001},
		eod(7, 1))
	u := nextUpdate(t, c)
	if n4, n6 := u.VRPs.Len(); n4 != 2 || n6 != 1 || u.Cache != f.addr() {
		t.Fatalf("first update: %d+%d VRPs from %q", n4, n6, u.Cache)
	}
	if state(u.VRPs, "192.0.2.0/24", 65001) != policy.RPKIValid || state(u.VRPs, "192.0.2.0/24", 65009) != policy.RPKIInvalidState {
		t.Fatal("first data does not validate")
	}
	first := u.VRPs

	// New data: the cache notifies, the client asks for the changes since serial 1.
	fc.send(t, &SerialNotify{Version: 1, SessionID: 7, Serial: 2})
	if q, ok := fc.expect(t).(*SerialQuery); !ok || q.SessionID != 7 || q.Serial != 1 {
		t.Fatalf("after Serial Notify: %#v, want Serial Query session 7 serial 1", q)
	}
	fc.send(t, &CacheResponse{Version: 1, SessionID: 7},
		v4("192.0.2.0/24", 24, 65001, false), v4("192.0.2.0/24", 24, 65009, true), eod(7, 2))
	u = nextUpdate(t, c)
	if u.Base != first || !slices.Equal(u.Changed, []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}) {
		t.Fatalf("serial update: base %p (want %p), changed %v", u.Base, first, u.Changed)
	}
	if state(u.VRPs, "192.0.2.0/24", 65001) != policy.RPKIInvalidState || state(u.VRPs, "192.0.2.0/24", 65009) != policy.RPKIValid {
		t.Fatal("serial update not applied")
	}
	if state(first, "192.0.2.0/24", 65001) != policy.RPKIValid {
		t.Fatal("the earlier snapshot changed")
	}
	st := c.Status()[0]
	if !st.Connected || !st.InSync || !st.Active || st.Serial != 2 || st.SessionID != 7 || st.Version != 1 || st.VRPsIPv4 != 2 || st.VRPsIPv6 != 1 {
		t.Fatalf("status %+v", st)
	}

	// A Cache Reset in answer to a Serial Query: the client falls back to a Reset Query, and the
	// full data set replaces the old one.
	fc.send(t, &SerialNotify{Version: 1, SessionID: 7, Serial: 3})
	fc.expect(t)
	fc.send(t, &CacheReset{Version: 1})
	if _, ok := fc.expect(t).(*ResetQuery); !ok {
		t.Fatal("no Reset Query after Cache Reset")
	}
	fc.send(t, &CacheResponse{Version: 1, SessionID: 8}, v4("192.0.2.0/24", 24, 65009, true), eod(8, 1))
	u = nextUpdate(t, c)
	if n4, n6 := u.VRPs.Len(); n4 != 1 || n6 != 0 {
		t.Fatalf("after reset: %d+%d VRPs", n4, n6)
	}
	slices.SortFunc(u.Changed, netip.Prefix.Compare)
	want := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/22"), netip.MustParsePrefix("2001:db8::/32")}
	if !slices.Equal(u.Changed, want) {
		t.Fatalf("after reset: changed %v, want %v", u.Changed, want)
	}
}

// TestClientNotifyDuringResponse: a Serial Notify that arrives while a response is under way, for a
// later serial than the response ends at, makes the client ask again at once.
func TestClientNotifyDuringResponse(t *testing.T) {
	f := newFakeCache(t)
	c := startClient(t, Config{Caches: []CacheConfig{{Address: f.addr(), Preference: 1, Version: 1}}})
	fc := f.accept(t)
	fc.expect(t)
	fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, &SerialNotify{Version: 1, SessionID: 1, Serial: 2},
		v4("192.0.2.0/24", 24, 65001, true), eod(1, 1))
	nextUpdate(t, c)
	if q, ok := fc.expect(t).(*SerialQuery); !ok || q.Serial != 1 {
		t.Fatalf("after a notify for serial 2 during the response: %#v, want Serial Query for serial 1", q)
	}
}

// TestClientAtomic: a response that breaks off before End of Data changes nothing; the client
// connects again and asks for the same serial.
func TestClientAtomic(t *testing.T) {
	f := newFakeCache(t)
	c := startClient(t, Config{Caches: []CacheConfig{{Address: f.addr(), Preference: 1, Version: 1}}})
	fc := f.accept(t)
	fc.expect(t)
	fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, v4("192.0.2.0/24", 24, 65001, true), eod(1, 5))
	base := nextUpdate(t, c).VRPs
	fc.send(t, &SerialNotify{Version: 1, SessionID: 1, Serial: 6})
	fc.expect(t)
	fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, v4("192.0.2.0/24", 24, 65001, false))
	fc.c.Close()
	fc = f.accept(t)
	if q, ok := fc.expect(t).(*SerialQuery); !ok || q.Serial != 5 {
		t.Fatalf("after a broken response: %#v, want Serial Query for serial 5", q)
	}
	noUpdate(t, c)
	if state(base, "192.0.2.0/24", 65001) != policy.RPKIValid {
		t.Fatal("half a response was applied")
	}
}

// TestClientBadPDUs: every kind of bad PDU gets an Error Report with its code and a new
// connection; the data already in force stays.
func TestClientBadPDUs(t *testing.T) {
	cases := []struct {
		name string
		send func(t *testing.T, fc *fakeConn)
		code ErrorCode
	}{
		{"garbage", func(t *testing.T, fc *fakeConn) { fc.raw(t, []byte("GET / HTTP/1.1\r\n\r\n")) }, CodeUnsupportedVersion},
		{"unknown type", func(t *testing.T, fc *fakeConn) { fc.raw(t, unhex(t, "01 05 0000 00000008")) }, CodeUnsupportedPDU},
		{"bad length", func(t *testing.T, fc *fakeConn) { fc.raw(t, unhex(t, "01 03 0001 00000009 00")) }, CodeCorruptData},
		{"version change", func(t *testing.T, fc *fakeConn) {
			fc.send(t, &CacheResponse{Version: 0, SessionID: 1})
		}, CodeUnexpectedVersion},
		{"version change in a response", func(t *testing.T, fc *fakeConn) {
			fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, &PrefixPDU{Version: 2, Announce: true,
				Prefix: netip.MustParsePrefix("203.0.113.0/24"), MaxLength: 24, ASN: 65001})
		}, CodeUnexpectedVersion},
		{"duplicate", func(t *testing.T, fc *fakeConn) {
			fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, v4("192.0.2.0/24", 24, 65001, true))
		}, CodeDuplicate},
		{"unknown withdrawal", func(t *testing.T, fc *fakeConn) {
			fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, v4("203.0.113.0/24", 24, 65001, false))
		}, CodeUnknownWithdrawal},
		{"record outside a response", func(t *testing.T, fc *fakeConn) { fc.send(t, v4("203.0.113.0/24", 24, 65001, true)) }, CodeCorruptData},
		{"wrong session", func(t *testing.T, fc *fakeConn) { fc.send(t, &CacheResponse{Version: 1, SessionID: 2}) }, CodeCorruptData},
		{"query from the cache", func(t *testing.T, fc *fakeConn) { fc.send(t, &ResetQuery{Version: 1}) }, CodeUnsupportedPDU},
		{"ASPA in version 1", func(t *testing.T, fc *fakeConn) {
			fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, &ASPA{Version: 1, Announce: true, Customer: 1, Providers: []uint32{2}})
		}, CodeUnsupportedPDU},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCache(t)
			c := startClient(t, Config{Caches: []CacheConfig{{Address: f.addr(), Preference: 1, Version: 1}}})
			fc := f.accept(t)
			fc.expect(t)
			fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, v4("192.0.2.0/24", 24, 65001, true), eod(1, 1))
			base := nextUpdate(t, c).VRPs
			fc.send(t, &SerialNotify{Version: 1, SessionID: 1, Serial: 2})
			fc.expect(t)
			tc.send(t, fc)
			er, ok := fc.expect(t).(*ErrorReport)
			if !ok || er.Code != tc.code {
				t.Fatalf("got %#v, want an Error Report with code %v", er, tc.code)
			}
			fc.closed(t)
			fc = f.accept(t)
			if q, ok := fc.expect(t).(*SerialQuery); !ok || q.Serial != 1 {
				if tc.name != "wrong session" {
					t.Fatalf("after the error: %#v, want Serial Query serial 1", q)
				}
			}
			noUpdate(t, c)
			if state(base, "192.0.2.0/24", 65001) != policy.RPKIValid {
				t.Fatal("data in force disturbed")
			}
			if st := c.Status()[0]; st.ErrorsSent != 1 || !st.Active {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

// TestClientDowngrade: a version 0 cache answers a version 1 query with Unsupported Protocol
// Version; the client asks again in version 0 and reads version 0 End of Data (no timers).
func TestClientDowngrade(t *testing.T) {
	f := newFakeCache(t)
	c := startClient(t, Config{Caches: []CacheConfig{{Address: f.addr(), Preference: 1, Version: 2}}})
	fc := f.accept(t)
	if q := fc.expect(t); q.ProtocolVersion() != 2 {
		t.Fatalf("first query version %d", q.ProtocolVersion())
	}
	fc.send(t, &ErrorReport{Version: 0, Code: CodeUnsupportedVersion, Text: "v0 only"})
	fc.c.Close()
	fc = f.accept(t)
	if q, ok := fc.expect(t).(*ResetQuery); !ok || q.Version != 0 {
		t.Fatalf("after downgrade: %#v", q)
	}
	fc.send(t, &CacheResponse{SessionID: 3}, &PrefixPDU{Announce: true, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 24, ASN: 65001},
		&EndOfData{SessionID: 3, Serial: 1})
	u := nextUpdate(t, c)
	if state(u.VRPs, "192.0.2.0/24", 65001) != policy.RPKIValid {
		t.Fatal("version 0 data not applied")
	}
	if st := c.Status()[0]; st.Version != 0 || st.Expire != defaultExpire || st.Refresh != defaultRefresh {
		t.Fatalf("status %+v", st)
	}
}

// TestClientDowngradeInPlace: a version 0 cache that answers a version 1 Reset Query in version
// 0 (as StayRTR does) settles the session at version 0.
func TestClientDowngradeInPlace(t *testing.T) {
	f := newFakeCache(t)
	c := startClient(t, Config{Caches: []CacheConfig{{Address: f.addr(), Preference: 1, Version: 1}}})
	fc := f.accept(t)
	fc.expect(t)
	fc.send(t, &CacheResponse{SessionID: 3}, &PrefixPDU{Announce: true, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 24, ASN: 65001},
		&EndOfData{SessionID: 3, Serial: 1})
	if u := nextUpdate(t, c); state(u.VRPs, "192.0.2.0/24", 65001) != policy.RPKIValid {
		t.Fatal("version 0 data not applied")
	}
	fc.send(t, &SerialNotify{SessionID: 3, Serial: 2})
	if q, ok := fc.expect(t).(*SerialQuery); !ok || q.Version != 0 {
		t.Fatalf("next query %#v, want a version 0 Serial Query", q)
	}
}

// TestClientVersion2ASPA: a version 2 session carries ASPA records.
func TestClientVersion2ASPA(t *testing.T) {
	f := newFakeCache(t)
	c := startClient(t, Config{Caches: []CacheConfig{{Address: f.addr(), Preference: 1, Version: 2}}})
	fc := f.accept(t)
	fc.expect(t)
	fc.send(t, &CacheResponse{Version: 2, SessionID: 1},
		&PrefixPDU{Version: 2, Announce: true, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 24, ASN: 65001},
		&ASPA{Version: 2, Announce: true, Customer: 65003, Providers: []uint32{65000, 65002}},
		&RouterKey{Version: 2, Announce: true, ASN: 65001, SPKI: []byte{1}},
		&EndOfData{Version: 2, SessionID: 1, Serial: 1, Refresh: 10, Retry: 10, Expire: 600})
	u := nextUpdate(t, c)
	if !u.ASPAs.Authorized(65003, 65002) || u.ASPAs.Authorized(65003, 65001) || u.ASPAs.Len() != 1 {
		t.Fatal("ASPA record not applied")
	}
	fc.send(t, &SerialNotify{Version: 2, SessionID: 1, Serial: 2})
	fc.expect(t)
	fc.send(t, &CacheResponse{Version: 2, SessionID: 1}, &ASPA{Version: 2, Customer: 65003},
		&EndOfData{Version: 2, SessionID: 1, Serial: 2, Refresh: 10, Retry: 10, Expire: 600})
	u = nextUpdate(t, c)
	if _, ok := u.ASPAs.Providers(65003); ok {
		t.Fatal("ASPA withdrawal not applied")
	}
	if st := c.Status()[0]; st.RouterKeys != 1 || st.ASPAs != 0 || st.Version != 2 {
		t.Fatalf("status %+v", st)
	}
}

// TestClientFailover: the preferred cache goes, the second takes over with the same data (an
// Update with nothing changed); the preferred one comes back and takes over again once in sync.
func TestClientFailover(t *testing.T) {
	f1, f2 := newFakeCache(t), newFakeCache(t)
	c := startClient(t, Config{Caches: []CacheConfig{
		{Address: f2.addr(), Preference: 2, Version: 1},
		{Address: f1.addr(), Preference: 1, Version: 1},
	}})
	serve := func(f *fakeCache, session uint16) *fakeConn {
		fc := f.accept(t)
		if _, ok := fc.expect(t).(*SerialQuery); ok { // a cache coming back: nothing changed
			fc.send(t, &CacheResponse{Version: 1, SessionID: session}, eod(session, 1))
			return fc
		}
		fc.send(t, &CacheResponse{Version: 1, SessionID: session}, v4("192.0.2.0/24", 24, 65001, true), eod(session, 1))
		return fc
	}
	serve(f2, 2)
	u := nextUpdate(t, c)
	if u.Cache != f2.addr() {
		t.Fatalf("first data from %s", u.Cache)
	}
	prev := u.VRPs
	c1 := serve(f1, 1)
	u = nextUpdate(t, c)
	if u.Cache != f1.addr() || Changed(prev, u.VRPs).Len() != 0 {
		t.Fatalf("preferred cache not used, or its data differs: %+v", u)
	}
	prev = u.VRPs
	c1.c.Close()
	u = nextUpdate(t, c)
	if u.Cache != f2.addr() || Changed(prev, u.VRPs).Len() != 0 {
		t.Fatalf("no failover to the second cache, or its data differs: %+v", u)
	}
	if st := c.Status(); !st[0].Active || st[1].Active {
		t.Fatalf("status after failover %+v", st)
	}
	serve(f1, 1)
	u = nextUpdate(t, c)
	if u.Cache != f1.addr() {
		t.Fatalf("did not return to the preferred cache: %s", u.Cache)
	}
	if st := c.Status(); st[0].Active || !st[1].Active {
		t.Fatalf("status after return %+v", st)
	}
}

// TestClientExpiry: with every cache gone past the expire interval, the client says there is no
// data (nil VRPs), so every route becomes "not checked".
func TestClientExpiry(t *testing.T) {
	f := newFakeCache(t)
	c := startClient(t, Config{Caches: []CacheConfig{{Address: f.addr(), Preference: 1, Version: 1}},
		Expire: 300 * time.Millisecond})
	fc := f.accept(t)
	fc.expect(t)
	fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, v4("192.0.2.0/24", 24, 65001, true), eod(1, 1))
	if u := nextUpdate(t, c); u.VRPs == nil {
		t.Fatal("no data")
	}
	f.ln.Close()
	fc.c.Close()
	u := nextUpdate(t, c)
	if u.VRPs != nil || u.Cache != "" {
		t.Fatalf("after expiry: %+v", u)
	}
	if st := c.Status()[0]; !st.Expired || st.Active {
		t.Fatalf("status %+v", st)
	}
}

// TestClientRecordBound: a cache that sends more records than the bound gets an Error Report and
// the connection is closed; the data in force stays.
func TestClientRecordBound(t *testing.T) {
	f := newFakeCache(t)
	c := startClient(t, Config{Caches: []CacheConfig{{Address: f.addr(), Preference: 1, Version: 1}}, MaxRecords: 1000})
	fc := f.accept(t)
	fc.expect(t)
	fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, v4("192.0.2.0/24", 24, 65001, true), eod(1, 1))
	base := nextUpdate(t, c).VRPs
	fc.send(t, &SerialNotify{Version: 1, SessionID: 1, Serial: 2})
	fc.expect(t)
	var b []byte
	b = (&CacheResponse{Version: 1, SessionID: 1}).AppendTo(b)
	for i := range 5000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0})
		b = (&PrefixPDU{Version: 1, Announce: true, Prefix: netip.PrefixFrom(a, 24), MaxLength: 24, ASN: 65001}).AppendTo(b)
	}
	go func() { _, _ = fc.c.Write(b) }() // the client stops reading at the bound
	er, ok := fc.expect(t).(*ErrorReport)
	if !ok || er.Code != CodeInternal {
		t.Fatalf("got %#v, want an Error Report Internal Error", er)
	}
	noUpdate(t, c)
	if n4, _ := base.Len(); n4 != 1 {
		t.Fatal("data in force changed")
	}
}

// TestClientStall: a cache that stops in the middle of a response is given up after the stall
// timeout, with an Error Report, and the client connects again.
func TestClientStall(t *testing.T) {
	f := newFakeCache(t)
	c := startClient(t, Config{Caches: []CacheConfig{{Address: f.addr(), Preference: 1, Version: 1}},
		StallTimeout: 200 * time.Millisecond})
	fc := f.accept(t)
	fc.expect(t)
	fc.send(t, &CacheResponse{Version: 1, SessionID: 1}, v4("192.0.2.0/24", 24, 65001, true))
	fc.raw(t, unhex(t, "01 04 0000")) // half a PDU, then nothing
	if er, ok := fc.expect(t).(*ErrorReport); !ok || er.Code != CodeInternal {
		t.Fatalf("got %#v, want an Error Report", er)
	}
	fc = f.accept(t)
	if _, ok := fc.expect(t).(*ResetQuery); !ok {
		t.Fatal("no new Reset Query after a stall")
	}
	noUpdate(t, c)
	if st := c.Status()[0]; st.LastError == "" {
		t.Fatalf("status %+v", st)
	}
}

func TestClientConfig(t *testing.T) {
	if _, err := NewClient(Config{}); err == nil {
		t.Error("no caches accepted")
	}
	if _, err := NewClient(Config{Caches: []CacheConfig{{Address: "127.0.0.1:1", Version: 3}}}); err == nil {
		t.Error("version 3 accepted")
	}
	var pe *PDUError
	if !errors.As(pduErr(CodeNoData, "x"), &pe) || pe.Code.String() != "No Data Available" || ErrorCode(99).String() != "error code 99" {
		t.Error("error codes")
	}
}
