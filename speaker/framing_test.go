package speaker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime/debug"
	"slices"
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
// of reads of at most piece bytes, period reads each: the framer switches between its small buffer and a
// pooled large one along the stream, with partial messages carried across.
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
// taken from chunk) that switch the read buffer between small and large; both must hand out the same
// messages.
func FuzzFraming(f *testing.F) {
	f.Add([]byte(nil), uint16(1), false)
	f.Add(append(EncodeKeepalive(), EncodeOpen(rawOpen(65001, "10.0.0.2", 90))...), uint16(7), false)
	f.Add(rawMsg(MsgUpdate, make([]byte, 5000)), uint16(4096), true)
	// Bulk, idle and extended: full UPDATEs, a run of KEEPALIVEs, an UPDATE larger than the small buffer,
	// more KEEPALIVEs. About 19 KiB: with a 65,535-byte message the seed made the fuzzer crawl (it
	// minimizes what it finds from it); TestFramerBufferSwitches covers that size.
	var phased []byte
	for range 3 {
		phased = append(phased, rawMsg(MsgUpdate, make([]byte, MaxMessageLen-HeaderLen))...)
	}
	for range 16 {
		phased = append(phased, EncodeKeepalive()...)
	}
	phased = append(phased, rawMsg(MsgUpdate, make([]byte, 6000))...)
	for range 16 {
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
		ph := &phaseReader{r: bytes.NewReader(stream), piece: int(chunk&0xff) + 1, period: int(chunk>>8)%16 + 1}
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

// scriptedFramer frames what its script is given, phase by phase, and records after every call to next
// the size of the buffer the framer is using and how often it took a large buffer from the pool.
type scriptedFramer struct {
	t     *testing.T
	sr    *scriptReader
	fr    *framer
	msgs  []message
	sizes []int // len(fr.buf) after each call
	takes int   // large buffers taken from the pool
}

func newScriptedFramer(t *testing.T, max int) *scriptedFramer {
	sf := &scriptedFramer{t: t, sr: &scriptReader{}}
	sf.fr = newFramer(sf.sr, func() int { return max })
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
		held := sf.fr.large != nil
		var err error
		sf.msgs, err = sf.fr.next(sf.msgs)
		if !held && sf.fr.large != nil {
			sf.takes++
		}
		if (sf.fr.large != nil) != (len(sf.fr.buf) == largeBufferSize) || (sf.fr.large == nil && &sf.fr.buf[0] != &sf.fr.small[0]) {
			sf.t.Fatalf("buffer of %d bytes, large buffer held: %v", len(sf.fr.buf), sf.fr.large != nil)
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

// pieces cuts b into pieces of n bytes (the last one shorter).
func pieces(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		out = append(out, b[:min(n, len(b))])
		b = b[min(n, len(b)):]
	}
	return out
}

// TestFramerBufferSwitches walks the read buffer through its transitions, checking at each that every
// message is framed exactly and the framer reads into the buffer it should: the small one unless the
// last read filled its buffer or a message longer than the small buffer is pending.
func TestFramerBufferSwitches(t *testing.T) {
	ka := EncodeKeepalive()
	full := rawMsg(MsgUpdate, bytes.Repeat([]byte{1}, MaxMessageLen-HeaderLen))
	mid := rawMsg(MsgUpdate, bytes.Repeat([]byte{2}, 3000))
	ext := rawMsg(MsgUpdate, bytes.Repeat([]byte{3}, MaxExtendedMessage-HeaderLen))
	kas := repeat(ka, 8)
	last := func(sizes []int) int { return sizes[len(sizes)-1] }
	peak := func(sizes []int) int { return slices.Max(sizes) }

	sf := newScriptedFramer(t, MaxExtendedMessage)
	// A session starts small, and the handshake and keepalives keep it so.
	open := EncodeOpen(rawOpen(65001, "10.0.0.2", 90))
	sf.feed([][]byte{open, ka}, open, ka)
	sf.feed(kas, kas...)
	if sf.takes != 0 || sf.fr.large != nil {
		t.Fatalf("idle from the start: %d large buffers taken", sf.takes)
	}

	// Bulk: the first read fills the small buffer and ends inside the third message (a 3,000-byte UPDATE
	// after a KEEPALIVE and a full one would straddle 4,096): the rest of it arrives in the large buffer.
	// The last read does not fill it, but the messages it brought are still being handed out: the large
	// buffer is given back at the next read, not before.
	dump := append([][]byte{ka, mid, full}, repeat(full, 40)...)
	s := sf.feed(dump, concat(dump...))
	if s[0] != smallBufferSize || last(s) != largeBufferSize || sf.takes != 1 {
		t.Fatalf("bulk: buffer sizes %v, %d large buffers taken", s, sf.takes)
	}
	// One small read after the bulk phase: the large buffer goes back to the pool before it.
	if s = sf.feed([][]byte{ka}, ka); last(s) != smallBufferSize || sf.fr.large != nil {
		t.Fatalf("read after bulk: %d-byte buffer", last(s))
	}

	// A bulk phase whose last read ends inside a message: the partial message moves to the small buffer
	// with the large one given back, and the rest of it arrives there.
	head := concat(concat(repeat(full, 20)...), mid[:2000])
	s = sf.feed(append(repeat(full, 20), mid, ka), head, concat(mid[2000:], ka))
	if peak(s) != largeBufferSize || last(s) != smallBufferSize || sf.fr.large != nil {
		t.Fatalf("partial message after bulk: buffer sizes %v", s)
	}
	// The same with the tail shorter than a header.
	head = concat(concat(repeat(full, 20)...), mid[:7])
	s = sf.feed(append(repeat(full, 20), mid, ka), head, concat(mid[7:], ka))
	if peak(s) != largeBufferSize || last(s) != smallBufferSize || sf.fr.large != nil {
		t.Fatalf("partial header after bulk: buffer sizes %v", s)
	}

	// A message longer than the small buffer keeps the large one while it trickles in, 100 bytes a read,
	// and the read after it gives it back.
	big := rawMsg(MsgUpdate, bytes.Repeat([]byte{4}, 6000))
	sf.feed(dump, concat(dump...))
	if s = sf.feed([][]byte{big}, pieces(big, 100)...); slices.Min(s) != largeBufferSize {
		t.Fatalf("trickled message after bulk: buffer sizes %v", s)
	}
	if s = sf.feed([][]byte{ka}, ka); last(s) != smallBufferSize {
		t.Fatalf("read after the trickled message: %d-byte buffer", last(s))
	}
	// The same message trickling in on the small buffer: the large one is taken once its header is in.
	takes := sf.takes
	if s = sf.feed([][]byte{big, ka}, append(pieces(big, 100), ka)...); last(s) != smallBufferSize || sf.takes != takes+1 {
		t.Fatalf("trickled message when idle: buffer sizes %v, %d large buffers taken", s, sf.takes-takes)
	}

	// A 65,535-byte message on the small buffer, in one piece (the read fills the buffer) and trickled in
	// reads of 1,000 bytes (the header says it is larger than the buffer), with messages before and after.
	takes = sf.takes
	sf.feed([][]byte{ka, ext, ka}, concat(ka, ext, ka))
	sf.feed([][]byte{ka}, ka)
	if sf.takes != takes+1 || sf.fr.large != nil {
		t.Fatalf("extended message in one piece: %d large buffers taken, one held: %v", sf.takes-takes, sf.fr.large != nil)
	}
	takes = sf.takes
	sf.feed([][]byte{ka, ext, ka}, pieces(concat(ka, ext, ka), 1000)...)
	sf.feed([][]byte{ka}, ka)
	if sf.takes != takes+1 || sf.fr.large != nil {
		t.Fatalf("extended message trickled: %d large buffers taken, one held: %v", sf.takes-takes, sf.fr.large != nil)
	}

	// Bulk and single small reads in turn: the large buffer is taken for each bulk phase and given back at
	// the small read after it.
	takes = sf.takes
	for range 20 {
		sf.feed(dump, concat(dump...))
		if s = sf.feed([][]byte{ka}, ka); last(s) != smallBufferSize {
			t.Fatalf("alternating bulk and idle: %d-byte buffer after a small read", last(s))
		}
	}
	if sf.takes != takes+20 {
		t.Fatalf("alternating bulk and idle: %d large buffers taken in 20 rounds", sf.takes-takes)
	}
}

// TestFramerSharedPool runs two framers on the one pool, interleaved: a large buffer given back by one
// and taken by the other must never be one whose messages the first has handed out and the caller may
// still be reading.
func TestFramerSharedPool(t *testing.T) {
	full := rawMsg(MsgUpdate, bytes.Repeat([]byte{1}, MaxMessageLen-HeaderLen))
	other := rawMsg(MsgUpdate, bytes.Repeat([]byte{2}, MaxMessageLen-HeaderLen))
	ka := EncodeKeepalive()
	// a receives bulk that ends with a read not filling its large buffer; b then receives bulk.
	sa, sb := &scriptReader{}, &scriptReader{}
	a := newFramer(sa, func() int { return MaxMessageLen })
	b := newFramer(sb, func() int { return MaxMessageLen })
	var ma, mb []message
	for round := range 50 {
		sa.chunks = [][]byte{concat(concat(repeat(full, 30)...), ka)}
		sb.chunks = [][]byte{concat(repeat(other, 30)...)}
		for len(sa.chunks) > 0 || len(sb.chunks) > 0 {
			var err error
			if len(sa.chunks) > 0 {
				if ma, err = a.next(ma); err != nil {
					t.Fatal(err)
				}
			}
			// b reads (and takes a large buffer) while a's messages are still valid.
			if len(sb.chunks) > 0 {
				if mb, err = b.next(mb); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range ma {
				if !bytes.Equal(m.raw, full) && !bytes.Equal(m.raw, ka) {
					t.Fatalf("round %d: a message handed out was overwritten", round)
				}
			}
			for _, m := range mb {
				if !bytes.Equal(m.raw, other) {
					t.Fatalf("round %d: b's message differs", round)
				}
			}
		}
		// Both drain, so that the next round starts on the small buffers.
		ma, _ = a.next(ma)
		mb, _ = b.next(mb)
	}
}

// raceEnabled reports whether the test binary was built with -race, which makes sync.Pool drop some of
// what it is given: then taking a large buffer may allocate.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// TestFramerSteadyStateAllocs checks that neither an idle nor a bulk session, nor one switching between
// them, allocates per read: the large buffer comes from the pool and goes back to it.
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
	want := 0.0
	if raceEnabled() {
		want = -1 // allocation counts are not checked
	}
	check := func(what string, a float64, large bool) {
		t.Helper()
		if (want >= 0 && a != want) || (fr.large != nil) != large {
			t.Fatalf("%s: %.2f allocs per run, large buffer held: %v", what, a, fr.large != nil)
		}
	}
	check("idle", testing.AllocsPerRun(100, func() { step(ka) }), false)
	bulk := bytes.Repeat(rawMsg(MsgUpdate, make([]byte, 1000)), 200)
	step(bulk)
	check("bulk", testing.AllocsPerRun(100, func() { step(bulk) }), true)
	// Bulk and idle in turn: the large buffer is taken and given back, every time.
	cycle := func() {
		step(bulk)
		step(ka)
		if fr.large != nil {
			t.Fatal("idle after bulk: large buffer held")
		}
	}
	check("bulk then idle", testing.AllocsPerRun(100, cycle), false)
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
// buffer must be the large one for the dump and the small one from the first read after it: a session
// that falls quiet holds no large buffer while it waits.
func TestFramerIdleSessionOverConn(t *testing.T) {
	ours, theirs := net.Pipe()
	defer ours.Close()
	ka := EncodeKeepalive()
	dump := bytes.Repeat(rawMsg(MsgUpdate, make([]byte, MaxMessageLen-HeaderLen)), 100)
	eor := rawMsg(MsgUpdate, make([]byte, 4))
	const keepalives = 3
	go func() {
		defer theirs.Close()
		theirs.Write(concat(EncodeOpen(rawOpen(65001, "10.0.0.2", 90)), ka))
		theirs.Write(concat(dump, eor))
		for range keepalives {
			time.Sleep(time.Millisecond)
			theirs.Write(ka)
		}
	}()
	fr := newFramer(ours, func() int { return MaxMessageLen })
	var msgs []message
	peak, n, afterDump := 0, 0, 0
	for {
		var err error
		msgs, err = fr.next(msgs)
		n += len(msgs)
		peak = max(peak, len(fr.buf))
		if n > 2+100+1 {
			// A keepalive after the dump: the large buffer went back before the read that brought it.
			afterDump++
			if fr.large != nil || len(fr.buf) != smallBufferSize {
				t.Fatalf("keepalive %d after the dump read into a %d-byte buffer", afterDump, len(fr.buf))
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := 2 + 100 + 1 + keepalives; n != want {
		t.Fatalf("%d messages, want %d", n, want)
	}
	if peak != largeBufferSize || afterDump == 0 || fr.large != nil {
		t.Fatalf("buffer peaked at %d bytes; %d reads after the dump; large buffer held at the end: %v", peak, afterDump, fr.large != nil)
	}
}
