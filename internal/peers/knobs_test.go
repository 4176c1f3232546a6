package peers

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fatalTB records the first Fatal or Skip of a Start function and ends its goroutine, so a test can
// check that Start refuses a Config instead of ignoring part of it.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) stop(msg string) {
	f.mu.Lock()
	f.msg = msg
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fatalTB) Fatal(args ...any)                 { f.stop(fmt.Sprint(args...)) }
func (f *fatalTB) Fatalf(format string, args ...any) { f.stop(fmt.Sprintf(format, args...)) }
func (f *fatalTB) Skip(args ...any)                  { f.stop("skip: " + fmt.Sprint(args...)) }
func (f *fatalTB) Skipf(format string, args ...any)  { f.stop("skip: " + fmt.Sprintf(format, args...)) }

// startRefused runs start(c) and returns the message it failed with, or "" if it started.
func startRefused(t *testing.T, start starter, c Config) string {
	f := &fatalTB{TB: t}
	done := make(chan Peer, 1)
	go func() {
		defer close(done)
		done <- start(f, c)
	}()
	if p, ok := <-done; ok && p != nil {
		p.Stop()
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

// TestAddPathRxRefused: the daemons without an ADD-PATH receive knob here fail Start when a Config
// asks for it, rather than start a member that silently does not advertise it.
func TestAddPathRxRefused(t *testing.T) {
	for _, d := range daemons {
		if d.name == "bird" || d.name == "frr" {
			continue
		}
		t.Run(d.name, func(t *testing.T) {
			hub, local := pairAddrs()
			c := Config{Dir: t.TempDir(), LocalAddr: local, LocalAS: d.as, PeerAddr: hub, PeerAS: hubAS, AddPathRx: true}
			if msg := startRefused(t, d.start, c); !strings.Contains(msg, "AddPathRx") {
				t.Errorf("Start with AddPathRx: %q, want a refusal naming AddPathRx", msg)
			}
		})
	}
}
