package speaker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// chunkReader returns at most n bytes per Read, to exercise messages split across reads.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// frameAll runs a byte stream through the framer in reads of chunk bytes and returns the raw messages and
// the error that ended the stream.
func frameAll(stream []byte, chunk, max int) ([][]byte, error) {
	fr := newFramer(&chunkReader{bytes.NewReader(stream), chunk}, func() int { return max })
	var out [][]byte
	var msgs []message
	for range len(stream) + 2 { // bounded: every round consumes a message or a read
		var err error
		msgs, err = fr.next(msgs)
		for _, m := range msgs {
			if len(m.raw) != HeaderLen+len(m.body) || m.raw[18] != m.typ {
				panic("message fields disagree")
			}
			out = append(out, bytes.Clone(m.raw))
		}
		if err != nil {
			return out, err
		}
	}
	return out, errors.New("framer did not finish")
}

func TestFramerSplitsAndJoins(t *testing.T) {
	var stream []byte
	want := [][]byte{EncodeKeepalive(), EncodeOpen(rawOpen(65001, "10.0.0.2", 90)), rawMsg(MsgUpdate, make([]byte, 5000)), EncodeKeepalive()}
	for _, m := range want {
		stream = append(stream, m...)
	}
	for _, chunk := range []int{1, 7, 19, 4096, 1 << 20} {
		got, err := frameAll(stream, chunk, MaxExtendedMessage)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("chunk %d: err %v, want EOF", chunk, err)
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: %d messages, want %d", chunk, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("chunk %d: message %d differs", chunk, i)
			}
		}
	}
	// The same stream on a session without RFC 8654: the 5019-byte UPDATE is a header error.
	got, err := frameAll(stream, 4096, MaxMessageLen)
	var herr *headerError
	if !errors.As(err, &herr) || herr.n.Subcode != SubBadMessageLength || len(got) != 2 {
		t.Fatalf("without extended messages: %d messages, err %v", len(got), err)
	}
	// A stream cut inside a message ends with io.ErrUnexpectedEOF.
	if _, err := frameAll(stream[:len(stream)-5], 100, MaxExtendedMessage); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated stream: %v", err)
	}
}

// FuzzFraming feeds arbitrary streams, split into reads of arbitrary size, through the framer. Properties:
// no panic; the messages handed out, concatenated, are exactly the start of the stream; each passes
// checkHeader; the stream ends with EOF after a whole message, ErrUnexpectedEOF inside one, or a header
// error exactly where the next message's header is bad. Seeds include sessions captured from real daemons.
func FuzzFraming(f *testing.F) {
	f.Add([]byte(nil), uint16(1), false)
	f.Add(append(EncodeKeepalive(), EncodeOpen(rawOpen(65001, "10.0.0.2", 90))...), uint16(7), false)
	f.Add(rawMsg(MsgUpdate, make([]byte, 5000)), uint16(4096), true)
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint16, ext bool) {
		if chunk == 0 {
			chunk = 1
		}
		max := MaxMessageLen
		if ext {
			max = MaxExtendedMessage
		}
		got, err := frameAll(stream, int(chunk), max)
		var consumed []byte
		for _, m := range got {
			if _, _, herr := checkHeader(m[:HeaderLen], max); herr != nil {
				t.Fatalf("handed out a message with a bad header: %v", herr)
			}
			if int(binary.BigEndian.Uint16(m[16:18])) != len(m) {
				t.Fatalf("message length field %d, message %d bytes", binary.BigEndian.Uint16(m[16:18]), len(m))
			}
			consumed = append(consumed, m...)
		}
		if !bytes.HasPrefix(stream, consumed) {
			t.Fatal("messages are not the start of the stream")
		}
		rest := stream[len(consumed):]
		var herr *headerError
		switch {
		case errors.Is(err, io.EOF):
			if len(rest) != 0 {
				t.Fatalf("EOF with %d bytes left", len(rest))
			}
		case errors.Is(err, io.ErrUnexpectedEOF):
			if len(rest) == 0 {
				t.Fatal("unexpected EOF with nothing left")
			}
			if len(rest) >= HeaderLen {
				l, _, herr := checkHeader(rest[:HeaderLen], max)
				if herr != nil || l <= len(rest) {
					t.Fatalf("unexpected EOF although the rest is a complete message or a bad header")
				}
			}
		case errors.As(err, &herr):
			if len(rest) < HeaderLen {
				t.Fatal("header error without a header")
			}
			if _, _, want := checkHeader(rest[:HeaderLen], max); want == nil || want.n.Code != herr.n.Code || want.n.Subcode != herr.n.Subcode {
				t.Fatalf("header error %v, checkHeader says %v", herr, want)
			}
		default:
			t.Fatalf("stream ended with %v", err)
		}
	})
}
