package speaker

import "encoding/binary"

// Direction says whether a traced message was received from the neighbor or sent to it.
type Direction uint8

const (
	Received Direction = iota
	Sent
)

func (d Direction) String() string {
	if d == Sent {
		return "sent"
	}
	return "received"
}

// TraceFunc sees one traced message: whole, header included. msg aliases a read buffer or an output
// chunk and is valid only during the call; the function must copy what it keeps. It runs on the
// connection's reader goroutine (received) or writer goroutine (sent), concurrently with other
// calls, and delays that direction of that session while it runs.
type TraceFunc func(p *Peer, dir Direction, typ uint8, msg []byte)

// TraceTypes is a set of message types to trace: bit 1<<MsgOpen for OPEN and so on.
type TraceTypes uint8

// TraceAll traces every message type.
const TraceAll = TraceTypes(1<<MsgOpen | 1<<MsgUpdate | 1<<MsgNotification | 1<<MsgKeepalive | 1<<MsgRouteRefresh)

// Has reports whether typ is in the set.
func (t TraceTypes) Has(typ uint8) bool { return typ < 8 && t&(1<<typ) != 0 }

// traceHook is what SetTrace installs; replaced whole, never changed in place.
type traceHook struct {
	types TraceTypes
	fn    TraceFunc
}

// SetTrace makes fn see every message of the given types received from and sent to the neighbor,
// on the current and later connections, until the next SetTrace; fn nil or types 0 turns tracing off.
// Safe for concurrent use. When off, the reader and writer pay one atomic load per message (per
// write for the writer) and nothing else.
//
// Sent messages are traced after the writer has handed them to the kernel, in the order written;
// a message the connection failed to write is not traced.
func (p *Peer) SetTrace(types TraceTypes, fn TraceFunc) {
	if fn == nil || types&TraceAll == 0 {
		p.trace.Store(nil)
		return
	}
	p.trace.Store(&traceHook{types: types, fn: fn})
}

// traceSent passes each complete message of b, written to the neighbor, to the trace hook.
func (p *Peer) traceSent(h *traceHook, b []byte) {
	for len(b) >= HeaderLen {
		l := int(binary.BigEndian.Uint16(b[16:18]))
		if l < HeaderLen || l > len(b) {
			return
		}
		if typ := b[18]; h.types.Has(typ) {
			h.fn(p, Sent, typ, b[:l:l])
		}
		b = b[l:]
	}
}
