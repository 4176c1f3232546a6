package speaker

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
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
		if _, err := w.queue(batch, MsgUpdate); err != nil {
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
