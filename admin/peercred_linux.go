package admin

import (
	"fmt"
	"net"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"
)

// peerCred names the process at the other end of a unix socket: user name (or uid), uid, gid and
// pid from SO_PEERCRED.
func peerCred(c *net.UnixConn) string {
	raw, err := c.SyscallConn()
	if err != nil {
		return "unix"
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) { cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil || cerr != nil {
		return "unix"
	}
	name := strconv.Itoa(int(cred.Uid))
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	return fmt.Sprintf("unix:%s(uid=%d,gid=%d,pid=%d)", name, cred.Uid, cred.Gid, cred.Pid)
}
