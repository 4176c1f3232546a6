package speaker

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tcpMD5MaxKeyLen is TCP_MD5SIG_MAXKEYLEN: the longest key struct tcp_md5sig holds.
const tcpMD5MaxKeyLen = 80

// ErrMD5Unsupported is returned when the kernel was built without TCP-MD5 (CONFIG_TCP_MD5SIG).
var ErrMD5Unsupported = errors.New("TCP-MD5 signatures (RFC 2385) are not supported by this kernel (CONFIG_TCP_MD5SIG)")

// md5Sig builds the struct tcp_md5sig that installs key for the neighbor addr, or removes the neighbor's
// key when key is empty (RFC 2385; Linux include/uapi/linux/tcp.h).
func md5Sig(addr netip.Addr, key string) (*unix.TCPMD5Sig, error) {
	if len(key) > tcpMD5MaxKeyLen {
		return nil, fmt.Errorf("TCP-MD5 key of %d bytes: the kernel takes at most %d", len(key), tcpMD5MaxKeyLen)
	}
	sig := &unix.TCPMD5Sig{Keylen: uint16(len(key))}
	copy(sig.Key[:], key)
	if addr.Is4() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sig.Addr))
		sa.Family = unix.AF_INET
		sa.Addr = addr.As4()
	} else {
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sig.Addr))
		sa.Family = unix.AF_INET6
		sa.Addr = addr.As16()
	}
	return sig, nil
}

// sysSetMD5Sig is the TCP_MD5SIG socket option; a Speaker calls it through its setMD5Sig field, which
// tests replace to see the keys without a kernel that supports them.
func sysSetMD5Sig(fd int, sig *unix.TCPMD5Sig) error {
	return unix.SetsockoptTCPMD5Sig(fd, unix.IPPROTO_TCP, unix.TCP_MD5SIG, sig)
}

// setMD5 installs (or, with an empty key, removes) the TCP-MD5 key for addr on a socket, through set.
func setMD5(set func(int, *unix.TCPMD5Sig) error, fd int, addr netip.Addr, key string) error {
	sig, err := md5Sig(addr, key)
	if err != nil {
		return err
	}
	err = set(fd, sig)
	if errors.Is(err, unix.ENOPROTOOPT) {
		return ErrMD5Unsupported
	}
	return err
}

// KernelTCPMD5 reports whether the kernel supports TCP-MD5 signatures (CONFIG_TCP_MD5SIG). It is probed
// once, by installing a key on a socket that is never connected.
func KernelTCPMD5() bool { return kernelTCPMD5() }

var kernelTCPMD5 = sync.OnceValue(func() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return setMD5(sysSetMD5Sig, fd, netip.AddrFrom4([4]byte{127, 0, 0, 1}), "probe") == nil
})

// setListenerMD5 installs (or removes) the key for the neighbor addr on a listening socket.
func (s *Speaker) setListenerMD5(ln *net.TCPListener, addr netip.Addr, key string) error {
	return control(ln, func(fd int) error {
		// An IPv6 listener receives IPv4 neighbors as mapped addresses.
		if addr.Is4() && isIPv6Socket(fd) {
			return setMD5(s.setMD5Sig, fd, netip.AddrFrom16(addr.As16()), key)
		}
		if addr.Is6() && !isIPv6Socket(fd) {
			return nil
		}
		return setMD5(s.setMD5Sig, fd, addr, key)
	})
}

func isIPv6Socket(fd int) bool {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	_, ok := sa.(*unix.SockaddrInet6)
	return ok
}

// setGTSMFD applies RFC 5082 to a socket: send with TTL (hop limit) 255, and drop anything that arrives
// with less, so only directly connected neighbors can reach the session.
func setGTSMFD(fd int, v4 bool) error {
	if v4 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, 255); err != nil {
			return err
		}
		return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MINTTL, 255)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255); err != nil {
		return err
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MINHOPCOUNT, 255)
}

// setListenerOptions prepares a listening socket: TTL 255 (see setMaxTTL) and TCP_SAVE_SYN, so that the
// SYN of every accepted connection can be checked for GTSM (synTTL).
func setListenerOptions(fd int, v4only bool) error {
	if err := setMaxTTL(fd, v4only); err != nil {
		return err
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_SAVE_SYN, 1)
}

// synTTL returns the TTL (IPv4) or hop limit (IPv6) the connection's SYN arrived with, from the headers
// the kernel saved (TCP_SAVE_SYN on the listener). It can be read once per connection.
//
// GTSM needs it because IP_MINTTL set on an accepted socket filters only what arrives afterwards: a
// neighbor's OPEN sent right behind the handshake may already be queued. Every packet of the connection
// comes from the host that completed the handshake, so checking the SYN decides for them all.
func synTTL(conn *net.TCPConn) (int, error) {
	var ttl int
	err := control(conn, func(fd int) error {
		// Not GetsockoptString: it stops at the first NUL byte, and headers are full of them.
		buf := make([]byte, 512)
		n := uint32(len(buf))
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_SAVED_SYN,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
		if errno != 0 {
			return errno
		}
		hdr := buf[:n]
		switch {
		case len(hdr) >= 20 && hdr[0]>>4 == 4:
			ttl = int(hdr[8])
		case len(hdr) >= 40 && hdr[0]>>4 == 6:
			ttl = int(hdr[7])
		default:
			return errors.New("no saved SYN")
		}
		return nil
	})
	return ttl, err
}

// setMaxTTL makes a socket send with TTL (hop limit) 255. On a dual-stack socket both are set.
func setMaxTTL(fd int, v4only bool) error {
	if v4only || !isIPv6Socket(fd) {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, 255)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255); err != nil {
		return err
	}
	// IPv4-mapped traffic on an IPv6 socket uses the IPv4 TTL.
	unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, 255)
	return nil
}

func setGTSM(conn *net.TCPConn, v4 bool) error {
	return control(conn, func(fd int) error { return setGTSMFD(fd, v4) })
}

func control(c syscall.Conn, f func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
