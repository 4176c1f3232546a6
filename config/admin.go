package config

import (
	"os"
	"strconv"
)

// Admin is the [admin] table: the control socket that rsctl talks to (docs/admin.md). It is never
// served on the looking glass's listener.
type Admin struct {
	// Socket is the unix socket's path; "" for none.
	Socket string `toml:"socket"`
	// SocketMode is the socket file's permission bits, in octal ("0600": owner only).
	SocketMode string `toml:"socket_mode"`
	// SocketGroup is the group the socket file is given (name or number); "" leaves it.
	SocketGroup string `toml:"socket_group"`
	// Listen is an optional TCP listener as host:port; every request on it must carry
	// "Authorization: Bearer TOKEN" with the token of TokenFile.
	Listen string `toml:"listen"`
	// TokenFile holds the bearer token for Listen (surrounding white space ignored); required
	// with Listen.
	TokenFile string `toml:"token_file"`
}

// DefaultSocketMode is the socket's mode when socket_mode is not set.
const DefaultSocketMode = 0o600

// Mode returns the socket's permission bits (DefaultSocketMode when unset).
func (a *Admin) Mode() os.FileMode {
	if a.SocketMode == "" {
		return DefaultSocketMode
	}
	m, err := strconv.ParseUint(a.SocketMode, 8, 32)
	if err != nil {
		return DefaultSocketMode // refused by validation
	}
	return os.FileMode(m)
}

func (c *Config) validateAdmin(r *reporter, sc scope) {
	a := &c.Admin
	if a.SocketMode != "" {
		if m, err := strconv.ParseUint(a.SocketMode, 8, 32); err != nil || m > 0o777 {
			r.report(sc.child("socket_mode"), " %q: must be octal permission bits such as \"0660\"", a.SocketMode)
		}
	}
	if a.Listen != "" {
		if msg := checkHostPort(a.Listen, false); msg != "" {
			r.report(sc.child("listen"), " %q: %s", a.Listen, msg)
		} else if a.Listen == c.LookingGlass.Listen || a.Listen == c.Metrics.Listen {
			r.report(sc.child("listen"), " %q: the looking glass or metrics listen there already; the admin interface needs its own listener", a.Listen)
		}
		if a.TokenFile == "" {
			r.report(sc.child("token_file"), ": required with admin.listen (requests must carry its bearer token)")
		}
	}
}
