package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ixrs/ixrs/speaker"
)

// The floor is a route server without a RIB: every UPDATE a member sends is forwarded byte for byte to
// every other member. For a table of unique prefixes it is the fastest anything can give every member
// every route (no decoding, no decision, no encoding), so each daemon's convergence time divided by
// the floor's says how much of it is route-server work rather than moving bytes through TCP on this
// machine. It runs as a process of its own (ixbench -forward ADDR:PORT), measured like the daemons.
// It is not a route server: a multi-homed prefix reaches members once per announcer (a member keeps
// the last), and a withdrawal of one announcer withdraws the prefix, so only the initial convergence
// is run against it, and its check accepts any announcer's route (check.go).

// floorDaemon is the forwarder as a daemon under test.
func floorDaemon() *daemon {
	return &daemon{name: "floor", version: func() string { return "ixbench -forward (no RIB: every UPDATE forwarded byte for byte)" },
		floor: true,
		config: func(dir string, port int, w *Workload) ([]string, error) {
			self, err := os.Executable()
			if err != nil {
				return nil, err
			}
			return []string{self, "-forward", netip.AddrPortFrom(rsAddr, uint16(port)).String()}, nil
		}}
}

// fwdPeer is one member's established session to the forwarder.
type fwdPeer struct {
	conn net.Conn
	mu   sync.Mutex
	cond *sync.Cond
	q    [][]byte // batches of whole messages waiting to be written
	dead bool
}

type forwarder struct {
	mu    sync.Mutex
	peers map[*fwdPeer]bool
}

// forwardMain runs the forwarder on addr until SIGTERM or SIGINT.
func forwardMain(addr string) int {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ixbench -forward:", err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; l.Close() }()
	newForwarder().accept(l)
	return 0
}

func newForwarder() *forwarder { return &forwarder{peers: map[*fwdPeer]bool{}} }

// accept serves the members connecting to l until l is closed.
func (f *forwarder) accept(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go f.serve(c)
	}
}

func (f *forwarder) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 1<<20)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	typ, body, err := readMsg(br, nil)
	if err != nil || typ != speaker.MsgOpen {
		return
	}
	o, n := speaker.DecodeOpen(body)
	if n != nil {
		return
	}
	// The peer takes the others' UPDATEs from before its OPEN goes out: once the member has the
	// OPEN its session is up, and a member whose table another sends in the meantime must not miss
	// it (TestForwarderForwards lost routes to that race under load). What is queued meanwhile is
	// written by the writer, which starts after the OPEN.
	p := &fwdPeer{conn: c}
	p.cond = sync.NewCond(&p.mu)
	f.mu.Lock()
	f.peers[p] = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.peers, p)
		f.mu.Unlock()
		p.mu.Lock()
		p.dead = true
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	open := speaker.EncodeOpen(&speaker.Open{Version: 4, MyAS: RSASN, HoldTime: holdTime, RouterID: rsAddr,
		Caps: speaker.Capabilities{Families: []speaker.Family{speaker.IPv4Unicast, speaker.IPv6Unicast},
			FourOctetAS: true, AS4: RSASN, RouteRefresh: true}})
	if _, err := c.Write(append(open, speaker.EncodeKeepalive()...)); err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	go p.writer()
	if hold := min(o.HoldTime, holdTime); hold > 0 {
		go p.keepalives(time.Duration(hold) * time.Second / 3)
	}
	f.read(p, br)
}

// read forwards, after each read from the socket, the whole UPDATEs received as one batch: the bytes
// as received.
func (f *forwarder) read(p *fwdPeer, r io.Reader) {
	var others []*fwdPeer
	buf := make([]byte, 1<<20)
	have := 0
	for {
		n, err := r.Read(buf[have:])
		if err != nil {
			return
		}
		have += n
		// Keep the UPDATEs (a KEEPALIVE is for this hop only); a NOTIFICATION ends the session.
		var out []byte
		used := 0
		for have-used >= speaker.HeaderLen {
			l := int(binary.BigEndian.Uint16(buf[used+16:]))
			if l < speaker.HeaderLen || l > speaker.MaxMessageLen {
				return
			}
			if have-used < l {
				break
			}
			switch buf[used+18] {
			case speaker.MsgUpdate:
				out = append(out, buf[used:used+l]...)
			case speaker.MsgNotification:
				return
			}
			used += l
		}
		have = copy(buf, buf[used:have])
		if len(out) == 0 {
			continue
		}
		others = others[:0]
		f.mu.Lock()
		for q := range f.peers {
			if q != p {
				others = append(others, q)
			}
		}
		f.mu.Unlock()
		for _, q := range others {
			q.mu.Lock()
			q.q = append(q.q, out)
			q.cond.Signal()
			q.mu.Unlock()
		}
	}
}

func (p *fwdPeer) writer() {
	for {
		p.mu.Lock()
		for len(p.q) == 0 && !p.dead {
			p.cond.Wait()
		}
		if p.dead {
			p.mu.Unlock()
			return
		}
		bufs := net.Buffers(p.q)
		p.q = nil
		p.mu.Unlock()
		if _, err := bufs.WriteTo(p.conn); err != nil {
			p.conn.Close()
			return
		}
	}
}

func (p *fwdPeer) keepalives(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		p.mu.Lock()
		dead := p.dead
		if !dead {
			p.q = append(p.q, speaker.EncodeKeepalive())
			p.cond.Signal()
		}
		p.mu.Unlock()
		if dead {
			return
		}
	}
}
