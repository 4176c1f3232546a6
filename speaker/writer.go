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
// wait in one small buffer and UPDATEs in a list of fixed-size chunks; each pass writes all control
// messages, then up to writeChunk bytes of UPDATEs, coalescing everything queued meanwhile into as few
// system calls as possible.
//
// The chunks come from a pool shared by all sessions and go back to it once written. A single growing
// buffer per session, as before, reallocated and copied itself on every burst: for a route server
// sending 100 MB of UPDATEs it allocated 380 MB, three quarters of everything the process allocated,
// and the collector ran accordingly. Every chunk ends at a message boundary, so control messages are
// written between chunks without splitting an UPDATE.
type writer struct {
	p    *Peer
	conn net.Conn

	mu      sync.Mutex
	ctrl    []byte
	data    [][]byte // UPDATEs in chunks, oldest first
	closing bool
	// flush: the UPDATEs queued are to be written now. Queue sets it, QueueHeld does not (they
	// wait, see hold), Flush sets it; the writer clears it when it takes the data.
	flush bool
	// holdTime is the constant of that name (a test lengthens it before run starts).
	holdTime time.Duration

	wake    chan struct{}
	pending atomic.Int64 // bytes of UPDATEs queued and not yet written
	// pendingSince is when pending last went from 0 to more (Unix ns). Only queue writes it, under
	// mu, so it is never older than the queue call that made the output non-empty.
	pendingSince atomic.Int64
}

// Data chunks come in two sizes: small ones, which every session with anything queued holds one of,
// so their size is what a thousand sessions cost in the middle of a burst, and large ones for
// messages that do not fit a small one (extended messages, RFC 8654: 65,535 bytes at most).
const (
	chunkSize      = 16 << 10
	largeChunkSize = 64 << 10
)

var (
	chunkPool      = sync.Pool{New: func() any { return new([chunkSize]byte) }}
	largeChunkPool = sync.Pool{New: func() any { return new([largeChunkSize]byte) }}
)

// getChunk returns an empty chunk that holds at least need bytes.
func getChunk(need int) []byte {
	if need <= chunkSize {
		return chunkPool.Get().(*[chunkSize]byte)[:0]
	}
	return largeChunkPool.Get().(*[largeChunkSize]byte)[:0]
}

func putChunk(c []byte) {
	switch cap(c) {
	case chunkSize:
		chunkPool.Put((*[chunkSize]byte)(c[:chunkSize]))
	case largeChunkSize:
		largeChunkPool.Put((*[largeChunkSize]byte)(c[:largeChunkSize]))
	}
}

// queue appends complete messages; typ MsgUpdate goes to the data chunks, anything else to the control
// buffer. It returns the bytes of UPDATEs now pending. With held, UPDATEs wait (hold).
func (w *writer) queue(b []byte, typ uint8, held bool) (int, error) {
	if len(b) == 0 {
		return int(w.pending.Load()), nil
	}
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return 0, errWriterClosed
	}
	wake := true
	if typ == MsgUpdate {
		w.appendData(b)
		n := w.pending.Add(int64(len(b)))
		old := n - int64(len(b))
		if old == 0 {
			w.pendingSince.Store(time.Now().UnixNano())
		}
		if !held {
			w.flush = true
		} else {
			// The writer is writing, or holding fewer than holdBytes: it takes these with the
			// rest. Only the first bytes (its hold starts) and crossing holdBytes wake it.
			wake = old == 0 || old < holdBytes && n >= holdBytes
		}
	} else {
		w.ctrl = append(w.ctrl, b...)
	}
	w.mu.Unlock()
	w.countSent(b)
	if wake {
		w.poke()
	}
	return int(w.pending.Load()), nil
}

func (w *writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Held UPDATEs (Peer.QueueHeld) wait until Flush, until holdBytes of them are queued, or until
// holdTime has passed since the previous write (since the first of them, after a quiet time),
// whichever comes first; a plain Queue, a control message or closing ends the wait too. A producer
// that hands over a burst in pieces, as the route server does pass by pass, so has it leave in few
// large writes: in ixbench's medium workload the route server's writes went from 47,000 of about
// 3 KB to 13,000 of about 11 KB, and its system time from 0.35-0.46 s to 0.19-0.21 s
// (docs/architecture.md, "Convergence against the floor").
const (
	holdBytes = 32 << 10
	holdTime  = 5 * time.Millisecond
)

func newWriter(p *Peer, conn net.Conn) *writer {
	return &writer{p: p, conn: conn, wake: make(chan struct{}, 1), holdTime: holdTime}
}

// flushHeld asks for the UPDATEs queued, held ones included, to be written now.
func (w *writer) flushHeld() {
	w.mu.Lock()
	w.flush = true
	w.mu.Unlock()
	w.poke()
}

// hold waits while the UPDATEs queued are held (the conditions above; for a stream of them, the
// time counts from the previous write, lastWrite in Unix ns).
func (w *writer) hold(t *time.Timer, lastWrite int64) {
	for {
		w.mu.Lock()
		held := !w.closing && len(w.ctrl) == 0 && !w.flush
		w.mu.Unlock()
		p := w.pending.Load()
		if !held || p == 0 || p >= holdBytes {
			return
		}
		left := w.holdTime - time.Duration(time.Now().UnixNano()-max(w.pendingSince.Load(), lastWrite))
		if left <= 0 {
			return
		}
		t.Reset(left)
		select {
		case <-w.wake:
			t.Stop()
		case <-t.C:
			return
		}
	}
}

// appendData copies b, complete messages, into the data chunks: as many whole messages as fit into the
// last chunk, the rest into new ones. Called with mu held.
func (w *writer) appendData(b []byte) {
	for len(b) > 0 {
		n := len(w.data)
		if n > 0 {
			c := w.data[n-1]
			if k := cutAt(b, cap(c)-len(c)); k <= cap(c)-len(c) {
				w.data[n-1] = append(c, b[:k]...)
				b = b[k:]
				continue
			}
		}
		// The next message does not fit the last chunk: a new one, large if the message needs it.
		first := cutAt(b, 0)
		c := getChunk(first)
		if first > cap(c) {
			c = make([]byte, 0, first) // only a malformed length does this; keep the bytes in order
		}
		k := cutAt(b, cap(c))
		w.data = append(w.data, append(c, b[:k]...))
		b = b[k:]
	}
}

// countSent counts messages by type. Counting at queue time is close enough for monitoring.
func (w *writer) countSent(b []byte) {
	for len(b) >= HeaderLen {
		l := int(binary.BigEndian.Uint16(b[16:18]))
		if t := b[18]; int(t) < len(w.p.msgs[1]) {
			w.p.msgs[1][t].Add(1)
			w.p.bytes[1][t].Add(uint64(min(l, len(b))))
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

// idleBufferCap is the largest control buffer a writer keeps once it has nothing to write.
const idleBufferCap = 4 << 10

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
	var ctrl []byte     // spare control buffer, swapped with the queue's
	var chunks [][]byte // the data chunks being written
	var vec net.Buffers // what one write sends
	// bufs is the copy of vec that WriteTo consumes. Declared here, not per write: WriteTo takes its
	// address, so it lives on the heap, and a small allocation per write made the writer pay
	// collector assists (docs/architecture.md, "Convergence against the floor").
	var bufs net.Buffers
	t := time.NewTimer(time.Hour)
	t.Stop()
	var lastWrite int64
	for range w.wake {
		for {
			w.hold(t, lastWrite)
			w.mu.Lock()
			closing := w.closing
			ctrl, w.ctrl = w.ctrl, ctrl[:0]
			chunks = chunks[:0]
			size := 0
			w.flush = false
			if !closing {
				n := 0
				for n < len(w.data) && (n == 0 || size+len(w.data[n]) <= writeChunk) {
					size += len(w.data[n])
					n++
				}
				chunks = append(chunks, w.data[:n]...)
				clear(w.data[copy(w.data, w.data[n:]):])
				w.data = w.data[:len(w.data)-n]
			}
			w.mu.Unlock()

			if len(ctrl) == 0 && len(chunks) == 0 && !closing {
				if cap(ctrl) > idleBufferCap {
					ctrl = nil
				}
				if cap(chunks) > 64 {
					chunks = nil
				}
				break
			}
			vec = vec[:0]
			if len(ctrl) > 0 {
				vec = append(vec, ctrl)
			}
			vec = append(vec, chunks...)
			bufs = vec
			_, err := bufs.WriteTo(w.conn)
			lastWrite = time.Now().UnixNano()
			if err == nil {
				if h := w.p.trace.Load(); h != nil {
					// vec's elements were consumed by WriteTo; ctrl and chunks still hold the bytes.
					w.p.traceSent(h, ctrl)
					for _, c := range chunks {
						w.p.traceSent(h, c)
					}
				}
			}
			clear(vec)
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
			for i, c := range chunks {
				putChunk(c)
				chunks[i] = nil
			}
			if size > 0 && w.pending.Add(-int64(size)) == 0 {
				if d, ok := w.p.h.(Drainer); ok {
					d.Drained(w.p)
				}
			}
		}
	}
}
