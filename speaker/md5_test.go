package speaker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TCP-MD5 (RFC 2385) needs a kernel built with CONFIG_TCP_MD5SIG. Where it is missing, the tests that need
// it skip, saying so, also under CI=true: unlike a missing package, a kernel option is nothing the test
// run can install (docs/speaker.md lists this exception). What does not need the kernel is tested
// everywhere: the option's bytes and which keys the listening sockets get.

var md5Once sync.Once

// requireKernelMD5 skips the test unless the kernel supports TCP-MD5; the first test to ask logs it.
func requireKernelMD5(t *testing.T) {
	t.Helper()
	if KernelTCPMD5() {
		return
	}
	md5Once.Do(func() {
		t.Log("this kernel lacks TCP-MD5 signatures (CONFIG_TCP_MD5SIG): every test that needs them is skipped, not passed")
	})
	ci := ""
	if os.Getenv("CI") == "true" {
		ci = " (also under CI=true: a kernel option is not a component CI can install)"
	}
	t.Skip("SKIPPED, NOT TESTED: the kernel lacks CONFIG_TCP_MD5SIG" + ci)
}

// tcpMD5SigBytes returns the struct tcp_md5sig the kernel reads (include/uapi/linux/tcp.h): a 128-byte
// sockaddr_storage, flags, prefix length, key length (host order), ifindex, 80 key bytes.
func tcpMD5SigBytes(sig *unix.TCPMD5Sig) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(sig)), unsafe.Sizeof(*sig))
}

// wantMD5Sig builds the kernel's struct tcp_md5sig by hand, from the header's layout.
func wantMD5Sig(addr netip.Addr, key string) []byte {
	b := make([]byte, 216)
	if addr.Is4() {
		binary.NativeEndian.PutUint16(b[0:], unix.AF_INET) // sockaddr_in: family, port 0, address
		a := addr.As4()
		copy(b[4:], a[:])
	} else {
		binary.NativeEndian.PutUint16(b[0:], unix.AF_INET6) // sockaddr_in6: family, port 0, flowinfo 0, address
		a := addr.As16()
		copy(b[8:], a[:])
	}
	binary.NativeEndian.PutUint16(b[130:], uint16(len(key)))
	copy(b[136:], key)
	return b
}

func TestMD5SigEncoding(t *testing.T) {
	if n := unsafe.Sizeof(unix.TCPMD5Sig{}); n != 216 {
		t.Fatalf("struct tcp_md5sig is %d bytes, the kernel's is 216", n)
	}
	for _, tc := range []struct {
		addr, key string
	}{
		{"192.0.2.1", "s3cret"},
		{"2001:db8::1", "s3cret"},
		{"::ffff:192.0.2.1", "k"}, // an IPv4 neighbor on an IPv6 listener
		{"192.0.2.1", ""},         // removes the key
		{"2001:db8::1", strings.Repeat("x", tcpMD5MaxKeyLen)},
	} {
		t.Run(tc.addr+"/"+strconv.Itoa(len(tc.key)), func(t *testing.T) {
			sig, err := md5Sig(adr(tc.addr), tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tcpMD5SigBytes(sig), wantMD5Sig(adr(tc.addr), tc.key); !slices.Equal(got, want) {
				t.Errorf("struct tcp_md5sig\n got %x\nwant %x", got, want)
			}
		})
	}
	if _, err := md5Sig(adr("192.0.2.1"), strings.Repeat("x", tcpMD5MaxKeyLen+1)); err == nil {
		t.Error("an 81-byte key was accepted; the kernel allows 80")
	}
	sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
	if _, err := sp.AddPeer(PeerConfig{PeerAddr: adr("192.0.2.1"), PeerAS: 65001, MD5Password: strings.Repeat("x", 81)}, NopHandler{}); err == nil {
		t.Error("AddPeer accepted an 81-byte MD5 password")
	}
}

// md5Call is one TCP_MD5SIG setsockopt a test saw.
type md5Call struct {
	fd   int
	addr netip.Addr
	key  string
}

func (c md5Call) String() string { return fmt.Sprintf("fd %d %s %q", c.fd, c.addr, c.key) }

// recordMD5 replaces sp's TCP_MD5SIG system call with a recorder, before sp listens or has peers.
func recordMD5(sp *Speaker) func() []md5Call {
	var mu sync.Mutex
	var calls []md5Call
	sp.setMD5Sig = func(fd int, sig *unix.TCPMD5Sig) error {
		var a netip.Addr
		switch sa := (*unix.RawSockaddrAny)(unsafe.Pointer(&sig.Addr)); sa.Addr.Family {
		case unix.AF_INET:
			a = netip.AddrFrom4((*unix.RawSockaddrInet4)(unsafe.Pointer(sa)).Addr)
		case unix.AF_INET6:
			a = netip.AddrFrom16((*unix.RawSockaddrInet6)(unsafe.Pointer(sa)).Addr)
		}
		mu.Lock()
		calls = append(calls, md5Call{fd, a, string(sig.Key[:sig.Keylen])})
		mu.Unlock()
		return nil
	}
	return func() []md5Call {
		mu.Lock()
		defer mu.Unlock()
		out := calls
		calls = nil
		return out
	}
}

func listenerFD(t *testing.T, sp *Speaker, i int) int {
	t.Helper()
	sp.mu.Lock()
	ln := sp.listeners[i]
	sp.mu.Unlock()
	fd := -1
	if err := control(ln, func(f int) error { fd = f; return nil }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestMD5ListenerKeys: each neighbor with a password has its key, and only its key, on every listening
// socket (IPv4 neighbors as mapped addresses on IPv6 sockets, IPv6 neighbors not on IPv4 sockets);
// removing the neighbor removes it; a listener opened later gets the keys of the neighbors already there.
func TestMD5ListenerKeys(t *testing.T) {
	sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
	calls := recordMD5(sp)
	if _, err := sp.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Listen("[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	v4, v6 := listenerFD(t, sp, 0), listenerFD(t, sp, 1)
	check := func(what string, want ...md5Call) {
		t.Helper()
		got := calls()
		sortCalls := func(cs []md5Call) {
			slices.SortFunc(cs, func(a, b md5Call) int { return strings.Compare(a.String(), b.String()) })
		}
		sortCalls(got)
		sortCalls(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: setsockopt TCP_MD5SIG calls\n got %v\nwant %v", what, got, want)
		}
	}
	a, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.61"), PeerAS: 65061, Passive: true, MD5Password: "key-a"}, NopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	check("IPv4 neighbor added", md5Call{v4, adr("127.0.0.61"), "key-a"}, md5Call{v6, adr("::ffff:127.0.0.61"), "key-a"})
	b, err := sp.AddPeer(PeerConfig{PeerAddr: adr("::1"), PeerAS: 65062, Passive: true, MD5Password: "key-b"}, NopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	check("IPv6 neighbor added", md5Call{v6, adr("::1"), "key-b"})
	if _, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.63"), PeerAS: 65063, Passive: true}, NopHandler{}); err != nil {
		t.Fatal(err)
	}
	check("neighbor without a password added")

	if _, err := sp.Listen("127.0.0.2:0"); err != nil {
		t.Fatal(err)
	}
	check("listener opened", md5Call{listenerFD(t, sp, 2), adr("127.0.0.61"), "key-a"})

	sp.RemovePeer(a)
	check("IPv4 neighbor removed", md5Call{v4, adr("127.0.0.61"), ""}, md5Call{v6, adr("::ffff:127.0.0.61"), ""},
		md5Call{listenerFD(t, sp, 2), adr("127.0.0.61"), ""})
	sp.RemovePeer(b)
	check("IPv6 neighbor removed", md5Call{v6, adr("::1"), ""})
}

// TestMD5AddPeerFailureLeavesNoKey: when a key cannot be set on one listener, AddPeer fails and the
// listeners that took it are cleared again.
func TestMD5AddPeerFailureLeavesNoKey(t *testing.T) {
	sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
	calls := recordMD5(sp)
	for _, a := range []string{"127.0.0.1:0", "127.0.0.2:0"} {
		if _, err := sp.Listen(a); err != nil {
			t.Fatal(err)
		}
	}
	first, second := listenerFD(t, sp, 0), listenerFD(t, sp, 1)
	rec := sp.setMD5Sig
	sp.setMD5Sig = func(fd int, sig *unix.TCPMD5Sig) error {
		rec(fd, sig)
		if fd == second {
			return unix.ENOPROTOOPT
		}
		return nil
	}
	_, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.64"), PeerAS: 65064, Passive: true, MD5Password: "k"}, NopHandler{})
	if !errors.Is(err, ErrMD5Unsupported) {
		t.Fatalf("AddPeer: %v, want ErrMD5Unsupported", err)
	}
	got := calls()
	want := []md5Call{{first, adr("127.0.0.64"), "k"}, {second, adr("127.0.0.64"), "k"}, {first, adr("127.0.0.64"), ""}}
	if !slices.Equal(got, want) {
		t.Errorf("setsockopt calls\n got %v\nwant %v", got, want)
	}
	if sp.Peer(adr("127.0.0.64")) != nil {
		t.Error("the peer was added")
	}
}

// TestMD5DialSetsKey: an outgoing connection has the neighbor's key before its SYN.
func TestMD5DialSetsKey(t *testing.T) {
	sp, _ := newTestSpeaker(t, 65000, "10.0.0.1", "")
	calls := recordMD5(sp)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := PeerConfig{PeerAddr: adr("127.0.0.1"), PeerPort: uint16(ln.Addr().(*net.TCPAddr).Port), MD5Password: "dial-key"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := sp.dialPeer(ctx, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got := calls(); len(got) != 1 || got[0].addr != adr("127.0.0.1") || got[0].key != "dial-key" {
		t.Errorf("setsockopt calls %v, want one with the neighbor's key", got)
	}
}

// dialMD5 connects from 127.0.0.x to port with key (none if empty), bounded by a short timeout: a
// listener that wants another key drops the SYN, so a refused connection shows as a timeout.
func dialMD5(from string, port int, key string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 3 * time.Second}
	if key != "" {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = setMD5(sysSetMD5Sig, int(fd), adr("127.0.0.1"), key) })
			if err != nil {
				return err
			}
			return serr
		}
	}
	return d.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// TestMD5KernelRefusesWrongKey (kernel with TCP-MD5 only): the listener accepts a neighbor's connection
// signed with its key, and not one signed with another key or unsigned; once the neighbor is removed its
// key is gone and an unsigned connection gets through (to be refused by the speaker, not the kernel).
func TestMD5KernelRefusesWrongKey(t *testing.T) {
	requireKernelMD5(t)
	sp, port := newTestSpeaker(t, 65000, "10.0.0.1", "127.0.0.1")
	p, err := sp.AddPeer(PeerConfig{PeerAddr: adr("127.0.0.65"), PeerAS: 65065, Passive: true, MD5Password: "right"}, NopHandler{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialMD5("127.0.0.65", int(port), "right")
	if err != nil {
		t.Fatalf("signed with the right key: %v", err)
	}
	c.Close()
	for _, key := range []string{"wrong", ""} {
		if c, err := dialMD5("127.0.0.65", int(port), key); err == nil {
			c.Close()
			t.Errorf("connection with key %q accepted", key)
		}
	}
	sp.RemovePeer(p)
	c, err = dialMD5("127.0.0.65", int(port), "")
	if err != nil {
		t.Fatalf("unsigned connection after the neighbor was removed: %v", err)
	}
	c.Close()
}
