package main

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// The forwarder gives every other member each UPDATE as sent: with unique prefixes, a member ends up
// holding the others' tables with their routes as announced (the check accepts any announcer's route).
func TestForwarderForwards(t *testing.T) {
	w, err := Generate(Spec{Name: "t", Members: 3, Routes: 1500, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go newForwarder().accept(l)
	raddr := l.Addr().(*net.TCPAddr).AddrPort()

	enc := w.Encode()
	ix := newIndex(w)
	chk := newChecker(w)
	chk.anyRoute = true
	tr := &tracker{chk: chk}
	own := w.Own()
	ss := make([]*session, len(w.Members))
	deadline := time.Now().Add(20 * time.Second)
	for i, m := range w.Members {
		ss[i] = newSession(m, enc[i], ix, tr, own[i])
		if err := ss[i].connect(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), raddr.Port()), deadline); err != nil {
			t.Fatal(err)
		}
		defer ss[i].conn.Close()
	}
	all := w.AllActive()
	chk.expect(all, announcedAll, nil)
	done := tr.phase(ss, w.Expected(all, announcedAll))
	for i := range ss {
		if err := ss[i].send(enc[i].Table); err != nil {
			t.Fatal(err)
		}
	}
	if !wait(done, 20*time.Second) {
		t.Fatalf("members did not receive the others' tables: %s", progress(ss))
	}
	for _, s := range ss {
		if _, _, bad := s.snapshot(); bad != 0 || s.wrong != "" {
			t.Fatalf("member %s: %d prefixes wrong: %s", s.m.Name, bad, s.wrong)
		}
	}
}
