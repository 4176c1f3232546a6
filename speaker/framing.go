package speaker

import (
	"encoding/binary"
	"errors"
	"io"
)

// The read buffer starts small and grows for bulk receive, then shrinks back once the session is idle:
// a route server holds hundreds to a thousand sessions, almost all idle after the initial table exchange,
// and a 64 KiB buffer each would be 64 MiB at 1,000 members.
const (
	// smallBufferSize is the buffer a session starts with and keeps while idle: any OPEN, KEEPALIVE,
	// NOTIFICATION or non-extended UPDATE fits.
	smallBufferSize = 4 << 10
	// largeBufferSize is the buffer for bulk receive: 16 full 4 KiB UPDATEs of a table dump per system
	// call, and room for the largest message (65,535 bytes with RFC 8654).
	largeBufferSize = 64 << 10
	// A read of at most smallRead bytes that does not fill the buffer is an idle read; after idleReads of
	// them in a row, once nothing is buffered, the large buffer is given back. Growing takes one full read,
	// shrinking idleReads idle ones (and no allocation: the small buffer is kept), so a session alternating
	// between bulk and trickle allocates a large buffer at most once per idleReads reads, never per read.
	smallRead = smallBufferSize / 2
	idleReads = 8
	// maxBatch bounds the messages one call to next hands out. The caller keeps its slice of them for the
	// session's life, and a 64 KiB read of small UPDATEs holds thousands (56 bytes each).
	maxBatch = 64
)

// framer splits a byte stream into BGP messages. It reads into one buffer and hands out every complete
// message in it (up to maxBatch per call) before reading again. A message handed out aliases the buffer
// and is valid only until the next call to next: decoders must copy what they keep (DecodeUpdate does).
//
// The buffer is smallBufferSize until a read fills it or a message longer than it is pending, then
// largeBufferSize until idleReads consecutive small reads leave it empty. It is replaced only when next is
// about to read, when no message it handed out is still valid.
type framer struct {
	r      io.Reader
	buf    []byte
	start  int // first unconsumed byte
	end    int // end of valid data
	maxLen func() int
	full   bool   // the last read filled the buffer: the neighbor has more queued
	idle   int    // consecutive idle reads, up to idleReads
	small  []byte // the small buffer, kept while the large one is in use so that shrinking is free
}

func newFramer(r io.Reader, maxLen func() int) *framer {
	return &framer{r: r, buf: make([]byte, smallBufferSize), maxLen: maxLen}
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
		f.resize(need)
		// Move the partial message to the front; the buffer is now at least as large as it.
		if f.start > 0 {
			f.end = copy(f.buf, f.buf[f.start:f.end])
			f.start = 0
		}
		n, err := f.r.Read(f.buf[f.end:])
		f.end += n
		f.full = f.end == len(f.buf)
		switch {
		case n > smallRead || f.full:
			f.idle = 0
		case f.idle < idleReads:
			f.idle++
		}
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

// resize picks the buffer for the next read, given the length of the message partly in it (0 if its
// header is not in yet). It grows when the message would not fit or the last read filled the buffer,
// and shrinks when the session has been idle and nothing is buffered. No message handed out is valid
// any more, so the buffer can be replaced.
func (f *framer) resize(need int) {
	size := len(f.buf)
	switch {
	case need > size || f.full:
		size = max(largeBufferSize, need)
	case f.idle >= idleReads && f.start == f.end:
		size = smallBufferSize
	}
	if size == len(f.buf) {
		return
	}
	var buf []byte
	if size == smallBufferSize && f.small != nil {
		buf, f.small = f.small, nil
	} else {
		buf = make([]byte, size)
	}
	if len(f.buf) == smallBufferSize {
		f.small = f.buf
	}
	f.end = copy(buf, f.buf[f.start:f.end])
	f.start = 0
	f.buf = buf
	f.idle = 0
}
