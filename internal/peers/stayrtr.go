package peers

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
)

// StayRTRConfig describes one StayRTR RPKI cache serving a VRP JSON file on loopback.
type StayRTRConfig struct {
	Dir  string     // per-instance directory for the log
	Addr netip.Addr // where it serves RTR, e.g. 127.0.0.1
	// Port for plain RTR; 0 picks a free one (see StayRTR.Port).
	Port int
	// VRPFile is the JSON file served (rpki-client format). It is re-read every
	// Refresh seconds, and clients get a Serial Notify when it changed.
	VRPFile string
	Refresh int // default 1
	// Protocol is the highest RTR version served (StayRTR's -protocol): 0, 1
	// or 2 (its version 2 is draft-ietf-sidrops-8210bis-10, an older ASPA
	// PDU than the current draft's).
	Protocol int
	// Expire, Retry and RTRRefresh are the intervals StayRTR sends in End of
	// Data; 0 keeps StayRTR's defaults (7200, 600, 3600).
	Expire, Retry, RTRRefresh int
	// TLSPort, TLSCert and TLSKey, when TLSPort is not 0, also serve RTR over
	// TLS with that certificate (PEM files).
	TLSPort         int
	TLSCert, TLSKey string
}

// StayRTR is a running StayRTR process.
type StayRTR struct {
	p    *proc
	port int
}

// StartStayRTR starts StayRTR in the foreground as a child in its own process
// group and waits until its RTR listener is open; t.Cleanup stops it. The file
// must exist: StayRTR serves nothing ("No Data Available") until it has read one.
// Its metadata.buildtime may be old (-checktime=false).
func StartStayRTR(t testing.TB, c StayRTRConfig) *StayRTR {
	t.Helper()
	Require(t, "stayrtr")
	bin, _ := lookBinary("stayrtr")
	if c.Port == 0 {
		c.Port = FreePort(t, c.Addr)
	}
	if c.Refresh == 0 {
		c.Refresh = 1
	}
	metrics := FreePort(t, c.Addr)
	argv := []string{bin,
		"-bind", netip.AddrPortFrom(c.Addr, uint16(c.Port)).String(),
		"-metrics.addr", netip.AddrPortFrom(c.Addr, uint16(metrics)).String(),
		"-cache", c.VRPFile,
		"-checktime=false",
		"-refresh", strconv.Itoa(c.Refresh),
		"-protocol", strconv.Itoa(c.Protocol),
	}
	for _, o := range []struct {
		flag string
		v    int
	}{{"-rtr.expire", c.Expire}, {"-rtr.retry", c.Retry}, {"-rtr.refresh", c.RTRRefresh}} {
		if o.v != 0 {
			argv = append(argv, o.flag, strconv.Itoa(o.v))
		}
	}
	if c.TLSPort != 0 {
		argv = append(argv, "-tls.bind", netip.AddrPortFrom(c.Addr, uint16(c.TLSPort)).String(),
			"-tls.cert", c.TLSCert, "-tls.key", c.TLSKey)
	}
	p, err := startProc(t, "stayrtr", Config{Dir: c.Dir}, filepath.Join(c.Dir, "stayrtr.log"), nil, argv)
	if err != nil {
		t.Fatal(err)
	}
	err = p.waitUp(context.Background(), func() (bool, error) {
		ok, err := listening(c.Addr, c.Port)
		if ok && c.TLSPort != 0 {
			ok, err = listening(c.Addr, c.TLSPort)
		}
		return ok, err
	})
	if err != nil {
		fatalStart(t, p, fmt.Errorf("stayrtr did not start: %w", err))
	}
	return &StayRTR{p: p, port: c.Port}
}

// Port is the plain RTR port.
func (s *StayRTR) Port() int { return s.port }

// PID is the process ID of StayRTR (also its process group).
func (s *StayRTR) PID() int { return s.p.PID() }

// LogPath is StayRTR's log file.
func (s *StayRTR) LogPath() string { return s.p.LogPath() }

// Stop ends StayRTR (SIGTERM, then SIGKILL after 5 s). Idempotent; also called by t.Cleanup.
func (s *StayRTR) Stop() error { return s.p.Stop() }
