// Package config loads, decodes and validates the route server's
// configuration file (config.toml).
//
// The file format is the operator-facing contract described in
// docs/configuration.md: key names are stable, unknown keys are errors, and
// every problem in a file is reported at once with its file and line, so an
// operator generating the file from a member database can fix all of them in
// one pass.
//
// Loading happens in three steps. The TOML library checks the syntax and
// yields generic values; this package decodes them into Config itself (see
// decode.go) so that unknown keys and wrongly typed values are reported with
// the line of the exact [[member]] they are in, and so that a bad value does
// not hide the problems after it; then Validate checks the values against each
// other. Policy keys are parsed and validated here and applied by the policy
// engine: MemberPolicy gives the engine each member's effective settings.
package config

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is a decoded and validated configuration.
//
// Its toml tags are the file's key names: encoding a Config with
// toml.NewEncoder and parsing the result gives an equal Config.
type Config struct {
	Server       Server       `toml:"server"`
	LookingGlass LookingGlass `toml:"lookingglass"`
	Metrics      Metrics      `toml:"metrics"`
	RPKI         RPKI         `toml:"rpki"`
	Admin        Admin        `toml:"admin"`
	// Defaults is the policy of every member that does not override a key:
	// the built-in defaults (DefaultPolicy) overlaid with the [defaults] table.
	Defaults Policy   `toml:"defaults"`
	Members  []Member `toml:"member"`
	// MemberRanges accept members from address ranges (ranges.go).
	MemberRanges []MemberRange `toml:"member_range"`
	// BMP are the BMP collectors ([[bmp]], export.go).
	BMP []BMP `toml:"bmp"`
	// MRT configures the MRT table dumps ([mrt], mrt.go).
	MRT MRT `toml:"mrt"`
	// Tracing limits per-member packet tracing ([tracing], trace.go).
	Tracing Tracing `toml:"tracing"`

	// Path is the file the configuration was read from (Load), or the name
	// given to Parse. It names the file in error messages, and relative file
	// names in the configuration are resolved against its directory (Resolve).
	Path string `toml:"-"`

	pos positions // where each key is in the file; nil for a Config built in code
}

// Server is the [server] table: the route server's own identity and sockets.
type Server struct {
	// ASN is the route server's AS number. It is never prepended (RFC 7947).
	ASN uint32 `toml:"asn"`
	// RouterID is the BGP identifier sent in OPEN; an IPv4 address.
	RouterID netip.Addr `toml:"router_id"`
	// Listen is where BGP connections are accepted. Empty: accept none.
	Listen []netip.AddrPort `toml:"listen"`
	// PeeringLANs are the exchange's peering LANs. When not empty, every
	// neighbor address must lie inside one, and next hops must lie inside one
	// (docs/policy.md check 2); routes for them are filtered (check 7).
	PeeringLANs []netip.Prefix `toml:"peering_lans"`
	// HoldTime is the hold time offered in OPEN, in seconds: 0 or 3..65535.
	HoldTime int `toml:"hold_time"`
	// ConnectRetry is the ConnectRetry timer of RFC 4271 §8: how long to wait
	// before connecting again to a neighbor that is not passive.
	ConnectRetry time.Duration `toml:"connect_retry"`
	// ControlCommunityASN stands for a 4-byte ASN in the standard and
	// extended (rt:) control communities (0:RS, RS:P, 65501:RS ...), which
	// have 16 bits for it; 0: none, only the large forms name the route
	// server. Only for a 4-byte asn.
	ControlCommunityASN uint16 `toml:"control_community_asn"`
	// GracefulRestart makes the route server a graceful-restart helper (RFC
	// 4724): a member that advertises the capability and restarts keeps its
	// routes at the other members, stale, until its End-of-RIB.
	GracefulRestart bool `toml:"graceful_restart"`
	// StaleTime bounds how long a member back from a graceful restart may take
	// to send End-of-RIB before its routes not announced again are removed.
	StaleTime time.Duration `toml:"graceful_restart_stale_time"`
	// StateDir is where the route server keeps what an operator set at run time and expects after a
	// restart (members shut down, graceful shutdown; docs/operations.md); created if missing.
	// Relative to the configuration file's directory (use Resolve). "": nothing is kept.
	StateDir string `toml:"state_dir"`
}

// LookingGlass is the [lookingglass] table: the web UI, the JSON API and /metrics.
type LookingGlass struct {
	// Listen is the HTTP listener as host:port; "" disables it.
	Listen string `toml:"listen"`
	// Name is shown as the route server's name in the web UI and the API.
	Name string `toml:"name"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header is
	// believed: a request arriving from one of these prefixes is attributed
	// (for rate limits and logs) to the address the proxy names. Empty: the
	// header is ignored and the connection's address counts.
	TrustedProxies []netip.Prefix `toml:"trusted_proxies"`
	// RateLimit bounds the requests per client address.
	RateLimit RateLimit `toml:"rate_limit"`
	// MaxConcurrent bounds the requests answered at once, over all clients
	// (exempt ones included); further requests wait briefly for a slot and
	// are then refused with 503 and Retry-After. Static files and /metrics
	// are not counted. 0 (the default): twice the CPUs the process may use.
	MaxConcurrent int `toml:"max_concurrent"`
	// Peers are the base URLs of other ixrs looking glasses (the exchange's
	// other route servers, "http://rs2.example.net:8080"), shown side by side
	// with this one in /api/v1/compare.
	Peers []string `toml:"peers"`
	// ASNNamesFile names ASNs in the web UI: one "ASN name" per line ("64501 Example
	// Networks"), # comments; relative to the config file's directory (use Resolve). "" for none.
	ASNNamesFile string `toml:"asn_names_file"`
}

// Metrics is the [metrics] table: where Prometheus scrapes /metrics.
type Metrics struct {
	// Listen is a separate HTTP listener for /metrics as host:port, without the
	// looking glass's rate limits. When set, /metrics is served there only;
	// "" serves it on the looking-glass listener.
	Listen string `toml:"listen"`
}

// RateLimit is the [lookingglass.rate_limit] table: token buckets per client
// address, one for plain pages and a tighter one for searches and prefix
// lookups, which may scan much more of the RIB per request.
type RateLimit struct {
	// Pages is the sustained rate of page requests per client, per second;
	// 0 disables the limit.
	Pages float64 `toml:"pages"`
	// PagesBurst is how many page requests a client may make at once.
	PagesBurst int `toml:"pages_burst"`
	// Searches is the sustained rate of searches and prefix lookups per
	// client, per second; 0 disables the limit.
	Searches float64 `toml:"searches"`
	// SearchesBurst is how many searches a client may make at once.
	SearchesBurst int `toml:"searches_burst"`
	// Exempt are client prefixes without limits: the Alice-LG or IXP
	// Manager host that polls every session's routes in one go.
	Exempt []netip.Prefix `toml:"exempt"`
}

// RPKI is the [rpki] table: where validated ROA payloads come from.
type RPKI struct {
	// Caches are RTR caches (RFC 8210, falling back to RFC 6810).
	Caches []RPKICache `toml:"caches"`
	// VRPFile is a JSON VRP file as written by rpki-client or StayRTR, as an
	// alternative or fallback to the caches; relative to the config file's
	// directory (use Resolve). "" for none.
	VRPFile string `toml:"vrp_file"`
	// SLURMFile is an RFC 8416 local exceptions file applied to the data of
	// every source (caches and vrp_file); relative like VRPFile. "" for none.
	SLURMFile string `toml:"slurm_file"`
	// Refresh, Retry and Expire override the intervals the caches send in
	// End of Data (RFC 8210 §6); 0 (the default) uses the cache's.
	Refresh time.Duration `toml:"refresh"`
	Retry   time.Duration `toml:"retry"`
	Expire  time.Duration `toml:"expire"`
	// MaxRecords bounds the records (VRPs, ASPAs, router keys) held per
	// cache; 0 is the built-in bound (2,000,000).
	MaxRecords int `toml:"max_records"`
	// StateCommunity adds the RFC 8097 origin validation state extended
	// community to the routes sent to members.
	StateCommunity bool `toml:"rpki_state_community"`
}

// RPKICache is one RTR cache.
type RPKICache struct {
	// Address is the cache's host:port; the host may be a name.
	Address string `toml:"address"`
	// Preference orders caches (RFC 8210 §10), 1..255, lower is preferred
	// as in FRR: the route server uses the most preferred cache that is up.
	// Default 1.
	Preference int `toml:"preference"`
	// Transport is "tcp" (default) or "tls".
	Transport string `toml:"transport"`
	// TLSCA is a PEM file of the CA certificates that may sign the cache's
	// certificate (tls only; "" uses the system's roots); relative like
	// VRPFile.
	TLSCA string `toml:"tls_ca"`
	// TLSServerName is the name the cache's certificate must carry (tls
	// only); "" is the host of Address.
	TLSServerName string `toml:"tls_server_name"`
	// Version is the highest RTR version offered, 0..2 (default 1); the
	// route server goes down to the cache's.
	Version int `toml:"version"`
}

// setDefaults gives a cache from a [[rpki.caches]] entry its default values
// before the entry's keys are decoded.
func (c *RPKICache) setDefaults() { c.Preference, c.Transport, c.Version = 1, "tcp", 1 }

// Member is one [[member]] table: a member network and its BGP sessions.
//
// The embedded PolicyOverrides hold the [defaults] keys the member sets
// itself; use Config.MemberPolicy for the member's effective policy.
type Member struct {
	// Name identifies the member in the looking glass, logs and metrics
	// (label "member"); unique and not empty.
	Name string `toml:"name"`
	// ASN is the member's AS number.
	ASN uint32 `toml:"asn"`
	// Neighbors are the member's router addresses: one BGP session each.
	Neighbors []netip.Addr `toml:"neighbors"`
	// Description is free text shown in the looking glass.
	Description string `toml:"description"`
	// MD5Password is the TCP MD5 signature key (RFC 2385) for all of the
	// member's sessions; "" for none. At most 80 bytes.
	MD5Password Secret `toml:"md5_password"`
	// TTLSecurity enables GTSM (RFC 5082): packets must arrive with TTL 255.
	TTLSecurity bool `toml:"ttl_security"`
	// Passive makes the route server wait for the member to connect.
	Passive bool `toml:"passive"`
	// StrictRole refuses the member's OPEN with Role Mismatch (RFC 9234 §4.2) unless it
	// advertises the BGP Role rs-client. Without it, only a role other than rs-client is refused.
	StrictRole bool `toml:"strict_role"`
	// AddPath "send" advertises ADD-PATH send (RFC 7911) to the member: when its router
	// advertises receive, it gets every candidate route export policy allows it, each with a
	// path identifier, not just the best. "" or "off" (the default): the best route only. The
	// route server never receives with ADD-PATH.
	AddPath string `toml:"add_path"`
	// AddPathLimit is the most paths per prefix sent with add_path = "send"; 0 means 8.
	AddPathLimit int `toml:"add_path_limit"`
	// LLGRStaleTime, when positive, makes the route server advertise long-lived
	// graceful restart (RFC 9494) to the member: the member's routes are then
	// kept long-lived stale after its restart time, for its own long-lived stale
	// time but at most this long, and the member receives other members'
	// long-lived stale routes. 0: off. Needs server.graceful_restart.
	LLGRStaleTime time.Duration `toml:"llgr_stale_time"`
	// IRRPrefixFile is a file of the prefixes the member may announce (check
	// 11), as written; use Config.Resolve to open it. "" for none.
	IRRPrefixFile string `toml:"irr_prefix_file"`
	// IRRASNFile is a file of the origin ASNs the member may announce (its
	// AS-SET, expanded), as written; use Config.Resolve to open it.
	IRRASNFile string `toml:"irr_asn_file"`
	// Hidden keeps the member, its sessions and the routes it announces out
	// of every public view of the looking glass. Routing is unaffected.
	Hidden bool `toml:"hidden"`
	// Trace names the message types of the member's sessions logged, decoded, one line each
	// (TraceTypes, or "all"); empty: none. Changed by a reload without touching a session.
	Trace []string `toml:"trace"`
	// TraceRaw adds each traced message's bytes, in hex, to its line.
	TraceRaw bool `toml:"trace_raw"`

	PolicyOverrides
}

// Secret is a string that is not shown when printed or logged, so that a
// member's password never reaches a log line or another member's screen.
// Convert it with string() where the value itself is needed.
type Secret string

// String returns a placeholder, never the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "(secret)"
}

// GoString returns a placeholder, never the secret, for the %#v verb.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// Load reads and parses the configuration file at path. A problem with the
// file's contents is returned as *Errors; a problem reading it as another error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a configuration. name is used in error messages
// and becomes Config.Path, so relative file names in the configuration are
// resolved against its directory. Every problem found is returned, as
// *Errors; the Config is nil then. An empty name is shown as "config".
func Parse(name string, data []byte) (*Config, error) {
	if name == "" {
		name = "config"
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, errorsOrNil(Errors{syntaxError(name, err)})
	}
	c := newConfig()
	c.Path = name
	c.pos = scanPositions(string(data))
	r := &reporter{file: name, pos: c.pos}
	d := decoder{r: r}
	d.table(scope{}, raw, reflect.ValueOf(c).Elem())
	c.validate(r)
	if err := errorsOrNil(r.errs); err != nil {
		return nil, err
	}
	return c, nil
}

// syntaxError converts an error from the TOML library.
func syntaxError(name string, err error) *Error {
	if pe, ok := err.(toml.ParseError); ok {
		col := pe.Position.Col
		if col == 0 && pe.Position.Line > 0 {
			col = 1
		}
		return &Error{File: name, Line: pe.Position.Line, Col: col, Msg: "syntax error: " + pe.Message}
	}
	return &Error{File: name, Msg: err.Error()}
}

// newConfig returns the configuration an empty file gives, before validation.
func newConfig() *Config {
	return &Config{
		Server: Server{
			Listen: []netip.AddrPort{
				netip.MustParseAddrPort("0.0.0.0:179"),
				netip.MustParseAddrPort("[::]:179"),
			},
			HoldTime:        90,
			ConnectRetry:    30 * time.Second,
			GracefulRestart: true,
			StaleTime:       360 * time.Second,
		},
		LookingGlass: LookingGlass{
			Listen:    "127.0.0.1:8080",
			Name:      "ixrs",
			RateLimit: DefaultRateLimit(),
		},
		Defaults: DefaultPolicy(),
		Tracing:  DefaultTracing(),
	}
}

// DefaultRateLimit returns the looking glass's rate limits when
// [lookingglass.rate_limit] sets none: generous for browsing, a search every
// two seconds sustained.
func DefaultRateLimit() RateLimit {
	return RateLimit{Pages: 5, PagesBurst: 20, Searches: 0.5, SearchesBurst: 5}
}

// MemberPolicy returns the effective policy of member i: c.Defaults overlaid
// with the keys member i sets. The result shares no memory with c.
// i must be a valid index into c.Members.
func (c *Config) MemberPolicy(i int) Policy {
	return c.Members[i].PolicyOverrides.apply(c.Defaults)
}

// Sessions returns the number of BGP sessions: one per neighbor address.
func (c *Config) Sessions() int {
	n := 0
	for _, m := range c.Members {
		n += len(m.Neighbors)
	}
	return n
}

// Resolve returns the path of a file named in the configuration: name itself
// when it is "" or absolute, otherwise name relative to the directory of
// c.Path (the current directory for a Config built in code).
func (c *Config) Resolve(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(filepath.Dir(c.Path), name)
}

// Line returns the line of the file on which key path appears (for example
// "member[2].neighbors[1]"), or of its closest enclosing table that does;
// 0 when unknown, as for a Config built in code.
func (c *Config) Line(path string) int { return c.pos.line(path) }
