package speaker

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// writeChunk bounds one write of queued UPDATEs so that a KEEPALIVE queued meanwhile goes out after at
// most this many bytes, even when a large table is waiting.
const writeChunk = 256 << 10

// closeFlushTimeout bounds how long a NOTIFICATION may take to leave before the connection is closed.
const closeFlushTimeout = 3 * time.Second

var errWriterClosed = errors.New("connection closing")

// writer owns a connection's write side. Control messages (OPEN, KEEPALIVE, NOTIFICATION, ROUTE-REFRESH)
// and UPDATEs wait in two buffers; each pass writes all control messages, then up to writeChunk bytes of
// UPDATEs, coalescing everything queued meanwhile into as few system calls as possible.
type writer struct {
	p    *Peer
	conn net.Conn

	mu      sync.Mutex
	ctrl    []byte
	data    []byte
	closing bool

	wake    chan struct{}
	pending atomic.Int64 // bytes of UPDATEs queued and not yet written
}

func newWriter(p *Peer, conn net.Conn) *writer {
	return &writer{p: p, conn: conn, wake: make(chan struct{}, 1)}
}

// queue appends complete messages; typ MsgUpdate goes to the data buffer, anything else to the control
// buffer. It returns the bytes of UPDATEs now pending.
func (w *writer) queue(b []byte, typ uint8) (int, error) {
	if len(b) == 0 {
		return int(w.pending.Load()), nil
	}
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return 0, errWriterClosed
	}
	if typ == MsgUpdate {
		w.data = append(w.data, b...)
		w.pending.Add(int64(len(b)))
	} else {
		w.ctrl = append(w.ctrl, b...)
	}
	w.mu.Unlock()
	w.countSent(b)
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return int(w.pending.Load()), nil
}

// countSent counts messages by type. Counting at queue time is close enough for monitoring.
func (w *writer) countSent(b []byte) {
	for len(b) >= HeaderLen {
		l := int(binary.BigEndian.Uint16(b[16:18]))
		if t := b[18]; int(t) < len(w.p.msgs[1]) {
			w.p.msgs[1][t].Add(1)
		}
		if l < HeaderLen || l > len(b) {
			return
		}
		b = b[l:]
	}
}

// close makes the writer send what control messages are queued (a NOTIFICATION) and close the connection.
func (w *writer) close() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	// A write blocked on a neighbor that does not read must not hold the connection open for long.
	w.conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// idleBufferCap is the largest buffer a writer keeps once it has nothing to write. A table dump grows
// the buffers to the route server's high watermark; after convergence most sessions are idle, and
// holding that capacity for each of them would cost more than allocating it again for the next burst.
// 4 KiB holds a KEEPALIVE and a typical churn UPDATE; at 16 KiB the four buffers of 100 idle sessions
// held 4.5 MB, a tenth of the route server's heap.
const idleBufferCap = 4 << 10

// shrink drops oversized buffers when the writer has caught up: its spares and, if still empty, the
// queue's.
func (w *writer) shrink(ctrl, data *[]byte) {
	if cap(*ctrl) > idleBufferCap {
		*ctrl = nil
	}
	if cap(*data) > idleBufferCap {
		*data = nil
	}
	w.mu.Lock()
	if len(w.data) == 0 && cap(w.data) > idleBufferCap {
		w.data = nil
	}
	if len(w.ctrl) == 0 && cap(w.ctrl) > idleBufferCap {
		w.ctrl = nil
	}
	w.mu.Unlock()
}

// cutAt returns the largest prefix length of b, at a message boundary, not above max (at least one
// message).
func cutAt(b []byte, max int) int {
	n := 0
	for n+HeaderLen <= len(b) {
		l := int(binary.BigEndian.Uint16(b[n+16 : n+18]))
		if l < HeaderLen || (n > 0 && n+l > max) {
			break
		}
		n += l
	}
	if n > len(b) || n == 0 {
		return len(b)
	}
	return n
}

func (w *writer) run() {
	var ctrl, data []byte // spare buffers, swapped with the queues
	for range w.wake {
		for {
			w.mu.Lock()
			closing := w.closing
			ctrl, w.ctrl = w.ctrl, ctrl[:0]
			var chunk []byte
			if !closing && len(w.data) > 0 {
				n := cutAt(w.data, writeChunk)
				if n == len(w.data) {
					data, w.data = w.data, data[:0]
					chunk = data
				} else {
					chunk = append(data[:0], w.data[:n]...)
					data = chunk
					w.data = w.data[:copy(w.data, w.data[n:])]
				}
			}
			w.mu.Unlock()

			if len(ctrl) == 0 && len(chunk) == 0 && !closing {
				w.shrink(&ctrl, &data)
				break
			}
			bufs := net.Buffers{}
			if len(ctrl) > 0 {
				bufs = append(bufs, ctrl)
			}
			if len(chunk) > 0 {
				bufs = append(bufs, chunk)
			}
			_, err := bufs.WriteTo(w.conn)
			if closing {
				w.conn.Close()
				return
			}
			if err != nil {
				// The reader sees the closed connection and reports it to the peer goroutine.
				w.mu.Lock()
				w.closing = true
				w.mu.Unlock()
				w.conn.Close()
				return
			}
			if len(chunk) > 0 && w.pending.Add(-int64(len(chunk))) == 0 {
				if d, ok := w.p.h.(Drainer); ok {
					d.Drained(w.p)
				}
			}
		}
	}
}
