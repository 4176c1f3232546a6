package speaker

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
)

// A route server holds hundreds to a thousand sessions, almost all idle after the initial table exchange:
// a neighbor sends its table once, then a KEEPALIVE every 30 to 80 seconds. A session owns only a small
// read buffer; a large one is borrowed from a pool shared by all sessions while data is flowing, and given
// back at the first read that does not fill it, before the session blocks in a read that may wait minutes.
// A thousand idle sessions hold 4 MiB of read buffers; only the sessions receiving in bulk at a given
// moment hold a large one.
const (
	// smallBufferSize is the buffer a session owns: any OPEN, KEEPALIVE, NOTIFICATION or non-extended
	// UPDATE fits.
	smallBufferSize = 4 << 10
	// largeBufferSize is the buffer for bulk receive: 16 full 4 KiB UPDATEs of a table dump per system
	// call, and room for the largest message (65,535 bytes with RFC 8654).
	largeBufferSize = 64 << 10
	// maxBatch bounds the messages one call to next hands out. The caller keeps its slice of them for the
	// session's life, and a 64 KiB read of small UPDATEs holds thousands (56 bytes each).
	maxBatch = 64
)

// largeBuffers holds the large read buffers not in use. It stores array pointers, so Put does not
// allocate; the GC empties it when sessions stop receiving in bulk.
var largeBuffers = sync.Pool{New: func() any { return new([largeBufferSize]byte) }}

// framer splits a byte stream into BGP messages. It reads into one buffer and hands out every complete
// message in it (up to maxBatch per call) before reading again. A message handed out aliases the buffer
// and is valid only until the next call to next: decoders must copy what they keep (DecodeUpdate does).
//
// The buffer is the framer's own small one, or a large one from largeBuffers while the last read filled
// the buffer it used (the neighbor has more queued) or a message longer than the small buffer is pending.
// It is switched only when next is about to read, when no message it handed out is still valid: a large
// buffer given back to the pool is another session's next. A framer abandoned while it holds one (a
// session failing mid-dump) leaves it to the GC: messages handed out with the error may still be in use.
type framer struct {
	r      io.Reader
	buf    []byte // small[:] or large[:]
	start  int    // first unconsumed byte
	end    int    // end of valid data
	maxLen func() int
	full   bool                   // the last read filled the buffer: the neighbor has more queued
	small  *[smallBufferSize]byte // owned for the framer's life
	large  *[largeBufferSize]byte // borrowed from largeBuffers, nil when not held
}

func newFramer(r io.Reader, maxLen func() int) *framer {
	small := new([smallBufferSize]byte)
	return &framer{r: r, buf: small[:], maxLen: maxLen, small: small}
}

// message is one framed message: its type, its body (the bytes after the 19-byte header) and the whole
// message as received.
type message struct {
	typ  uint8
	body []byte
	raw  []byte
}

// headerError is a framing error with the NOTIFICATION it calls for (RFC 4271 §6.1).
type headerError struct{ n Notification }

func (e *headerError) Error() string { return "message header error: " + e.n.String() }

var marker = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// checkHeader validates a message header against RFC 4271 §6.1 and returns the message length and type.
// max is the largest message length allowed on the session (4096, or 65535 after RFC 8654 negotiation;
// OPEN and KEEPALIVE are held to 4096 regardless, RFC 8654 §4).
func checkHeader(h []byte, max int) (int, uint8, *headerError) {
	if [16]byte(h[:16]) != marker {
		return 0, 0, &headerError{Notification{Code: ErrMessageHeader, Subcode: SubConnectionNotSynchronized}}
	}
	l := int(binary.BigEndian.Uint16(h[16:18]))
	t := h[18]
	ok := l >= HeaderLen && l <= max
	switch t {
	case MsgOpen:
		ok = ok && l >= HeaderLen+10 && l <= MaxMessageLen
	case MsgUpdate:
		ok = ok && l >= HeaderLen+4
	case MsgNotification:
		ok = ok && l >= HeaderLen+2
	case MsgKeepalive:
		ok = ok && l == HeaderLen
	case MsgRouteRefresh:
		// RFC 7313 §5: a bad ROUTE-REFRESH length has its own error, reported by DecodeRouteRefresh.
	default:
		if ok {
			return 0, 0, &headerError{Notification{Code: ErrMessageHeader, Subcode: SubBadMessageType, Data: []byte{t}}}
		}
	}
	if !ok {
		return 0, 0, &headerError{Notification{Code: ErrMessageHeader, Subcode: SubBadMessageLength, Data: []byte{h[16], h[17]}}}
	}
	return l, t, nil
}

// next returns the complete messages now buffered (at most maxBatch), reading once if there are none. It
// returns a *headerError for a framing error and the reader's error (io.EOF, ...) when the stream ends.
// Messages decoded before an error are returned with it.
func (f *framer) next(dst []message) ([]message, error) {
	for {
		dst = dst[:0]
		need := 0 // length of the partial message at start, once its header is in
		for f.end-f.start >= HeaderLen && len(dst) < maxBatch {
			if decodeHook != nil {
				decodeHook(hookFraming, f.buf[f.start:f.start+HeaderLen])
			}
			l, t, herr := checkHeader(f.buf[f.start:f.start+HeaderLen], f.maxLen())
			if herr != nil {
				return dst, herr
			}
			if f.end-f.start < l {
				need = l
				break
			}
			dst = append(dst, message{typ: t, body: f.buf[f.start+HeaderLen : f.start+l], raw: f.buf[f.start : f.start+l]})
			f.start += l
		}
		if len(dst) > 0 {
			return dst, nil
		}
		f.pick(need)
		n, err := f.r.Read(f.buf[f.end:])
		f.end += n
		f.full = f.end == len(f.buf)
		if err != nil {
			if n > 0 {
				continue // hand out what arrived with the error first; the error repeats on the next read
			}
			if errors.Is(err, io.EOF) && f.end > 0 {
				return dst, io.ErrUnexpectedEOF
			}
			return dst, err
		}
	}
}

// pick chooses the buffer for the next read, given the length of the message partly in it (0 if its
// header is not in yet), and moves the unconsumed bytes to its front. The large buffer is taken when the
// last read filled the buffer or the message would not fit the small one, and given back otherwise: the
// neighbor's queue was empty at the last read, and this one may block for as long as its keepalive
// interval. No message handed out is valid any more, so the buffer can be switched.
func (f *framer) pick(need int) {
	pending := f.buf[f.start:f.end]
	switch {
	case f.large == nil && (f.full || need > smallBufferSize):
		f.large = largeBuffers.Get().(*[largeBufferSize]byte)
		f.end = copy(f.large[:], pending)
		f.start = 0
		f.buf = f.large[:]
	case f.large != nil && !f.full && need <= smallBufferSize:
		// pending is shorter than need, or than a header if need is 0: it fits.
		f.end = copy(f.small[:], pending)
		f.start = 0
		f.buf = f.small[:]
		largeBuffers.Put(f.large)
		f.large = nil
	case f.start > 0:
		// Move the partial message to the front; the buffer is at least as large as it.
		f.end = copy(f.buf, pending)
		f.start = 0
	}
}
