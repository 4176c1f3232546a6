package speaker

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// TestWriterChunks queues random batches of UPDATEs of every size up to 65,535 bytes and checks that
// the data chunks hold exactly the queued byte stream, each chunk within chunkSize and ending at a
// message boundary (so control messages written between chunks never split an UPDATE).
func TestWriterChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := &writer{wake: make(chan struct{}, 1), p: &Peer{}}
	var want []byte
	seq := 0
	msg := func(size int) []byte {
		b := make([]byte, size)
		copy(b, marker[:])
		binary.BigEndian.PutUint16(b[16:], uint16(size))
		b[18] = MsgUpdate
		for i := HeaderLen; i < size; i++ {
			b[i] = byte(seq + i)
		}
		seq++
		return b
	}
	for range 2000 {
		var batch []byte
		for range 1 + rng.IntN(6) {
			size := HeaderLen + 4 + rng.IntN(200)
			switch rng.IntN(10) {
			case 0:
				size = MaxExtendedMessage
			case 1:
				size = HeaderLen + 4 + rng.IntN(MaxExtendedMessage-HeaderLen-4)
			}
			batch = append(batch, msg(size)...)
		}
		if _, err := w.queue(batch, MsgUpdate, false); err != nil {
			t.Fatal(err)
		}
		want = append(want, batch...)
		if rng.IntN(50) == 0 { // the writer takes everything: the next batch starts a new chunk
			check(t, w, want)
			for _, c := range w.data {
				putChunk(c)
			}
			w.data, want = nil, nil
			w.pending.Store(0)
		}
	}
	check(t, w, want)
	if got := int(w.pending.Load()); got != len(want) {
		t.Errorf("pending %d bytes, queued %d", got, len(want))
	}
}

func check(t *testing.T, w *writer, want []byte) {
	t.Helper()
	var got []byte
	for i, c := range w.data {
		if len(c) > largeChunkSize || len(c) == 0 || len(c) > chunkSize && cap(c) != largeChunkSize {
			t.Fatalf("chunk %d holds %d bytes", i, len(c))
		}
		for b := c; len(b) > 0; {
			l := int(binary.BigEndian.Uint16(b[16:]))
			if l > len(b) || !bytes.Equal(b[:16], marker[:]) {
				t.Fatalf("chunk %d does not end at a message boundary", i)
			}
			b = b[l:]
		}
		got = append(got, c...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("chunks hold %d bytes differing from the %d queued", len(got), len(want))
	}
}

// TestWriterHold: UPDATEs queued held stay in the writer until Flush, a plain Queue, a control
// message, holdBytes of them, or the hold time (here an hour, and then a millisecond) lets them out,
// and then leave in the order queued.
func TestWriterHold(t *testing.T) {
	ours, theirs := net.Pipe()
	defer theirs.Close()
	p := &Peer{}
	w := newWriter(p, ours)
	w.holdTime = time.Hour
	go w.run()
	defer func() { w.mu.Lock(); w.closing = true; w.mu.Unlock(); w.poke() }()
	got := make(chan []byte, 1024)
	go func() {
		for {
			b := make([]byte, 1<<16)
			n, err := theirs.Read(b)
			if err != nil {
				close(got)
				return
			}
			got <- b[:n]
		}
	}()
	seq := 0
	update := func(size int) []byte {
		b := make([]byte, size)
		copy(b, marker[:])
		binary.BigEndian.PutUint16(b[16:], uint16(size))
		b[18] = MsgUpdate
		binary.BigEndian.PutUint32(b[19:], uint32(seq))
		seq++
		return b
	}
	// expect waits (bounded) for exactly want to arrive.
	expect := func(what string, want []byte) {
		t.Helper()
		var have []byte
		deadline := time.After(10 * time.Second) // a deadlock guard, not a timing assertion
		for len(have) < len(want) {
			select {
			case b := <-got:
				have = append(have, b...)
			case <-deadline:
				t.Fatalf("%s: %d of %d bytes arrived", what, len(have), len(want))
			}
		}
		if !bytes.Equal(have, want) {
			t.Fatalf("%s: the bytes differ from the ones queued, in their order", what)
		}
	}
	// nothing asserts that nothing arrives while the data is held, within a window.
	nothing := func(what string) {
		t.Helper()
		select {
		case b := <-got:
			t.Fatalf("%s: %d bytes written while held", what, len(b))
		case <-time.After(50 * time.Millisecond):
		}
	}
	queue := func(b []byte, held bool) {
		t.Helper()
		if _, err := w.queue(b, MsgUpdate, held); err != nil {
			t.Fatal(err)
		}
	}

	u1 := update(100)
	queue(u1, true)
	nothing("held")
	w.flushHeld()
	expect("Flush", u1)

	u2, u3 := update(200), update(300)
	queue(u2, true)
	queue(u3, false)
	expect("a plain Queue", append(append([]byte(nil), u2...), u3...))

	u4 := update(150)
	queue(u4, true)
	nothing("held again")
	ka := EncodeKeepalive()
	if _, err := w.queue(ka, MsgKeepalive, false); err != nil {
		t.Fatal(err)
	}
	expect("a KEEPALIVE", append(append([]byte(nil), ka...), u4...))

	var many []byte
	for len(many) < holdBytes {
		u := update(1000)
		queue(u, true)
		many = append(many, u...)
	}
	expect("holdBytes", many)

	if _, err := w.queue(nil, MsgUpdate, true); err != nil { // nothing queued: nothing to hold
		t.Fatal(err)
	}
	nothing("nothing queued")

	// With its own hold time a writer lets held UPDATEs out by itself.
	ours2, theirs2 := net.Pipe()
	defer theirs2.Close()
	w2 := newWriter(p, ours2)
	go w2.run()
	defer func() { w2.mu.Lock(); w2.closing = true; w2.mu.Unlock(); w2.poke() }()
	u5 := update(120)
	if _, err := w2.queue(u5, MsgUpdate, true); err != nil {
		t.Fatal(err)
	}
	theirs2.SetReadDeadline(time.Now().Add(10 * time.Second)) // a deadlock guard
	b := make([]byte, len(u5))
	if _, err := io.ReadFull(theirs2, b); err != nil || !bytes.Equal(b, u5) {
		t.Fatalf("held UPDATE after the hold time: %v", err)
	}
}
