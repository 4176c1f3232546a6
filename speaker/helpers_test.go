package speaker

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// testLogger logs to stderr only when IXRS_TEST_LOG is set, to keep test output readable.
func testLogger() *slog.Logger {
	if os.Getenv("IXRS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newTestSpeaker starts a speaker listening on addr:0 and closes it when the test ends.
func newTestSpeaker(t testing.TB, asn uint32, id, listen string) (*Speaker, uint16) {
	t.Helper()
	sp, err := New(Config{ASN: asn, RouterID: netip.MustParseAddr(id), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	if listen == "" {
		return sp, 0
	}
	a, err := sp.Listen(net.JoinHostPort(listen, "0"))
	if err != nil {
		t.Fatal(err)
	}
	return sp, uint16(a.(*net.TCPAddr).Port)
}

type notifRec struct {
	n    Notification
	sent bool
}

// recorder is a Handler that records everything, with channels to wait on.
type recorder struct {
	mu      sync.Mutex
	updates []*Update
	uerrs   []*UpdateError
	notifs  []notifRec
	refresh []RouteRefresh

	established chan *Open
	down        chan error
	// Peer.State as seen inside the last Established and Down callbacks.
	stateInEstablished, stateInDown State
	notified                        chan notifRec
	updated                         chan struct{}
}

func newRecorder() *recorder {
	return &recorder{established: make(chan *Open, 64), down: make(chan error, 64),
		notified: make(chan notifRec, 64), updated: make(chan struct{}, 1)}
}

func (r *recorder) Established(p *Peer, o *Open) {
	r.mu.Lock()
	r.stateInEstablished = p.State()
	r.mu.Unlock()
	r.established <- o
}
func (r *recorder) Update(p *Peer, u *Update, err *UpdateError) {
	r.mu.Lock()
	r.updates = append(r.updates, u)
	r.uerrs = append(r.uerrs, err)
	r.mu.Unlock()
	select {
	case r.updated <- struct{}{}:
	default:
	}
}
func (r *recorder) RouteRefresh(p *Peer, rr RouteRefresh) {
	r.mu.Lock()
	r.refresh = append(r.refresh, rr)
	r.mu.Unlock()
}
func (r *recorder) Notification(p *Peer, n Notification, sent bool) {
	r.mu.Lock()
	r.notifs = append(r.notifs, notifRec{n, sent})
	r.mu.Unlock()
	select {
	case r.notified <- notifRec{n, sent}:
	default:
	}
}
func (r *recorder) Down(p *Peer, err error) {
	r.mu.Lock()
	r.stateInDown = p.State()
	r.mu.Unlock()
	r.down <- err
}

func (r *recorder) snapshot() ([]*Update, []*UpdateError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Update(nil), r.updates...), append([]*UpdateError(nil), r.uerrs...)
}

// waitUpdates waits until cond holds for the updates received so far.
func (r *recorder) waitUpdates(t testing.TB, timeout time.Duration, cond func([]*Update) bool) []*Update {
	t.Helper()
	deadline := time.After(timeout)
	for {
		u, _ := r.snapshot()
		if cond(u) {
			return u
		}
		select {
		case <-r.updated:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out after %s waiting for updates; have %d", timeout, len(u))
		}
	}
}

func waitEstablished(t testing.TB, r *recorder, timeout time.Duration) *Open {
	t.Helper()
	select {
	case o := <-r.established:
		return o
	case <-time.After(timeout):
		t.Fatalf("session not established within %s", timeout)
	}
	return nil
}

func waitDown(t testing.TB, r *recorder, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-r.down:
		return err
	case <-time.After(timeout):
		t.Fatalf("session not down within %s", timeout)
	}
	return nil
}

// rawPeer is a hand-driven BGP neighbor: it writes whatever bytes a test gives it, to provoke errors the
// speaker must handle.
type rawPeer struct {
	t    testing.TB
	conn net.Conn
	fr   *framer
	msgs []message
}

func dialRaw(t testing.TB, from string, port uint16) *rawPeer {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawPeer{t: t, conn: c, fr: newFramer(c, func() int { return MaxExtendedMessage })}
}

func (r *rawPeer) send(b []byte) {
	r.t.Helper()
	r.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.conn.Write(b); err != nil {
		r.t.Fatalf("raw peer write: %v", err)
	}
}

// next returns the next message from the speaker, or an error (io.EOF when it closed the connection).
func (r *rawPeer) next(timeout time.Duration) (message, error) {
	r.conn.SetReadDeadline(time.Now().Add(timeout))
	for len(r.msgs) == 0 {
		var err error
		r.msgs, err = r.fr.next(r.msgs[:0])
		if len(r.msgs) > 0 {
			for i := range r.msgs {
				r.msgs[i].body = append([]byte(nil), r.msgs[i].body...)
			}
			break
		}
		if err != nil {
			return message{}, err
		}
	}
	m := r.msgs[0]
	r.msgs = r.msgs[1:]
	return m, nil
}

// expect skips KEEPALIVEs (unless typ is KEEPALIVE) and returns the next message, which must be typ.
func (r *rawPeer) expect(typ uint8) message {
	r.t.Helper()
	for {
		m, err := r.next(15 * time.Second)
		if err != nil {
			r.t.Fatalf("raw peer: waiting for message type %d: %v", typ, err)
		}
		if m.typ == MsgKeepalive && typ != MsgKeepalive {
			continue
		}
		if m.typ != typ {
			r.t.Fatalf("raw peer: got message type %d, want %d", m.typ, typ)
		}
		return m
	}
}

// expectNotification waits for a NOTIFICATION with code/subcode and then for the connection to close.
func (r *rawPeer) expectNotification(code, sub uint8) Notification {
	r.t.Helper()
	n := DecodeNotification(r.expect(MsgNotification).body)
	if n.Code != code || n.Subcode != sub {
		r.t.Fatalf("got NOTIFICATION %d/%d (%s), want %d/%d", n.Code, n.Subcode, n, code, sub)
	}
	if _, err := r.next(10 * time.Second); err == nil {
		r.t.Fatalf("connection still open after NOTIFICATION")
	}
	return n
}

// open returns an OPEN for a raw peer.
func rawOpen(asn uint32, id string, hold uint16) *Open {
	o := &Open{Version: 4, MyAS: uint16(asn), HoldTime: hold, RouterID: netip.MustParseAddr(id)}
	if asn > 0xffff {
		o.MyAS = ASTrans
	}
	o.Caps.Families = []Family{IPv4Unicast, IPv6Unicast}
	o.Caps.FourOctetAS = true
	o.Caps.AS4 = asn
	o.Caps.RouteRefresh = true
	return o
}

// handshake completes OPEN/KEEPALIVE and returns the speaker's OPEN.
func (r *rawPeer) handshake(o *Open) *Open {
	r.t.Helper()
	r.send(EncodeOpen(o))
	got, n := DecodeOpen(r.expect(MsgOpen).body)
	if n != nil {
		r.t.Fatalf("speaker's OPEN does not decode: %v", n)
	}
	r.expect(MsgKeepalive)
	r.send(EncodeKeepalive())
	return got
}

// rawMsg frames a body as a BGP message.
func rawMsg(typ uint8, body []byte) []byte {
	b := make([]byte, HeaderLen, HeaderLen+len(body))
	copy(b, marker[:])
	binary.BigEndian.PutUint16(b[16:], uint16(HeaderLen+len(body)))
	b[18] = typ
	return append(b, body...)
}
