package speaker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
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
	return frameReader(&chunkReader{bytes.NewReader(stream), chunk}, len(stream), max)
}

// frameReader frames what r delivers, a stream of size bytes, as frameAll does.
func frameReader(r io.Reader, size, max int) ([][]byte, error) {
	fr := newFramer(r, func() int { return max })
	var out [][]byte
	var msgs []message
	for range size + 2 { // bounded: every round consumes a message or a read
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

// phaseReader alternates bulk phases, where every read gets all the buffer can take, with trickle phases
// of reads of at most piece bytes, period reads each: the framer's buffer grows and shrinks along the
// stream.
type phaseReader struct {
	r      io.Reader
	piece  int
	period int
	reads  int
}

func (p *phaseReader) Read(b []byte) (int, error) {
	if (p.reads/p.period)%2 == 1 && len(b) > p.piece {
		b = b[:p.piece]
	}
	p.reads++
	return p.r.Read(b)
}

// FuzzFraming feeds arbitrary streams, split into reads of arbitrary size, through the framer. Properties:
// no panic; the messages handed out, concatenated, are exactly the start of the stream; each passes
// checkHeader; the stream ends with EOF after a whole message, ErrUnexpectedEOF inside one, or a header
// error exactly where the next message's header is bad. Seeds include sessions captured from real daemons.
// The stream is framed twice: in reads of chunk bytes, and in alternating bulk and trickle phases (shapes
// taken from chunk) that make the read buffer grow and shrink; both must hand out the same messages.
func FuzzFraming(f *testing.F) {
	f.Add([]byte(nil), uint16(1), false)
	f.Add(append(EncodeKeepalive(), EncodeOpen(rawOpen(65001, "10.0.0.2", 90))...), uint16(7), false)
	f.Add(rawMsg(MsgUpdate, make([]byte, 5000)), uint16(4096), true)
	// Bulk, idle and extended: full UPDATEs, a run of KEEPALIVEs, an UPDATE larger than the small buffer,
	// more KEEPALIVEs. About 19 KiB: with a 65,535-byte message the seed made the fuzzer crawl (it
	// minimizes what it finds from it); TestFramerBufferGrowsAndShrinks covers that size.
	var phased []byte
	for range 3 {
		phased = append(phased, rawMsg(MsgUpdate, make([]byte, MaxMessageLen-HeaderLen))...)
	}
	for range 2 * idleReads {
		phased = append(phased, EncodeKeepalive()...)
	}
	phased = append(phased, rawMsg(MsgUpdate, make([]byte, 6000))...)
	for range 2 * idleReads {
		phased = append(phased, EncodeKeepalive()...)
	}
	f.Add(phased, uint16(5<<8|18), true)
	f.Add(phased, uint16(9<<8|200), true)
	f.Add(phased, uint16(4096), false)
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint16, ext bool) {
		if chunk == 0 {
			chunk = 1
		}
		max := MaxMessageLen
		if ext {
			max = MaxExtendedMessage
		}
		got, err := frameAll(stream, int(chunk), max)
		checkFramed(t, stream, max, got, err)
		ph := &phaseReader{r: bytes.NewReader(stream), piece: int(chunk&0xff) + 1, period: int(chunk>>8)%(2*idleReads) + 1}
		got2, err2 := frameReader(ph, len(stream), max)
		checkFramed(t, stream, max, got2, err2)
		if len(got2) != len(got) || (err == nil) != (err2 == nil) || errors.Is(err, io.EOF) != errors.Is(err2, io.EOF) {
			t.Fatalf("phased reads: %d messages, %v; fixed reads: %d messages, %v", len(got2), err2, len(got), err)
		}
	})
}

// checkFramed checks what frameAll returned for stream against FuzzFraming's properties.
func checkFramed(t *testing.T, stream []byte, max int, got [][]byte, err error) {
	t.Helper()
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
}

// scriptReader returns its chunks one per Read (a chunk longer than the buffer over several), then EOF.
type scriptReader struct{ chunks [][]byte }

func (s *scriptReader) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.chunks[0])
	if s.chunks[0] = s.chunks[0][n:]; len(s.chunks[0]) == 0 {
		s.chunks = s.chunks[1:]
	}
	return n, nil
}

// scriptedFramer frames what its script is given, phase by phase, and records the buffer size after
// every call to next.
type scriptedFramer struct {
	t     *testing.T
	sr    *scriptReader
	fr    *framer
	msgs  []message
	sizes []int // len(fr.buf) after each call
	bufs  int   // distinct buffers used (allocations)
}

func newScriptedFramer(t *testing.T, max int) *scriptedFramer {
	sf := &scriptedFramer{t: t, sr: &scriptReader{}}
	sf.fr = newFramer(sf.sr, func() int { return max })
	sf.bufs = 1
	return sf
}

// feed delivers chunks, one per read, and checks that exactly want comes out; it returns the buffer size
// after each call to next.
func (sf *scriptedFramer) feed(want [][]byte, chunks ...[]byte) []int {
	sf.t.Helper()
	sf.sr.chunks = append([][]byte(nil), chunks...) // the reader consumes them in place
	sf.sizes = sf.sizes[:0]
	var got [][]byte
	for len(got) < len(want) {
		before := &sf.fr.buf[0]
		var err error
		sf.msgs, err = sf.fr.next(sf.msgs)
		if &sf.fr.buf[0] != before {
			sf.bufs++
		}
		sf.sizes = append(sf.sizes, len(sf.fr.buf))
		for _, m := range sf.msgs {
			got = append(got, bytes.Clone(m.raw))
		}
		if err != nil {
			sf.t.Fatalf("after %d of %d messages: %v", len(got), len(want), err)
		}
	}
	if len(got) != len(want) || len(sf.sr.chunks) != 0 {
		sf.t.Fatalf("%d messages, want %d; %d chunks unread", len(got), len(want), len(sf.sr.chunks))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			sf.t.Fatalf("message %d differs (%d bytes, want %d)", i, len(got[i]), len(want[i]))
		}
	}
	return sf.sizes
}

func concat(msgs ...[]byte) []byte { return bytes.Join(msgs, nil) }

func repeat(m []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = m
	}
	return out
}

// TestFramerBufferGrowsAndShrinks walks the read buffer through its transitions, checking at each that
// every message is framed exactly and the buffer has the size it should.
func TestFramerBufferGrowsAndShrinks(t *testing.T) {
	ka := EncodeKeepalive()
	full := rawMsg(MsgUpdate, bytes.Repeat([]byte{1}, MaxMessageLen-HeaderLen))
	mid := rawMsg(MsgUpdate, bytes.Repeat([]byte{2}, 3000))
	ext := rawMsg(MsgUpdate, bytes.Repeat([]byte{3}, MaxExtendedMessage-HeaderLen))
	kas := repeat(ka, idleReads)
	last := func(sizes []int) int { return sizes[len(sizes)-1] }

	sf := newScriptedFramer(t, MaxExtendedMessage)
	// A session starts small, and the handshake and keepalives keep it so, in the one buffer it started with.
	open := EncodeOpen(rawOpen(65001, "10.0.0.2", 90))
	if s := sf.feed([][]byte{open, ka}, open, ka); last(s) != smallBufferSize {
		t.Fatalf("after the handshake: %d-byte buffer", last(s))
	}
	sf.feed(kas, kas...)
	if sf.bufs != 1 || len(sf.fr.buf) != smallBufferSize {
		t.Fatalf("idle from the start: %d buffers, %d bytes", sf.bufs, len(sf.fr.buf))
	}

	// Bulk: the first read fills the small buffer and ends inside the third message (a 3,000-byte UPDATE
	// after a KEEPALIVE and a full one would straddle 4,096): the rest of it arrives in the large buffer.
	dump := append([][]byte{ka, mid, full}, repeat(full, 40)...)
	s := sf.feed(dump, concat(dump...))
	if last(s) != largeBufferSize || sf.bufs != 2 {
		t.Fatalf("bulk: %d-byte buffer, %d buffers", last(s), sf.bufs)
	}

	// Idle: small reads, but fewer than idleReads, keep the large buffer; the idleReads-th lets it go.
	s = sf.feed(kas[:idleReads-1], kas[:idleReads-1]...)
	if last(s) != largeBufferSize {
		t.Fatalf("after %d idle reads: %d-byte buffer", idleReads-1, last(s))
	}
	sf.feed([][]byte{ka, ka}, ka, ka)
	if len(sf.fr.buf) != smallBufferSize || sf.bufs != 3 {
		t.Fatalf("idle: %d-byte buffer, %d buffers", len(sf.fr.buf), sf.bufs)
	}

	// A message straddling the point where the buffer would shrink: a 6,000-byte UPDATE (larger than the
	// small buffer) arriving 100 bytes a read, on the large buffer, after idle reads. Nothing buffered may
	// be lost: the buffer stays until the message is out, and shrinks at the read after it.
	sf.feed(dump, concat(dump...))
	if len(sf.fr.buf) != largeBufferSize {
		t.Fatalf("second bulk phase: %d-byte buffer", len(sf.fr.buf))
	}
	var pieces [][]byte
	big := rawMsg(MsgUpdate, bytes.Repeat([]byte{4}, 6000))
	for rest := big; len(rest) > 0; rest = rest[min(100, len(rest)):] {
		pieces = append(pieces, rest[:min(100, len(rest))])
	}
	s = sf.feed([][]byte{big}, pieces...)
	if last(s) != largeBufferSize {
		t.Fatalf("trickled message: %d-byte buffer once it is out", last(s))
	}
	if s = sf.feed([][]byte{ka}, ka); last(s) != smallBufferSize {
		t.Fatalf("read after the trickled message: %d-byte buffer", last(s))
	}

	// A 65,535-byte message on the small buffer, in one piece (the read fills the buffer) and trickled in
	// reads of 1,000 bytes (the header says it is larger than the buffer), with messages before and after.
	bufs := sf.bufs
	sf.feed([][]byte{ka, ext, ka}, concat(ka, ext, ka))
	if sf.bufs != bufs+1 || len(sf.fr.buf) != largeBufferSize {
		t.Fatalf("extended message in one piece: %d new buffers, %d bytes", sf.bufs-bufs, len(sf.fr.buf))
	}
	sf.feed(kas, kas...)
	sf.feed([][]byte{ka}, ka)
	if len(sf.fr.buf) != smallBufferSize {
		t.Fatalf("idle after the extended message: %d-byte buffer", len(sf.fr.buf))
	}
	pieces = pieces[:0]
	for rest := concat(ka, ext, ka); len(rest) > 0; rest = rest[min(1000, len(rest)):] {
		pieces = append(pieces, rest[:min(1000, len(rest))])
	}
	bufs = sf.bufs
	sf.feed([][]byte{ka, ext, ka}, pieces...)
	if sf.bufs != bufs+1 || len(sf.fr.buf) != largeBufferSize {
		t.Fatalf("extended message trickled: %d new buffers, %d bytes", sf.bufs-bufs, len(sf.fr.buf))
	}

	// Hysteresis: alternating one full read with fewer than idleReads small ones never changes buffer, and
	// one full read with idleReads small ones changes twice per round (grow and shrink), not per read.
	bufs = sf.bufs
	for range 20 {
		sf.feed([][]byte{full}, full)
		sf.feed(kas[:idleReads-1], kas[:idleReads-1]...)
	}
	if sf.bufs != bufs || len(sf.fr.buf) != largeBufferSize {
		t.Fatalf("bulk with short pauses: %d new buffers, %d bytes", sf.bufs-bufs, len(sf.fr.buf))
	}
	for range 20 {
		sf.feed([][]byte{ka, full}, concat(ka, full))
		sf.feed(kas, kas...)
	}
	if n := sf.bufs - bufs; n > 2*20 {
		t.Fatalf("alternating bulk and idle: %d new buffers in %d reads", n, 20*(idleReads+1))
	}
}

// TestFramerSteadyStateAllocs checks that neither an idle nor a bulk session allocates per read.
func TestFramerSteadyStateAllocs(t *testing.T) {
	ka := EncodeKeepalive()
	sr := &scriptReader{}
	fr := newFramer(sr, func() int { return MaxMessageLen })
	msgs := make([]message, 0, maxBatch)
	var script [1][]byte
	step := func(chunk []byte) {
		script[0] = chunk
		sr.chunks = script[:]
		for len(sr.chunks) > 0 {
			var err error
			if msgs, err = fr.next(msgs); err != nil {
				t.Fatal(err)
			}
		}
	}
	if a := testing.AllocsPerRun(100, func() { step(ka) }); a != 0 || len(fr.buf) != smallBufferSize {
		t.Fatalf("idle: %.1f allocs per read, %d-byte buffer", a, len(fr.buf))
	}
	bulk := bytes.Repeat(rawMsg(MsgUpdate, make([]byte, 1000)), 200)
	step(bulk)
	if a := testing.AllocsPerRun(100, func() { step(bulk) }); a != 0 || len(fr.buf) != largeBufferSize {
		t.Fatalf("bulk: %.1f allocs per %d bytes, %d-byte buffer", a, len(bulk), len(fr.buf))
	}
	// Bulk and idle phases in turn: growing allocates the large buffer, shrinking nothing.
	cycle := func() {
		step(bulk)
		for range idleReads + 1 {
			step(ka)
		}
		if len(fr.buf) != smallBufferSize {
			t.Fatalf("idle after bulk: %d-byte buffer", len(fr.buf))
		}
	}
	if a := testing.AllocsPerRun(100, cycle); a != 1 {
		t.Fatalf("bulk then idle: %.1f allocs per cycle, want 1 (the large buffer)", a)
	}
}

// TestFramerBatch checks that a read of many small messages is handed out in batches of at most maxBatch,
// so the caller's slice of them stays small, and that none is lost between batches.
func TestFramerBatch(t *testing.T) {
	n := largeBufferSize / (HeaderLen + 4) // End-of-RIBs, the smallest UPDATE
	eor := rawMsg(MsgUpdate, make([]byte, 4))
	stream := bytes.Repeat(eor, n)
	fr := newFramer(&chunkReader{bytes.NewReader(stream), len(stream)}, func() int { return MaxMessageLen })
	var msgs []message
	got := 0
	for {
		var err error
		msgs, err = fr.next(msgs)
		if len(msgs) > maxBatch {
			t.Fatalf("%d messages in one batch", len(msgs))
		}
		got += len(msgs)
		if err != nil {
			break
		}
	}
	if got != n || cap(msgs) > 2*maxBatch {
		t.Fatalf("%d messages, want %d; batch slice capacity %d", got, n, cap(msgs))
	}
}

// TestFramerIdleSessionOverConn runs a session's receive side over a connection: handshake, a table dump
// written in one go, End-of-RIB, then keepalives at intervals, as an idle neighbor sends them. The read
// buffer must grow for the dump and be small again once the session has been idle for idleReads
// keepalives.
func TestFramerIdleSessionOverConn(t *testing.T) {
	ours, theirs := net.Pipe()
	defer ours.Close()
	ka := EncodeKeepalive()
	dump := bytes.Repeat(rawMsg(MsgUpdate, make([]byte, MaxMessageLen-HeaderLen)), 100)
	eor := rawMsg(MsgUpdate, make([]byte, 4))
	go func() {
		defer theirs.Close()
		theirs.Write(concat(EncodeOpen(rawOpen(65001, "10.0.0.2", 90)), ka))
		theirs.Write(concat(dump, eor))
		for range idleReads + 1 {
			time.Sleep(time.Millisecond)
			theirs.Write(ka)
		}
	}()
	fr := newFramer(ours, func() int { return MaxMessageLen })
	var msgs []message
	peak, n := 0, 0
	for {
		var err error
		msgs, err = fr.next(msgs)
		n += len(msgs)
		peak = max(peak, len(fr.buf))
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := 2 + 100 + 1 + idleReads + 1; n != want {
		t.Fatalf("%d messages, want %d", n, want)
	}
	if peak != largeBufferSize || len(fr.buf) != smallBufferSize {
		t.Fatalf("buffer peaked at %d bytes and ended at %d; want %d and %d", peak, len(fr.buf), largeBufferSize, smallBufferSize)
	}
}
