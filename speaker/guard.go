package speaker

// Panics in code that reads the network. Every decoder of bytes a neighbor sent runs under recover():
// DecodeUpdate, DecodeOpen, DecodeNotification and DecodeRouteRefresh each turn a panic into the
// NOTIFICATION for their message type, and the reader goroutine frames messages under recover() too (a
// KEEPALIVE is only a header, so the framer is its decoder). A panic there is a bug, ours or gobgp's; it
// costs the session it happened on (NOTIFICATION, reset, logged with the neighbor and the stack), never
// the process and its other sessions.
//
// Each guarded decoder has an unguarded core (decodeUpdate, decodeOpen, decodeNotification,
// decodeRouteRefresh; the framer is unguarded itself). The fuzz targets call the cores, so that a panic
// fails the fuzz run instead of passing as a session reset.

import (
	"fmt"
	"runtime/debug"
)

// decodePanic is a panic recovered while decoding, with the stack where it happened.
type decodePanic struct {
	value any
	stack []byte
}

func (p *decodePanic) String() string { return fmt.Sprint(p.value) }

// recovered wraps a value returned by recover(). It must be called from the deferred function, so that
// the stack is the panicking one.
func recovered(r any) *decodePanic { return &decodePanic{value: r, stack: debug.Stack()} }

// decodeHook, when not nil, is called at the start of every decoder core with the message type and body,
// and by the framer with type 0 and each message header before it is checked. Only tests set it (once,
// from init), to make a decoder panic on chosen input.
var decodeHook func(typ uint8, b []byte)

// Message type passed to decodeHook for a header being framed.
const hookFraming = 0
