package speaker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testPanic is what decodeHook runs in tests; nil means nothing.
var testPanic atomic.Pointer[func(typ uint8, b []byte)]

func init() {
	decodeHook = func(typ uint8, b []byte) {
		if f := testPanic.Load(); f != nil {
			(*f)(typ, b)
		}
	}
}

// panicOn makes every decoder core (and the framer, typ hookFraming) panic on input for which match is
// true, until the test ends. Sessions of other tests still running see it too: match only input that no
// other test sends.
func panicOn(t *testing.T, match func(typ uint8, b []byte) bool) {
	t.Helper()
	f := func(typ uint8, b []byte) {
		if match(typ, b) {
			panic(fmt.Sprintf("test panic in decoder of message type %d", typ))
		}
	}
	testPanic.Store(&f)
	t.Cleanup(func() { testPanic.Store(nil) })
}

// logCapture is a slog handler that keeps every record as one line of text, with the logger's attributes.
type logCapture struct {
	mu    *sync.Mutex
	lines *[]string
	attrs []slog.Attr
}

func newLogCapture() *logCapture { return &logCapture{mu: new(sync.Mutex), lines: new([]string)} }

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) WithGroup(string) slog.Handler            { return c }
func (c *logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	return &logCapture{mu: c.mu, lines: c.lines, attrs: append(append([]slog.Attr(nil), c.attrs...), as...)}
}
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", r.Level, r.Message)
	for _, a := range c.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	c.mu.Lock()
	*c.lines = append(*c.lines, b.String())
	c.mu.Unlock()
	return nil
}

// find returns the first line containing every one of parts, or "".
func (c *logCapture) find(parts ...string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
next:
	for _, l := range *c.lines {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return l
	}
	return ""
}

// TestDecoderPanicResetsOnlyThatSession forces a panic in each decoder a neighbor's bytes reach (the
// framer, which is all a KEEPALIVE has, and the OPEN, UPDATE, ROUTE-REFRESH and NOTIFICATION decoders):
// the neighbor gets the NOTIFICATION for the message type (none in reply to a NOTIFICATION), its session
// ends, the panic is logged at error level with the neighbor and the stack, and the other session and the
// process carry on.
func TestDecoderPanicResetsOnlyThatSession(t *testing.T) {
	magicNLRI := []byte{32, 192, 0, 2, 66} // 192.0.2.66/32
	tests := []struct {
		name        string
		established bool // complete the handshake before sending msg
		msg         []byte
		match       func(typ uint8, b []byte) bool
		code, sub   uint8 // the NOTIFICATION expected; code 0: none, the connection just closes
	}{
		{"framing-keepalive", true, func() []byte { m := EncodeKeepalive(); m[0] = 0x42; return m }(),
			func(typ uint8, b []byte) bool { return typ == hookFraming && b[0] == 0x42 }, ErrMessageHeader, 0},
		{"open", false, EncodeOpen(rawOpen(65040, "10.66.66.66", 90)),
			func(typ uint8, b []byte) bool {
				return typ == MsgOpen && len(b) >= 9 && netip.AddrFrom4([4]byte(b[5:9])) == adr("10.66.66.66")
			}, ErrOpen, 0},
		{"update", true, rawMsg(MsgUpdate, updateBody(nil, [][]byte{goodOrigin, goodASPath, goodNextHop}, magicNLRI)),
			func(typ uint8, b []byte) bool { return typ == MsgUpdate && bytes.HasSuffix(b, magicNLRI) }, ErrUpdate, SubMalformedAttrList},
		{"route-refresh", true, EncodeRouteRefresh(RouteRefresh{Family: NewFamily(0x4242, 1)}),
			func(typ uint8, b []byte) bool { return typ == MsgRouteRefresh && len(b) == 4 && b[0] == 0x42 }, ErrRouteRefresh, 0},
		{"notification", true, EncodeNotification(Notification{Code: ErrCease, Subcode: 0x42}),
			func(typ uint8, b []byte) bool { return typ == MsgNotification && len(b) >= 2 && b[1] == 0x42 }, 0, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := netip.AddrFrom4([4]byte{127, 0, 4, byte(10 + i)}).String()
			b := newBadInput(t, from, 65040)
			panicOn(t, tc.match)
			raw := dialRaw(t, from, b.port)
			if tc.established {
				raw.handshake(rawOpen(65040, "10.0.0.40", 90))
				waitEstablished(t, b.rawRec, 10*time.Second)
			}
			raw.send(tc.msg)
			if !tc.established {
				raw.expect(MsgOpen)
			}
			if tc.code != 0 {
				raw.expectNotification(tc.code, tc.sub)
			} else if m, err := raw.next(10 * time.Second); err == nil {
				t.Fatalf("got message type %d, want the connection closed", m.typ)
			}
			if tc.established {
				waitDown(t, b.rawRec, 10*time.Second)
			}
			if l := b.rawLog.find("ERROR", "panic", "neighbor="+from, "stack="); l == "" {
				t.Errorf("no error logged with the neighbor and the stack; log:\n%s", strings.Join(*b.rawLog.lines, "\n"))
			}
			b.checkGoodUntouched(t)
			// The neighbor can come back: the speaker did not stay broken.
			testPanic.Store(nil)
			raw2 := dialRaw(t, from, b.port)
			raw2.handshake(rawOpen(65040, "10.0.0.40", 90))
			waitEstablished(t, b.rawRec, 10*time.Second)
		})
	}
}

// TestDecodersRecover: each exported decoder turns a panic into the NOTIFICATION for its message type.
func TestDecodersRecover(t *testing.T) {
	panicOn(t, func(typ uint8, b []byte) bool { return typ != hookFraming })
	if o, n := DecodeOpen(EncodeOpen(goldenOpen())[HeaderLen:]); o != nil || n == nil || n.Code != ErrOpen || n.Subcode != 0 {
		t.Errorf("DecodeOpen: %v, %v; want OPEN Message Error/Unspecific", o, n)
	}
	if _, n := DecodeRouteRefresh([]byte{0, 1, 0, 1}); n == nil || n.Code != ErrRouteRefresh || n.Subcode != 0 {
		t.Errorf("DecodeRouteRefresh: %v; want ROUTE-REFRESH Message Error/0", n)
	}
	if n := DecodeNotification([]byte{6, 2, 3, 'b', 'y', 'e'}); n.Code != ErrCease || n.Subcode != SubAdminShutdown || n.Data != nil {
		t.Errorf("DecodeNotification: %v; want the code and subcode without data", n)
	}
	if u, e := DecodeUpdate(cdBody(nil, cdNLRI24, cdOrigin, cdASPath, cdNextHop), cd4); u != nil || e == nil ||
		e.Action != ActionSessionReset || e.Notification.Code != ErrUpdate || e.Notification.Subcode != SubMalformedAttrList {
		t.Errorf("DecodeUpdate: %v, %v; want a session reset with UPDATE Message Error/Malformed Attribute List", u, e)
	}
}
