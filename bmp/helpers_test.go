package bmp

import (
	"bufio"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	gobmp "github.com/osrg/gobgp/v3/pkg/packet/bmp"

	"github.com/ixrs/ixrs/internal/rstest"
)

// The tests run a RIB and its members with internal/rstest.
const testTimeout = rstest.Timeout

var quiet = rstest.Quiet

// collector is a BMP collector decoding with gobgp: every message it reads goes to msgs.
type collector struct {
	ln   net.Listener
	msgs chan *gobmp.BMPMessage
	mu   sync.Mutex
	conn net.Conn
	// stall: the next connection is accepted and never read.
	stall bool
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{ln: ln, msgs: make(chan *gobmp.BMPMessage, 1<<16)}
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		if c.conn != nil {
			c.conn.Close()
		}
		c.mu.Unlock()
	})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.conn = conn
			stall := c.stall
			c.stall = false
			c.mu.Unlock()
			if stall {
				conn.(*net.TCPConn).SetReadBuffer(4096)
				continue // keep it open, read nothing
			}
			c.read(t, conn)
		}
	}()
	return c
}

// stallNext makes the collector accept its next connection and never read from it.
func (c *collector) stallNext() {
	c.mu.Lock()
	c.stall = true
	c.mu.Unlock()
}

func (c *collector) read(t *testing.T, conn net.Conn) {
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	sc.Split(gobmp.SplitBMP)
	for sc.Scan() {
		m, err := gobmp.ParseBMPMessage(sc.Bytes())
		if err != nil {
			t.Errorf("collector: %v", err)
			return
		}
		c.msgs <- m
	}
}

// until reads messages until ok says done; it fails the test after testTimeout.
func (c *collector) until(t *testing.T, what string, ok func(*gobmp.BMPMessage) bool) []*gobmp.BMPMessage {
	t.Helper()
	var got []*gobmp.BMPMessage
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for {
		select {
		case m := <-c.msgs:
			got = append(got, m)
			if ok(m) {
				return got
			}
		case <-timer.C:
			t.Fatalf("collector: no %s within %v (%d messages read)", what, testTimeout, len(got))
		}
	}
}

func runExporter(t *testing.T, src Source, cfg Config) *Exporter {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	e := New(src, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}
