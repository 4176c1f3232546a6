// Package openbgpd holds what running OpenBGPD's bgpd outside its systemd unit needs, for the
// interop tests (internal/peers) and the benchmark (cmd/ixbench) alike.
package openbgpd

import (
	"fmt"
	"os"
	"os/user"
)

// ChrootDir creates the directory bgpd's engines chroot into: the
// home of the _openbgpd user, /run/openbgpd, which only the systemd unit
// (RuntimeDirectory) creates and which is gone after a reboot. Without it the
// engines die at once with "chroot: No such file or directory".
func ChrootDir() error {
	dir := "/run/openbgpd"
	if u, err := user.Lookup("_openbgpd"); err == nil && u.HomeDir != "" && u.HomeDir != "/" {
		dir = u.HomeDir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("chroot directory: %w", err)
	}
	return nil
}
