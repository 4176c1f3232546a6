package main

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ixrs/ixrs/rpki"
)

// rtrCache is a small RPKI-to-Router cache (RFC 8210, version 1, and RFC 6810 version 0 when the
// router asks for it) for the re-evaluation benchmark: it serves a VRP set that the benchmark changes,
// announces each change with a Serial Notify and reports the moment it writes the End of Data that
// completes a router's Serial Query, which is where issue 10's clock starts. It keeps every diff since
// its first serial, so any router that is behind gets exactly the changes it missed.
type rtrCache struct {
	ln net.Listener

	mu     sync.Mutex
	vrps   map[vrp]bool
	serial uint32
	diffs  [][]rpki.PrefixPDU // diffs[s] takes serial s to s+1
	conns  map[*rtrConn]bool
	eods   chan rtrEOD // End of Data sent, with the serial it completes
}

type vrp struct {
	p   netip.Prefix
	max uint8
	asn uint32
}

type rtrConn struct {
	c   net.Conn
	wmu sync.Mutex
	bw  *bufio.Writer
	ver uint8
}

type rtrEOD struct {
	serial uint32
	at     time.Time
}

const rtrSession = 0x1e5b

func newRTRCache(addr netip.Addr, vrps []vrp) (*rtrCache, error) {
	ln, err := netListen(addr)
	if err != nil {
		return nil, err
	}
	c := &rtrCache{ln: ln, vrps: map[vrp]bool{}, conns: map[*rtrConn]bool{}, eods: make(chan rtrEOD, 64)}
	for _, v := range vrps {
		c.vrps[v] = true
	}
	go c.accept()
	return c, nil
}

func (c *rtrCache) addr() string { return c.ln.Addr().String() }

func (c *rtrCache) close() {
	c.ln.Close()
	c.mu.Lock()
	for rc := range c.conns {
		rc.c.Close()
	}
	c.mu.Unlock()
}

func (c *rtrCache) accept() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		rc := &rtrConn{c: conn, bw: bufio.NewWriterSize(conn, 1<<16), ver: 1}
		c.mu.Lock()
		c.conns[rc] = true
		c.mu.Unlock()
		go c.serve(rc)
	}
}

func (c *rtrCache) serve(rc *rtrConn) {
	defer func() {
		rc.c.Close()
		c.mu.Lock()
		delete(c.conns, rc)
		c.mu.Unlock()
	}()
	var buf []byte
	for {
		raw, nb, err := rpki.ReadPDU(rc.c, buf)
		buf = nb
		if err != nil {
			return
		}
		pdu, err := rpki.Decode(raw)
		if err != nil {
			rc.send(func(b []byte) []byte {
				return (&rpki.ErrorReport{Version: rc.ver, Code: rpki.CodeCorruptData, PDU: raw}).AppendTo(b)
			})
			return
		}
		v := pdu.ProtocolVersion()
		if v > 1 {
			// A router offering version 2 goes down to ours when told (RFC 8210 §7).
			rc.send(func(b []byte) []byte {
				return (&rpki.ErrorReport{Version: 1, Code: rpki.CodeUnsupportedVersion, PDU: raw}).AppendTo(b)
			})
			return
		}
		rc.wmu.Lock()
		rc.ver = v
		rc.wmu.Unlock()
		switch q := pdu.(type) {
		case *rpki.ResetQuery:
			c.mu.Lock()
			all := make([]rpki.PrefixPDU, 0, len(c.vrps))
			for v := range c.vrps {
				all = append(all, rpki.PrefixPDU{Announce: true, Prefix: v.p, MaxLength: v.max, ASN: v.asn})
			}
			serial := c.serial
			c.mu.Unlock()
			c.respond(rc, all, serial)
		case *rpki.SerialQuery:
			c.mu.Lock()
			serial := c.serial
			var ds []rpki.PrefixPDU
			ok := q.SessionID == rtrSession && q.Serial <= serial
			if ok {
				for _, d := range c.diffs[q.Serial:] {
					ds = append(ds, d...)
				}
			}
			c.mu.Unlock()
			if !ok {
				rc.send(func(b []byte) []byte { return (&rpki.CacheReset{Version: rc.ver}).AppendTo(b) })
				continue
			}
			c.respond(rc, ds, serial)
		case *rpki.ErrorReport:
			fmt.Printf("ixbench: RTR cache: error report from the router: %v\n", q)
			return
		}
	}
}

// respond sends a Cache Response with recs and, separately, the End of Data, whose moment it reports.
func (c *rtrCache) respond(rc *rtrConn, recs []rpki.PrefixPDU, serial uint32) {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	var b []byte
	b = (&rpki.CacheResponse{Version: rc.ver, SessionID: rtrSession}).AppendTo(b)
	for i := range recs {
		recs[i].Version = rc.ver
		b = recs[i].AppendTo(b)
		if len(b) >= 1<<16 {
			rc.bw.Write(b)
			b = b[:0]
		}
	}
	rc.bw.Write(b)
	if rc.bw.Flush() != nil {
		return
	}
	eod := &rpki.EndOfData{Version: rc.ver, SessionID: rtrSession, Serial: serial}
	if rc.ver >= 1 {
		eod.Refresh, eod.Retry, eod.Expire = 3600, 600, 7200
	}
	at := time.Now()
	rc.bw.Write(eod.AppendTo(nil))
	if rc.bw.Flush() != nil {
		return
	}
	select {
	case c.eods <- rtrEOD{serial: serial, at: at}:
	default: // nobody waiting (the benchmark only waits for the End of Data of its own change)
	}
}

// send writes one PDU built by f, which runs with rc.ver stable.
func (rc *rtrConn) send(f func([]byte) []byte) {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	rc.bw.Write(f(nil))
	rc.bw.Flush()
}

// change withdraws del and announces add as one new serial, notifies every router and returns the
// moment the End of Data completing that serial was written to the first router that asked for it.
func (c *rtrCache) change(del, add []vrp, timeout time.Duration) (time.Time, error) {
	c.mu.Lock()
	var d []rpki.PrefixPDU
	for _, v := range del {
		if c.vrps[v] {
			delete(c.vrps, v)
			d = append(d, rpki.PrefixPDU{Prefix: v.p, MaxLength: v.max, ASN: v.asn})
		}
	}
	for _, v := range add {
		if !c.vrps[v] {
			c.vrps[v] = true
			d = append(d, rpki.PrefixPDU{Announce: true, Prefix: v.p, MaxLength: v.max, ASN: v.asn})
		}
	}
	c.diffs = append(c.diffs, d)
	c.serial++
	serial := c.serial
	conns := make([]*rtrConn, 0, len(c.conns))
	for rc := range c.conns {
		conns = append(conns, rc)
	}
	c.mu.Unlock()
	if len(conns) == 0 {
		return time.Time{}, fmt.Errorf("RTR cache: no router connected")
	}
	for _, rc := range conns {
		rc.send(func(b []byte) []byte {
			return (&rpki.SerialNotify{Version: rc.ver, SessionID: rtrSession, Serial: serial}).AppendTo(b)
		})
	}
	return c.waitEOD(serial, timeout)
}

// waitEOD waits for an End of Data at serial or later.
func (c *rtrCache) waitEOD(serial uint32, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		select {
		case e := <-c.eods:
			if e.serial >= serial {
				return e.at, nil
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("RTR cache: no query for serial %d within %s", serial, timeout)
		}
	}
}

// sortedVRPs returns vs in a stable order (for files and reproducible choices): rpki-client's,
// by address family, address, length, max length and AS.
func sortedVRPs(vs []vrp) []vrp {
	slices.SortFunc(vs, func(a, b vrp) int {
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		if c := a.p.Bits() - b.p.Bits(); c != 0 {
			return c
		}
		if c := int(a.max) - int(b.max); c != 0 {
			return c
		}
		return int(a.asn) - int(b.asn)
	})
	return vs
}
