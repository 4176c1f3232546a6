package speaker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxUnknownPending bounds the connections from unknown addresses waiting for Config.Unknown.
const maxUnknownPending = 64

// Config configures a Speaker.
type Config struct {
	ASN      uint32     // the local AS; a PeerConfig may override it
	RouterID netip.Addr // the BGP Identifier; a PeerConfig may override it
	Logger   *slog.Logger
	// Unknown, when set, is asked about each connection from an address no peer is configured for,
	// on a goroutine of its own (it may wait). It returns the peer to hand the connection to —
	// usually one it has just added with AddPeer and started — or nil to refuse the connection,
	// which then counts in Refused like any other. This is how a route server accepts members
	// from a range of addresses (dynamic neighbors).
	Unknown func(remote, local netip.AddrPort) *Peer
}

// Speaker is a BGP process: it listens for connections, hands each to the Peer configured for the remote
// address, and refuses the rest.
type Speaker struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	peers     map[netip.Addr]*Peer
	listeners []*net.TCPListener
	closed    bool
	wg        sync.WaitGroup

	refused atomic.Uint64
	// unknown bounds the connections waiting for Config.Unknown: a burst from unknown addresses is
	// refused rather than piling up goroutines.
	unknown chan struct{}

	// setMD5Sig sets the TCP_MD5SIG socket option (sysSetMD5Sig; tests record the keys instead).
	setMD5Sig func(fd int, sig *unix.TCPMD5Sig) error
}

// New returns a Speaker. It does not listen until Listen is called: a speaker that only connects out (a
// monitoring tool, a test client) never needs to.
func New(cfg Config) (*Speaker, error) {
	if cfg.ASN == 0 {
		return nil, errors.New("speaker: ASN is required")
	}
	if !cfg.RouterID.Is4() || cfg.RouterID.IsUnspecified() {
		return nil, fmt.Errorf("speaker: router ID %q is not a usable IPv4 address", cfg.RouterID)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Speaker{cfg: cfg, log: log, peers: make(map[netip.Addr]*Peer), setMD5Sig: sysSetMD5Sig,
		unknown: make(chan struct{}, maxUnknownPending)}, nil
}

// Refused returns how many connections were refused because no peer is configured for their address.
func (s *Speaker) Refused() uint64 { return s.refused.Load() }

// Listen starts accepting connections on addr ("host:port"). It may be called several times.
func (s *Speaker) Listen(addr string) (net.Addr, error) {
	// Listening sockets send with TTL 255, so that the SYN-ACK (and everything on accepted connections)
	// gets through to a GTSM neighbor (RFC 5082), which drops anything less. Directly connected neighbors
	// that do not use GTSM are not affected.
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = setListenerOptions(int(fd), strings.HasSuffix(network, "4")) })
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	tl := ln.(*net.TCPListener)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		tl.Close()
		return nil, errors.New("speaker closed")
	}
	s.listeners = append(s.listeners, tl)
	// Neighbors with a TCP-MD5 password need their key on every listening socket to get past the SYN.
	for _, p := range s.peers {
		if p.cfg.MD5Password != "" {
			if err := s.setListenerMD5(tl, p.cfg.PeerAddr, p.cfg.MD5Password); err != nil {
				s.mu.Unlock()
				tl.Close()
				return nil, fmt.Errorf("listen %s: md5 for %s: %w", addr, p.cfg.PeerAddr, err)
			}
		}
	}
	s.mu.Unlock()
	s.log.Info("listening", "address", tl.Addr().String())
	s.wg.Add(1)
	go s.acceptLoop(tl)
	return tl.Addr(), nil
}

func (s *Speaker) acceptLoop(ln *net.TCPListener) {
	defer s.wg.Done()
	for {
		conn, err := ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("accept", "err", err.Error())
			time.Sleep(50 * time.Millisecond) // e.g. out of file descriptors: do not spin
			continue
		}
		s.accept(conn)
	}
}

func (s *Speaker) accept(conn *net.TCPConn) {
	remote := conn.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
	s.mu.Lock()
	p := s.peers[remote]
	s.mu.Unlock()
	if p == nil && s.cfg.Unknown != nil {
		select {
		case s.unknown <- struct{}{}:
		default:
			s.refuse(conn)
			return
		}
		// Asked on a goroutine of its own: the accept loop serves every neighbor and must not wait.
		go func() {
			defer func() { <-s.unknown }()
			ra := conn.RemoteAddr().(*net.TCPAddr).AddrPort()
			la := conn.LocalAddr().(*net.TCPAddr).AddrPort()
			ra = netip.AddrPortFrom(ra.Addr().Unmap(), ra.Port())
			la = netip.AddrPortFrom(la.Addr().Unmap(), la.Port())
			p := s.cfg.Unknown(ra, la)
			if p == nil || p.cfg.PeerAddr != remote {
				s.refuse(conn)
				return
			}
			s.handOver(p, conn, remote)
		}()
		return
	}
	if p == nil {
		s.refuse(conn)
		return
	}
	s.handOver(p, conn, remote)
}

// refuse closes a connection from an address that is not a neighbor, and counts it.
func (s *Speaker) refuse(conn *net.TCPConn) {
	n := s.refused.Add(1)
	s.log.Warn("refused connection from an address that is not a configured neighbor",
		"remote", conn.RemoteAddr().String(), "local", conn.LocalAddr().String(), "refused_total", n)
	conn.Close()
}

// handOver gives an accepted connection to its peer.
func (s *Speaker) handOver(p *Peer, conn *net.TCPConn, remote netip.Addr) {
	if p.cfg.TTLSecurity {
		// RFC 5082: only a directly connected neighbor's packets arrive with TTL 255.
		if ttl, err := synTTL(conn); err != nil || ttl != 255 {
			n := s.refused.Add(1)
			p.log.Warn("refused connection: GTSM requires TTL 255", "syn_ttl", ttl, "err", err, "refused_total", n)
			conn.Close()
			return
		}
		if err := setGTSM(conn, remote.Is4()); err != nil {
			p.log.Warn("GTSM on accepted connection", "err", err.Error())
			conn.Close()
			return
		}
	}
	conn.SetNoDelay(true)
	// Handed over from its own goroutine: a peer whose goroutine is busy must not hold up the accept
	// loop, which serves every neighbor.
	go func() {
		if !p.post(event{kind: evIncoming, conn: conn}) {
			conn.Close()
		}
	}()
}

// AddPeer configures a neighbor and starts its goroutine. The peer stays Idle until Start.
func (s *Speaker) AddPeer(cfg PeerConfig, h Handler) (*Peer, error) {
	if !cfg.PeerAddr.IsValid() {
		return nil, errors.New("speaker: peer address is required")
	}
	if cfg.PeerAS == 0 && cfg.AcceptAS == nil {
		return nil, fmt.Errorf("speaker: peer %s: peer AS (or AcceptAS) is required", cfg.PeerAddr)
	}
	if h == nil {
		return nil, fmt.Errorf("speaker: peer %s: handler is required", cfg.PeerAddr)
	}
	if cfg.HoldTime > 0 && cfg.HoldTime < 3*time.Second {
		return nil, fmt.Errorf("speaker: peer %s: hold time %s: must be 0 or at least 3s", cfg.PeerAddr, cfg.HoldTime)
	}
	if len(cfg.MD5Password) > tcpMD5MaxKeyLen {
		return nil, fmt.Errorf("speaker: peer %s: MD5 password longer than %d bytes", cfg.PeerAddr, tcpMD5MaxKeyLen)
	}
	cfg.PeerAddr = cfg.PeerAddr.Unmap()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("speaker closed")
	}
	if _, dup := s.peers[cfg.PeerAddr]; dup {
		return nil, fmt.Errorf("speaker: peer %s already configured", cfg.PeerAddr)
	}
	if cfg.MD5Password != "" {
		for i, ln := range s.listeners {
			if err := s.setListenerMD5(ln, cfg.PeerAddr, cfg.MD5Password); err != nil {
				for _, done := range s.listeners[:i] { // the peer is not added: nor is its key
					s.setListenerMD5(done, cfg.PeerAddr, "")
				}
				return nil, fmt.Errorf("speaker: peer %s: md5 on listener: %w", cfg.PeerAddr, err)
			}
		}
	}
	p := newPeer(s, cfg, h)
	s.peers[cfg.PeerAddr] = p
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		p.run()
	}()
	return p, nil
}

// Peer returns the peer configured for addr, or nil.
func (s *Speaker) Peer(addr netip.Addr) *Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peers[addr.Unmap()]
}

// Peers returns every configured peer.
func (s *Speaker) Peers() []*Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Peer, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, p)
	}
	return out
}

// RemovePeer closes the peer's session with Cease/Peer De-configured and waits for its goroutine to end.
func (s *Speaker) RemovePeer(p *Peer) {
	s.mu.Lock()
	if s.peers[p.cfg.PeerAddr] == p {
		delete(s.peers, p.cfg.PeerAddr)
		if p.cfg.MD5Password != "" {
			for _, ln := range s.listeners {
				s.setListenerMD5(ln, p.cfg.PeerAddr, "")
			}
		}
	}
	s.mu.Unlock()
	p.closeOnce.Do(func() { close(p.quit) })
	<-p.done
}

// Close stops listening and removes every peer (Cease/Peer De-configured, or what Stop already sent).
func (s *Speaker) Close() {
	s.mu.Lock()
	s.closed = true
	lns := s.listeners
	s.listeners = nil
	peers := make([]*Peer, 0, len(s.peers))
	for _, p := range s.peers {
		peers = append(peers, p)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, p := range peers {
		s.RemovePeer(p)
	}
	s.wg.Wait()
}

// dialPeer opens a TCP connection to the neighbor with its socket options in place before the SYN.
func (s *Speaker) dialPeer(ctx context.Context, cfg *PeerConfig) (net.Conn, error) {
	d := net.Dialer{}
	if cfg.LocalAddr.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: cfg.LocalAddr.AsSlice()}
	}
	v4 := cfg.PeerAddr.Is4()
	d.Control = func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if cfg.MD5Password != "" {
				if serr = setMD5(s.setMD5Sig, int(fd), cfg.PeerAddr, cfg.MD5Password); serr != nil {
					return
				}
			}
			if cfg.TTLSecurity {
				serr = setGTSMFD(int(fd), v4)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(cfg.PeerAddr.String(), strconv.Itoa(int(cfg.PeerPort))))
	if err != nil {
		return nil, err
	}
	conn.(*net.TCPConn).SetNoDelay(true)
	return conn, nil
}
