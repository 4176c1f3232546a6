package speaker

import (
	"encoding/binary"
	"errors"
	"io"
)

// readBufferSize is what one read asks the kernel for: 16 full 4 KiB UPDATEs of a table dump per system
// call, and room for the largest message (65,535 bytes with RFC 8654). Every session holds one for its
// whole life, so it is no larger: at 1,000 members each 64 KiB is 64 MiB.
const readBufferSize = 64 << 10

// framer splits a byte stream into BGP messages. It reads into one large buffer and hands out every
// complete message in it before reading again. A message handed out aliases the buffer and is valid only
// until the next call to next: decoders must copy what they keep (DecodeUpdate does).
type framer struct {
	r      io.Reader
	buf    []byte
	start  int // first unconsumed byte
	end    int // end of valid data
	maxLen func() int
}

func newFramer(r io.Reader, maxLen func() int) *framer {
	return &framer{r: r, buf: make([]byte, readBufferSize), maxLen: maxLen}
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

// next returns the complete messages now buffered, reading once if there are none. It returns a
// *headerError for a framing error and the reader's error (io.EOF, ...) when the stream ends. Messages
// decoded before an error are returned with it.
func (f *framer) next(dst []message) ([]message, error) {
	for {
		dst = dst[:0]
		for f.end-f.start >= HeaderLen {
			l, t, herr := checkHeader(f.buf[f.start:f.start+HeaderLen], f.maxLen())
			if herr != nil {
				return dst, herr
			}
			if f.end-f.start < l {
				break
			}
			dst = append(dst, message{typ: t, body: f.buf[f.start+HeaderLen : f.start+l], raw: f.buf[f.start : f.start+l]})
			f.start += l
		}
		if len(dst) > 0 {
			return dst, nil
		}
		// Move the partial message to the front; the buffer is always larger than the biggest message.
		if f.start > 0 {
			f.end = copy(f.buf, f.buf[f.start:f.end])
			f.start = 0
		}
		n, err := f.r.Read(f.buf[f.end:])
		f.end += n
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
