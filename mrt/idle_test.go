package mrt

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/rstest"
)

// TestDumpWaitsForIdle: a dump whose walk is over writes nothing while Busy reports members sending
// UPDATEs, and writes once it has cleared; without Busy going false it gives up waiting at IdleWait.
func TestDumpWaitsForIdle(t *testing.T) {
	s := rstest.StartRIB(t, 8)
	a := rstest.AddMember(t, s, "A", 64501, "192.0.2.11")
	a.Announce(a.Attrs(), "203.0.113.0/24")
	rstest.Settle(t, s, 1)

	var busy atomic.Bool
	busy.Store(true)
	dir := t.TempDir()
	d := New(s, Config{Dir: dir, RouterID: a.Addr, Logger: quiet, Busy: busy.Load, IdleWait: time.Minute})
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_, err := d.Dump(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("dump finished while the RIB was busy: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files written while busy: %v", ents)
	}
	busy.Store(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("dump never finished once idle")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("want the accepted and the filtered file, have %v", ents)
	}

	// Busy for good: the wait ends at IdleWait.
	busy.Store(true)
	d = New(s, Config{Dir: t.TempDir(), RouterID: a.Addr, Logger: quiet, Busy: busy.Load, IdleWait: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := d.Dump(ctx); err != nil {
		t.Fatalf("dump with the RIB busy past IdleWait: %v", err)
	}
}

// TestRIBBusy: rs.Server.Busy, which the daemon gives dumps as Config.Busy, is true while a member
// sends UPDATEs and false again once it has stopped.
func TestRIBBusy(t *testing.T) {
	s := rstest.StartRIB(t, 8)
	a := rstest.AddMember(t, s, "A", 64501, "192.0.2.11")
	seen := false
	for i := 0; i < 20000 && !seen; i++ {
		a.Announce(a.Attrs(uint32(64512+i%100)), "203.0.113.0/24", "198.51.100.0/24")
		seen = s.Busy()
	}
	if !seen {
		t.Fatal("Busy never true while a member sent 20,000 UPDATEs")
	}
	deadline := time.Now().Add(testTimeout)
	for s.Busy() {
		if time.Now().After(deadline) {
			t.Fatal("Busy still true long after the member stopped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
