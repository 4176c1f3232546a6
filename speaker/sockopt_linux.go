package speaker

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setMD5 installs (or, with an empty key, removes) the RFC 2385 TCP-MD5 key for addr on a socket.
func setMD5(fd int, addr netip.Addr, key string) error {
	sig := unix.TCPMD5Sig{Keylen: uint16(len(key))}
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
	err := unix.SetsockoptTCPMD5Sig(fd, unix.IPPROTO_TCP, unix.TCP_MD5SIG, &sig)
	if errors.Is(err, unix.ENOPROTOOPT) {
		return ErrMD5Unsupported
	}
	return err
}

// ErrMD5Unsupported is returned when the kernel was built without TCP-MD5 (CONFIG_TCP_MD5SIG).
var ErrMD5Unsupported = errors.New("TCP-MD5 signatures (RFC 2385) are not supported by this kernel (CONFIG_TCP_MD5SIG)")

func setListenerMD5(ln *net.TCPListener, addr netip.Addr, key string) error {
	return control(ln, func(fd int) error {
		// An IPv6 listener receives IPv4 neighbors as mapped addresses.
		if addr.Is4() && isIPv6Socket(fd) {
			return setMD5(fd, netip.AddrFrom16(addr.As16()), key)
		}
		if addr.Is6() && !isIPv6Socket(fd) {
			return nil
		}
		return setMD5(fd, addr, key)
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
