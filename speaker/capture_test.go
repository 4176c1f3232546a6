package speaker

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
)

var capture = flag.Bool("capture", false, "TestCaptureSeeds: record real daemons' sessions as fuzz seeds in testdata/fuzz")

// TestCaptureSeeds regenerates the fuzz seeds captured from real daemons (testdata/fuzz/*/capture-*):
// each daemon connects, announces its routes, and every message it sends us is written out as a seed for
// FuzzDecodeOpen, FuzzDecodeUpdate and (the whole stream) FuzzFraming. It is a generator, run by hand
// with -capture; the seeds it wrote are checked in and run as part of every fuzz target's corpus.
func TestCaptureSeeds(t *testing.T) {
	if !*capture {
		t.Skip("generator: run with -capture to re-record the seeds from real daemons")
	}
	for i, d := range daemons {
		t.Run(d.name, func(t *testing.T) {
			var mu sync.Mutex
			var stream []byte
			sp, port := interopSpeaker(t)
			rec := newRecorder()
			p, err := sp.AddPeer(PeerConfig{Name: d.name, PeerAddr: adr(d.addr), PeerAS: d.as, Passive: true,
				OnMessage: func(_ *Peer, msg []byte) {
					mu.Lock()
					stream = append(stream, msg...)
					mu.Unlock()
				}}, rec)
			if err != nil {
				t.Fatal(err)
			}
			p.Start()
			anns := memberRoutes(d, i)
			if d.name != "openbgpd" {
				anns[1].ASPathPrepend = []uint32{64512, 4200000001}
			}
			d.start(t, peers.Config{Dir: t.TempDir(), LocalAddr: adr(d.addr), LocalAS: d.as, PeerAddr: adr("127.0.0.1"),
				PeerPort: int(port), PeerAS: 65000, Announce: anns})
			waitEstablished(t, rec, 60*time.Second)
			rec.waitUpdates(t, 30*time.Second, func(us []*Update) bool { return len(ribOf(us)) >= len(anns) })
			time.Sleep(2 * time.Second) // End-of-RIB and keepalives
			mu.Lock()
			defer mu.Unlock()
			writeSeed(t, "FuzzFraming", "capture-"+d.name, fmt.Sprintf("[]byte(%q)\nuint16(%d)\nbool(%v)", stream, 4096, false))
			n := 0
			for b := stream; len(b) >= HeaderLen; {
				l := int(binary.BigEndian.Uint16(b[16:18]))
				body := b[HeaderLen:l]
				switch b[18] {
				case MsgOpen:
					writeSeed(t, "FuzzDecodeOpen", "capture-"+d.name, fmt.Sprintf("[]byte(%q)", body))
				case MsgUpdate:
					writeSeed(t, "FuzzDecodeUpdate", fmt.Sprintf("capture-%s-%d", d.name, n), fmt.Sprintf("[]byte(%q)\nbyte(%q)", body, byte(1)))
					n++
				}
				b = b[l:]
			}
			t.Logf("%s: %d bytes, %d UPDATEs", d.name, len(stream), n)
		})
	}
}

func writeSeed(t *testing.T, target, name, values string) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("go test fuzz v1\n"+values+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
