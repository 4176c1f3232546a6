package main

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ixrs/ixrs/rpki"
)

// TestCheckPhase feeds the re-evaluation checks a correct phase and then each kind of wrong one: a
// member missing a prefix, holding one too many, sent a prefix outside the change, sent a changed prefix
// in the wrong direction, sent too few of the change. Each must be reported, and only the correct phase
// pass.
func TestCheckPhase(t *testing.T) {
	const n = 200
	words := (n + 63) / 64
	bs := func(ps ...uint32) []uint64 {
		s := make([]uint64, words)
		for _, p := range ps {
			set(s, p)
		}
		return s
	}
	full := make([]uint64, words)
	for p := uint32(0); p < n; p++ {
		set(full, p)
	}
	// Member 0 owns 0..9, member 1 owns 10..19 and 150 (multi-homed with member 2), member 2 owns 150.
	owns := [][]uint64{bs(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), bs(10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 150), bs(150)}
	change := []uint32{5, 100, 101, 150} // withdrawn: one of member 0's, two others, the multi-homed one
	cs := bs(change...)
	live := clone(full)
	for _, p := range change {
		live[p/64] &^= 1 << (p % 64)
	}

	// correct builds the state of a correct phase: every member holds live minus its own prefixes and
	// was sent exactly the withdrawals of the change that concern it (plus, for member 1, the
	// multi-homed prefix it also announces, which is neutral).
	correct := func() ([]*watch, [][]uint64, []int) {
		var ws []*watch
		var helds [][]uint64
		var want []int
		for i, own := range owns {
			w := newWatch(cs, own, false)
			w.message()
			for _, p := range change {
				if !has(own, p) || i == 1 {
					w.see(p, false)
				}
			}
			ws = append(ws, w)
			h := clone(live)
			for k := range h {
				h[k] &^= own[k]
			}
			helds = append(helds, h)
			want = append(want, changeFor(cs, own))
		}
		return ws, helds, want
	}

	ws, helds, want := correct()
	if c := checkPhase(ws, helds, owns, live, want); !c.ok() || c.Expected != 3+3+3 || c.Updates != 3 {
		t.Fatalf("correct phase: %+v, ok %v", c, c.ok())
	}
	if c := checkPhase(ws, helds, owns, live, want); func() bool { c.BadRoutes = 1; return c.ok() }() {
		t.Error("a phase with a member holding a route that is not the best passed")
	}
	if got := want[0]; got != 3 {
		t.Errorf("changeFor member 0 = %d, want 3 (5 is its own)", got)
	}

	cases := []struct {
		name  string
		spoil func(ws []*watch, helds [][]uint64, want []int)
		check func(c phaseCheck) bool
	}{
		{"missing prefix", func(_ []*watch, h [][]uint64, _ []int) { h[0][50/64] &^= 1 << (50 % 64) },
			func(c phaseCheck) bool { return c.WrongMembers == 1 && c.Missing == 1 }},
		{"extra prefix (not withdrawn)", func(_ []*watch, h [][]uint64, _ []int) { set(h[2], 100) },
			func(c phaseCheck) bool { return c.WrongMembers == 1 && c.Extra == 1 }},
		{"own prefix held", func(_ []*watch, h [][]uint64, _ []int) { set(h[1], 12) },
			func(c phaseCheck) bool { return c.WrongMembers == 1 && c.Extra == 1 }},
		{"prefix outside the change sent", func(ws []*watch, _ [][]uint64, _ []int) { ws[1].message(); ws[1].see(42, true) },
			func(c phaseCheck) bool { return c.Unexpected == 1 && c.BadUpdates == 1 && c.Reversed == 0 }},
		{"own prefix outside the change sent", func(ws []*watch, _ [][]uint64, _ []int) { ws[0].message(); ws[0].see(3, true) },
			func(c phaseCheck) bool { return c.Unexpected == 1 }},
		{"changed prefix announced in a withdraw phase", func(ws []*watch, _ [][]uint64, _ []int) { ws[2].see(100, true) },
			func(c phaseCheck) bool { return c.Unexpected == 1 && c.Reversed == 1 }},
		{"too few of the change sent", func(_ []*watch, _ [][]uint64, want []int) { want[2]++ },
			func(c phaseCheck) bool { return c.ShortMembers == 1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, helds, want := correct()
			tc.spoil(ws, helds, want)
			c := checkPhase(ws, helds, owns, live, want)
			if c.ok() {
				t.Fatalf("a wrong phase passed: %+v", c)
			}
			if !tc.check(c) {
				t.Errorf("reported %+v", c)
			}
		})
	}
}

func clone(s []uint64) []uint64 { return append([]uint64(nil), s...) }

// TestRTRCacheDiffs checks the benchmark's RTR cache against the project's RTR codec: a router that
// resets gets every VRP, a Serial Notify follows a change and a Serial Query gets exactly the change.
func TestRTRCacheDiffs(t *testing.T) {
	pl := testPlan(t)
	c, err := newRTRCache(netip.MustParseAddr("127.0.0.1"), pl.vrps)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	r := dialRTR(t, c.addr())
	defer r.close()
	got := r.reset(t)
	if len(got) != len(pl.vrps) {
		t.Fatalf("reset: %d VRPs, want %d", len(got), len(pl.vrps))
	}
	type res struct {
		at  time.Time
		err error
	}
	done := make(chan res, 1)
	go func() {
		at, err := c.change(pl.vrpOld, pl.vrpNew, 10*time.Second)
		done <- res{at, err}
	}()
	ann, wd := r.serial(t)
	rs := <-done
	if rs.err != nil || rs.at.IsZero() {
		t.Fatalf("change: %v", rs.err)
	}
	if len(ann) != len(pl.vrpNew) || len(wd) != len(pl.vrpOld) {
		t.Fatalf("serial: %d announced, %d withdrawn; want %d and %d", len(ann), len(wd), len(pl.vrpNew), len(pl.vrpOld))
	}
	for i, v := range wd {
		if v != pl.vrpOld[i] || ann[i] != pl.vrpNew[i] {
			t.Fatalf("serial record %d: withdrawn %v announced %v, want %v and %v", i, v, ann[i], pl.vrpOld[i], pl.vrpNew[i])
		}
	}
}

// TestReevalPlan checks the changes the mode makes: the IRR and VRP changes touch only single-homed
// prefixes (so that each removes whole prefixes), the VRP change is 1% of the VRPs, and the defaults
// change is exactly the IPv4 prefixes shorter than the new minimum.
func TestReevalPlan(t *testing.T) {
	pl := testPlan(t)
	w := pl.w
	if len(pl.irr) == 0 || len(pl.irr) > 1000 {
		t.Fatalf("irr change of %d prefixes", len(pl.irr))
	}
	for _, p := range pl.irr {
		if a := w.Announcers[p]; len(a) != 1 || int(a[0]) != pl.irrMember {
			t.Fatalf("irr prefix %v announced by %v, want only member %d", w.Prefixes[p], a, pl.irrMember)
		}
	}
	if want := len(pl.vrps) / 100; len(pl.vrpOld) != want || len(pl.vrpNew) != want || len(pl.vrpPfx) != want {
		t.Fatalf("vrp change: %d/%d/%d, want %d", len(pl.vrpOld), len(pl.vrpNew), len(pl.vrpPfx), want)
	}
	for i, p := range pl.vrpPfx {
		if len(w.Announcers[p]) != 1 || w.Prefixes[p] != pl.vrpOld[i].p || pl.vrpNew[i].asn == pl.vrpOld[i].asn {
			t.Fatalf("vrp change %d: %v → %v on %v", i, pl.vrpOld[i], pl.vrpNew[i], w.Prefixes[p])
		}
	}
	short := 0
	for _, pfx := range w.Prefixes {
		if pfx.Addr().Is4() && pfx.Bits() < pl.lenMin {
			short++
		}
	}
	if short != len(pl.short) || short == 0 {
		t.Fatalf("defaults change: %d prefixes, want %d", len(pl.short), short)
	}
}

func testPlan(t *testing.T) *reevalPlan {
	t.Helper()
	w, err := Generate(Spec{Name: "test", Members: 8, Routes: 4000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := newReevalPlan(w, 3)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// rtrRouter is the router side of an RTR session, just enough for TestRTRCacheDiffs.
type rtrRouter struct {
	c       net.Conn
	buf     []byte
	session uint16
	serialN uint32
}

func dialRTR(t *testing.T, addr string) *rtrRouter {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rtrRouter{c: c}
}

func (r *rtrRouter) close() { r.c.Close() }

func (r *rtrRouter) read(t *testing.T) rpki.PDU {
	t.Helper()
	raw, nb, err := rpki.ReadPDU(r.c, r.buf)
	r.buf = nb
	if err != nil {
		t.Fatal(err)
	}
	p, err := rpki.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// response reads a Cache Response up to its End of Data and returns the announced and withdrawn VRPs.
func (r *rtrRouter) response(t *testing.T) (ann, wd []vrp) {
	t.Helper()
	if p, ok := r.read(t).(*rpki.CacheResponse); !ok {
		t.Fatalf("got %T, want a Cache Response", p)
	} else {
		r.session = p.SessionID
	}
	for {
		switch p := r.read(t).(type) {
		case *rpki.PrefixPDU:
			v := vrp{p: p.Prefix, max: p.MaxLength, asn: p.ASN}
			if p.Announce {
				ann = append(ann, v)
			} else {
				wd = append(wd, v)
			}
		case *rpki.EndOfData:
			if p.SessionID != r.session || p.Refresh == 0 {
				t.Fatalf("End of Data %+v", p)
			}
			r.serialN = p.Serial
			return ann, wd
		default:
			t.Fatalf("got %T in a response", p)
		}
	}
}

func (r *rtrRouter) reset(t *testing.T) []vrp {
	t.Helper()
	r.c.Write((&rpki.ResetQuery{Version: 1}).AppendTo(nil))
	ann, wd := r.response(t)
	if len(wd) > 0 {
		t.Fatalf("reset response withdraws %d VRPs", len(wd))
	}
	return ann
}

func (r *rtrRouter) serial(t *testing.T) (ann, wd []vrp) {
	t.Helper()
	n, ok := r.read(t).(*rpki.SerialNotify)
	if !ok || n.Serial != r.serialN+1 {
		t.Fatalf("got %+v, want a Serial Notify for serial %d", n, r.serialN+1)
	}
	r.c.Write((&rpki.SerialQuery{Version: 1, SessionID: r.session, Serial: r.serialN}).AppendTo(nil))
	return r.response(t)
}

// TestReevalRows: repetitions of a phase are one row: its median and range, the unexpected
// prefixes summed, and the targets judged on the median, so one slow repetition of three does not
// decide and one wrong result does.
func TestReevalRows(t *testing.T) {
	ph := func(name string, rep int, secs float64, unexpected int64) ReevalPhase {
		p := ReevalPhase{Name: name, Via: "rtr", Rep: rep, Seconds: secs, FirstSeconds: secs / 2, Changed: 10}
		p.Unexpected = unexpected
		return p
	}
	r := ReevalResult{Phases: []ReevalPhase{
		ph("vrp-withdraw", 0, 0.5, 0), ph("vrp-restore", 0, 0.8, 0),
		ph("vrp-withdraw", 1, 1.4, 0), ph("vrp-restore", 1, 0.7, 0),
		ph("vrp-withdraw", 2, 0.6, 0), ph("vrp-restore", 2, 0.9, 0),
	}}
	rows := reevalRows(r.Phases)
	if len(rows) != 2 || rows[0].Name != "vrp-withdraw" || rows[0].n != 3 || median(rows[0].secs) != 0.6 {
		t.Fatalf("rows: %+v", rows)
	}
	if got := reevalTargets(&r); !strings.Contains(got, ": met") {
		t.Errorf("one slow repetition of three decided the target: %s", got)
	}
	if md := renderReeval(&reevalDoc{Results: []ReevalResult{r}}); !strings.Contains(md, "| vrp-withdraw | rtr | 10 | 0.600 (0.500–1.400) |") {
		t.Errorf("the row does not show the median and range:\n%s", md)
	}
	r.Phases[3].Unexpected = 2
	if got := reevalTargets(&r); !strings.Contains(got, "vrp-restore sent or left a wrong result") {
		t.Errorf("a wrong result in one repetition passed: %s", got)
	}
	if rows := reevalRows(r.Phases); rows[1].Unexpected != 2 {
		t.Errorf("unexpected prefixes not summed: %d", rows[1].Unexpected)
	}
	r.Phases[4].Seconds = -1
	if got := reevalTargets(&r); !strings.Contains(got, "vrp-withdraw did not complete") {
		t.Errorf("a failed repetition passed: %s", got)
	}
}
