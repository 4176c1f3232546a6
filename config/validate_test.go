package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// head is a valid [server] table, lines 1-4; cases append to it.
const head = `[server]
asn = 64500
router_id = "192.0.2.1"
peering_lans = ["192.0.2.0/24", "2001:db8:ffff::/64"]
`

// foo is a valid member, lines 5-8 after head; cases append its keys from line 9.
const foo = `[[member]]
name = "Foo"
asn = 64501
neighbors = ["192.0.2.11"]
`

// bar is a second valid member, lines 9-12 after head+foo.
const bar = `[[member]]
name = "Bar"
asn = 64502
neighbors = ["192.0.2.12"]
`

// TestValidation has one case per rule, each with the exact messages and lines.
func TestValidation(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		// [server]
		{"no server table", ``, []string{
			`t.toml: server.asn: missing (required)`,
			`t.toml: server.router_id: missing (an IPv4 address is required)`,
		}},
		{"server asn missing", "[server]\nrouter_id = \"192.0.2.1\"\n", []string{
			`t.toml:1: server.asn: missing (required)`,
		}},
		{"server asn 0", "[server]\nasn = 0\nrouter_id = \"192.0.2.1\"\n", []string{
			`t.toml:2: server.asn 0: not a valid ASN (1..4294967295)`,
		}},
		{"server asn AS_TRANS", "[server]\nasn = 23456\nrouter_id = \"192.0.2.1\"\n", []string{
			`t.toml:2: server.asn 23456: AS_TRANS (RFC 6793) is not a valid ASN`,
		}},
		{"server asn too big", "[server]\nasn = 4294967296\nrouter_id = \"192.0.2.1\"\n", []string{
			`t.toml:2: server.asn 4294967296: out of range 0..4294967295`,
		}},
		{"server asn negative", "[server]\nasn = -1\nrouter_id = \"192.0.2.1\"\n", []string{
			`t.toml:2: server.asn -1: out of range 0..4294967295`,
		}},
		{"server asn as string", "[server]\nasn = \"64500\"\nrouter_id = \"192.0.2.1\"\n", []string{
			`t.toml:2: server.asn: must be an integer, not a string ("64500")`,
		}},
		{"router_id missing", "[server]\nasn = 64500\n", []string{
			`t.toml:1: server.router_id: missing (an IPv4 address is required)`,
		}},
		{"router_id not an address", "[server]\nasn = 64500\nrouter_id = \"192.0.2\"\n", []string{
			`t.toml:3: server.router_id "192.0.2": not an IP address`,
		}},
		{"router_id IPv6", "[server]\nasn = 64500\nrouter_id = \"2001:db8::1\"\n", []string{
			`t.toml:3: server.router_id "2001:db8::1": must be an IPv4 address`,
		}},
		{"router_id zero", "[server]\nasn = 64500\nrouter_id = \"0.0.0.0\"\n", []string{
			`t.toml:3: server.router_id "0.0.0.0": not a valid BGP identifier`,
		}},
		{"listen not address:port", head + `listen = ["192.0.2.1:179", "192.0.2.1"]`, []string{
			`t.toml:5: server.listen[1] "192.0.2.1": not an address:port (write "192.0.2.1:179" or "[2001:db8::1]:179")`,
		}},
		{"listen duplicate", head + `listen = ["[::]:179", "0.0.0.0:179", "[::]:179"]`, []string{
			`t.toml:5: server.listen[2] "[::]:179": listed twice (also listen[0])`,
		}},
		{"peering_lans not a prefix", "[server]\nasn = 64500\nrouter_id = \"192.0.2.1\"\npeering_lans = [\"192.0.2.0/33\"]\n", []string{
			`t.toml:4: server.peering_lans[0] "192.0.2.0/33": not an IP prefix (write "192.0.2.0/24" or "2001:db8::/64")`,
		}},
		{"peering_lans host bits", "[server]\nasn = 64500\nrouter_id = \"192.0.2.1\"\npeering_lans = [\n  \"192.0.2.0/24\",\n  \"2001:db8:ffff::1/64\",\n]\n", []string{
			`t.toml:6: server.peering_lans[1] "2001:db8:ffff::1/64": host bits set (did you mean "2001:db8:ffff::/64"?)`,
		}},
		{"peering_lans duplicate", "[server]\nasn = 64500\nrouter_id = \"192.0.2.1\"\npeering_lans = [\"192.0.2.0/24\", \"192.0.2.0/24\"]\n", []string{
			`t.toml:4: server.peering_lans[1] "192.0.2.0/24": listed twice (also peering_lans[0])`,
		}},
		{"hold_time too small", head + "hold_time = 2\n", []string{
			`t.toml:5: server.hold_time 2: must be 0 (no keepalives) or 3..65535 seconds (RFC 4271 §4.2)`,
		}},
		{"hold_time too big", head + "hold_time = 65536\n", []string{
			`t.toml:5: server.hold_time 65536: must be 0 (no keepalives) or 3..65535 seconds (RFC 4271 §4.2)`,
		}},
		{"connect_retry without unit", head + "connect_retry = \"30\"\n", []string{
			`t.toml:5: server.connect_retry "30": not a duration (write a number and a unit: "90s", "15m", "1h")`,
		}},
		{"connect_retry as integer", head + "connect_retry = 30\n", []string{
			`t.toml:5: server.connect_retry: must be a duration string such as "30s" or "15m", not an integer (30)`,
		}},
		{"connect_retry negative", head + "connect_retry = \"-1s\"\n", []string{
			`t.toml:5: server.connect_retry "-1s": must be positive`,
		}},
		{"graceful_restart_stale_time zero", head + "graceful_restart_stale_time = \"0s\"\n", []string{
			`t.toml:5: server.graceful_restart_stale_time "0s": must be positive`,
		}},
		{"control_community_asn with a 2-byte asn", head + "control_community_asn = 64999\n", []string{
			`t.toml:5: server.control_community_asn 64999: only for a 4-byte asn; standard control communities use asn 64500 itself`,
		}},
		{"control_community_asn colliding", "[server]\nasn = 4200000000\nrouter_id = \"192.0.2.1\"\ncontrol_community_asn = 65501\n", []string{
			`t.toml:4: server.control_community_asn 65501: collides with a control function or a reserved value; use a private 2-byte ASN such as 64999`,
		}},
		{"control_community_asn too big", "[server]\nasn = 4200000000\nrouter_id = \"192.0.2.1\"\ncontrol_community_asn = 70000\n", []string{
			`t.toml:4: server.control_community_asn 70000: out of range 0..65535`,
		}},

		// [lookingglass]
		{"lookingglass listen without port", head + "[lookingglass]\nlisten = \"localhost\"\n", []string{
			`t.toml:6: lookingglass.listen "localhost": not host:port (missing port in address)`,
		}},
		{"metrics listen without port", head + "[metrics]\nlisten = \"localhost\"\n", []string{
			`t.toml:6: metrics.listen "localhost": not host:port (missing port in address)`,
		}},
		{"metrics listen same as the looking glass", head + "[metrics]\nlisten = \"127.0.0.1:8080\"\n", []string{
			`t.toml:6: metrics.listen "127.0.0.1:8080": the looking glass listens there already (leave metrics.listen empty to serve /metrics with it)`,
		}},
		{"metrics unknown key", head + "[metrics]\nlisten = \"127.0.0.1:9100\"\npath = \"/m\"\n", []string{
			`t.toml:7: unknown key "metrics.path"`,
		}},
		{"lookingglass listen bad port", head + "[lookingglass]\nlisten = \"127.0.0.1:http\"\n", []string{
			`t.toml:6: lookingglass.listen "127.0.0.1:http": port "http" is not a number 1..65535`,
		}},
		{"trusted_proxies host bits and duplicate", head + "[lookingglass]\ntrusted_proxies = [\"10.0.0.1/8\", \"::1/128\", \"::1/128\"]\n", []string{
			`t.toml:6: lookingglass.trusted_proxies[0] "10.0.0.1/8": host bits set (did you mean "10.0.0.0/8"?)`,
			`t.toml:6: lookingglass.trusted_proxies[2] "::1/128": listed twice (also [1])`,
		}},
		{"trusted_proxies not a prefix", head + "[lookingglass]\ntrusted_proxies = [\"10.0.0.1\"]\n", []string{
			`t.toml:6: lookingglass.trusted_proxies[0] "10.0.0.1": not an IP prefix (write "192.0.2.0/24" or "2001:db8::/64")`,
		}},
		{"peers", head + "[lookingglass]\npeers = [\"http://rs2.example.net:8080\", \"ftp://x\", \"http://u:p@rs3\", \"http://rs4/\", \"rs5:8080\", \"http://rs2.example.net:8080\"]\n", []string{
			`t.toml:6: lookingglass.peers[1] "ftp://x": must be an http or https URL`,
			`t.toml:6: lookingglass.peers[2] "http://u:p@rs3": must not contain a user or password`,
			`t.toml:6: lookingglass.peers[3] "http://rs4/": must be a base URL without query, fragment or trailing slash`,
			`t.toml:6: lookingglass.peers[4] "rs5:8080": not a URL (write "http://rs2.example.net:8080")`,
			`t.toml:6: lookingglass.peers[5] "http://rs2.example.net:8080": listed twice (also [0])`,
		}},
		{"max_concurrent negative", head + "[lookingglass]\nmax_concurrent = -1\n", []string{
			`t.toml:6: lookingglass.max_concurrent -1: must be 0 (twice the CPUs) or more requests at once`,
		}},
		{"rate_limit negative rate, zero burst", head + "[lookingglass.rate_limit]\npages = -1\nsearches = 2.5\nsearches_burst = 0\n", []string{
			`t.toml:6: lookingglass.rate_limit.pages -1: must be 0 (no limit) or more requests per second`,
			`t.toml:8: lookingglass.rate_limit.searches_burst 0: must be at least 1 (requests at once)`,
		}},
		{"rate_limit rate as a string", head + "[lookingglass.rate_limit]\npages = \"5\"\n", []string{
			`t.toml:6: lookingglass.rate_limit.pages: must be a number, not a string ("5")`,
		}},
		{"rate_limit unknown key", head + "[lookingglass.rate_limit]\npage = 5\n", []string{
			`t.toml:6: unknown key "lookingglass.rate_limit.page" (did you mean "pages"?)`,
		}},
		{"llgr_stale_time without graceful_restart", head + "graceful_restart = false\n[[member]]\nname = \"A\"\nasn = 64501\nneighbors = [\"192.0.2.11\"]\nllgr_stale_time = \"1h\"\n", []string{
			`t.toml:10: member "A" (asn 64501): llgr_stale_time "1h0m0s": needs server.graceful_restart = true`,
		}},
		{"llgr_stale_time too long", head + "[[member]]\nname = \"A\"\nasn = 64501\nneighbors = [\"192.0.2.11\"]\nllgr_stale_time = \"4700h\"\n", []string{
			`t.toml:9: member "A" (asn 64501): llgr_stale_time "4700h0m0s": must be 0 (off) up to 4660h20m15s (24 bits of seconds, RFC 9494)`,
		}},
		{"hidden not a boolean", head + "[[member]]\nname = \"A\"\nasn = 64501\nneighbors = [\"192.0.2.11\"]\nhidden = \"yes\"\n", []string{
			`t.toml:9: member "A" (asn 64501): hidden: must be true or false, not a string ("yes")`,
		}},

		// [rpki]
		{"rpki cache without port", head + "[rpki]\ncaches = [{ address = \"rtr.example.net\" }]\n", []string{
			`t.toml:6: rpki.caches[0].address "rtr.example.net": not host:port (missing port in address)`,
		}},
		{"rpki cache without address", head + "[[rpki.caches]]\npreference = 2\n", []string{
			`t.toml:5: rpki.caches[0].address: missing (host:port of an RTR cache)`,
		}},
		{"rpki cache preference", head + "[[rpki.caches]]\naddress = \"127.0.0.1:3323\"\npreference = 0\n", []string{
			`t.toml:7: rpki.caches[0].preference 0: must be 1..255 (lower is preferred)`,
		}},
		{"rpki cache duplicate", head + "[[rpki.caches]]\naddress = \"127.0.0.1:3323\"\n[[rpki.caches]]\naddress = \"127.0.0.1:3323\"\n", []string{
			`t.toml:8: rpki.caches[1].address "127.0.0.1:3323": listed twice (also caches[0])`,
		}},
		{"vrp_file missing", head + "[rpki]\nvrp_file = \"testdata/nope.json\"\n", []string{
			`t.toml:6: rpki.vrp_file "testdata/nope.json": no such file (testdata/nope.json)`,
		}},
		{"slurm_file missing", head + "[rpki]\nslurm_file = \"testdata/nope.json\"\n", []string{
			`t.toml:6: rpki.slurm_file "testdata/nope.json": no such file (testdata/nope.json)`,
		}},
		{"rpki cache transport", head + "[[rpki.caches]]\naddress = \"127.0.0.1:3323\"\ntransport = \"ssh\"\n", []string{
			`t.toml:7: rpki.caches[0].transport "ssh": must be tcp or tls`,
		}},
		{"rpki cache tls_ca without tls", head + "[[rpki.caches]]\naddress = \"127.0.0.1:3323\"\ntls_ca = \"testdata/vrps.json\"\n", []string{
			`t.toml:5: rpki.caches[0].transport "tcp": tls_ca and tls_server_name need transport = "tls"`,
		}},
		{"rpki cache tls_ca missing", head + "[[rpki.caches]]\naddress = \"127.0.0.1:3323\"\ntransport = \"tls\"\ntls_ca = \"testdata/ca.pem\"\n", []string{
			`t.toml:8: rpki.caches[0].tls_ca "testdata/ca.pem": no such file (testdata/ca.pem)`,
		}},
		{"rpki cache version", head + "[[rpki.caches]]\naddress = \"127.0.0.1:3323\"\nversion = 3\n", []string{
			`t.toml:7: rpki.caches[0].version 3: must be 0..2 (RTR version 0, 1 or 2)`,
		}},
		{"rpki negative expire", head + "[rpki]\nexpire = \"-1s\"\nmax_records = -1\n", []string{
			`t.toml:6: rpki.expire -1s: must not be negative (0 uses the cache's value)`,
			`t.toml:7: rpki.max_records -1: must not be negative (0 is the built-in bound)`,
		}},

		// [[member]]
		{"neighbor not an address", head + `[[member]]
name = "Foo"
asn = 64501
neighbors = ["192.0.2.11", "192.0.2.300"]
`, []string{
			`t.toml:8: member "Foo" (asn 64501): neighbors[1] "192.0.2.300": not an IP address`,
		}},
		{"neighbor not an address, multi-line", head + `[[member]]
name = "Foo"
asn = 64501
neighbors = [
  "192.0.2.11",
  "192.0.2.300",
]
`, []string{
			`t.toml:10: member "Foo" (asn 64501): neighbors[1] "192.0.2.300": not an IP address`,
		}},
		{"neighbor empty string", head + `[[member]]
name = "Foo"
asn = 64501
neighbors = [""]
`, []string{
			`t.toml:8: member "Foo" (asn 64501): neighbors[0] "": not an IP address`,
		}},
		{"neighbor outside the peering LANs", head + `[[member]]
name = "Foo"
asn = 64501
neighbors = ["198.51.100.1"]
`, []string{
			`t.toml:8: member "Foo" (asn 64501): neighbors[0] "198.51.100.1": not inside any of server.peering_lans (192.0.2.0/24, 2001:db8:ffff::/64)`,
		}},
		{"neighbor anywhere without peering LANs", "[server]\nasn = 64500\nrouter_id = \"192.0.2.1\"\n" + foo, nil},
		{"neighbor twice in a member", head + `[[member]]
name = "Foo"
asn = 64501
neighbors = ["192.0.2.11", "192.0.2.11"]
`, []string{
			`t.toml:8: member "Foo" (asn 64501): neighbors[1] "192.0.2.11": listed twice (also neighbors[0])`,
		}},
		{"neighbor in two members", head + foo + `[[member]]
name = "Bar"
asn = 64502
neighbors = ["2001:db8:ffff::12", "192.0.2.11"]
`, []string{
			`t.toml:12: member "Bar" (asn 64502): neighbors[1] "192.0.2.11": already a neighbor of member "Foo" (asn 64501, line 5)`,
		}},
		{"neighbor IPv4-mapped", head + `[[member]]
name = "Foo"
asn = 64501
neighbors = ["::ffff:192.0.2.11"]
`, []string{
			`t.toml:8: member "Foo" (asn 64501): neighbors[0] "::ffff:192.0.2.11": IPv4-mapped IPv6 address; write "192.0.2.11"`,
		}},
		{"neighbor multicast", head + `[[member]]
name = "Foo"
asn = 64501
neighbors = ["ff02::1"]
`, []string{
			`t.toml:8: member "Foo" (asn 64501): neighbors[0] "ff02::1": not a unicast address`,
		}},
		{"neighbor with zone", head + `[[member]]
name = "Foo"
asn = 64501
neighbors = ["fe80::1%eth0"]
`, []string{
			`t.toml:8: member "Foo" (asn 64501): neighbors[0] "fe80::1%eth0": an address with a zone cannot be a neighbor`,
		}},
		{"neighbors empty", head + `[[member]]
name = "Foo"
asn = 64501
neighbors = []
`, []string{
			`t.toml:8: member "Foo" (asn 64501): neighbors: missing (at least one address, one BGP session each)`,
		}},
		{"neighbors missing", head + `[[member]]
name = "Foo"
asn = 64501
`, []string{
			`t.toml:5: member "Foo" (asn 64501): neighbors: missing (at least one address, one BGP session each)`,
		}},
		{"member name missing", head + `[[member]]
asn = 64501
neighbors = ["192.0.2.11"]
`, []string{
			`t.toml:5: member #1 (asn 64501): name: missing (required)`,
		}},
		{"member name twice", head + foo + `[[member]]
name = "Foo"
asn = 64502
neighbors = ["192.0.2.12"]
`, []string{
			`t.toml:10: member "Foo" (asn 64502): name: already used by member "Foo" (asn 64501, line 5)`,
		}},
		{"member name with control character", head + `[[member]]
name = "Foo\nBar"
asn = 64501
neighbors = ["192.0.2.11"]
`, []string{
			`t.toml:6: member "Foo\nBar" (asn 64501): name "Foo\nBar": must not contain control characters`,
		}},
		{"member asn missing", head + `[[member]]
name = "Foo"
neighbors = ["192.0.2.11"]
`, []string{
			`t.toml:5: member "Foo": asn: missing (required)`,
		}},
		{"member asn AS_TRANS", head + `[[member]]
name = "Foo"
asn = 23456
neighbors = ["192.0.2.11"]
`, []string{
			`t.toml:7: member "Foo" (asn 23456): asn 23456: AS_TRANS (RFC 6793) is not a valid ASN`,
		}},
		{"member asn is the route server's", head + `[[member]]
name = "Foo"
asn = 64500
neighbors = ["192.0.2.11"]
`, []string{
			`t.toml:7: member "Foo" (asn 64500): asn 64500: is the route server's own ASN (server.asn)`,
		}},
		{"md5_password too long", head + foo + `md5_password = "` + strings.Repeat("x", 81) + `"`, []string{
			`t.toml:9: member "Foo" (asn 64501): md5_password: 81 bytes long, at most 80 allowed (TCP_MD5SIG key limit)`,
		}},
		{"md5_password 80 bytes", head + foo + `md5_password = "` + strings.Repeat("x", 80) + `"`, nil},
		{"irr_prefix_file missing", head + foo + `irr_prefix_file = "testdata/irr/missing"`, []string{
			`t.toml:9: member "Foo" (asn 64501): irr_prefix_file "testdata/irr/missing": no such file (testdata/irr/missing)`,
		}},
		{"irr_asn_file missing", head + foo + `irr_asn_file = "testdata/irr/AS64501.asn"`, []string{
			`t.toml:9: member "Foo" (asn 64501): irr_asn_file "testdata/irr/AS64501.asn": no such file (testdata/irr/AS64501.asn)`,
		}},
		{"irr_asn_file is a directory", head + foo + `irr_asn_file = "testdata/irr"`, []string{
			`t.toml:9: member "Foo" (asn 64501): irr_asn_file "testdata/irr": is a directory (testdata/irr)`,
		}},
		{"irr files exist", head + foo + "irr_prefix_file = \"testdata/irr/AS64501.prefixes\"\nirr_asn_file = \"testdata/irr/AS64501.asns\"\n", nil},
		{"member bool as string", head + foo + `passive = "yes"`, []string{
			`t.toml:9: member "Foo" (asn 64501): passive: must be true or false, not a string ("yes")`,
		}},
		{"member not a table", "member = [1]\n" + head, []string{
			`t.toml:1: member #1: must be a table, not an integer (1)`,
		}},

		// [defaults], and the same keys as member overrides
		{"next_hop", head + "[defaults]\nnext_hop = \"loose\"\n", []string{
			`t.toml:6: defaults.next_hop "loose": must be one of strict, same-as, any`,
		}},
		{"enforce_first_as", head + "[defaults]\nenforce_first_as = 1\n", []string{
			`t.toml:6: defaults.enforce_first_as: must be true or false, not an integer (1)`,
		}},
		{"max_as_path_length", head + "[defaults]\nmax_as_path_length = 65\n", []string{
			`t.toml:6: defaults.max_as_path_length 65: must be 0 (no limit) to 64`,
		}},
		{"prefix_lengths_ipv4 out of range", head + "[defaults]\nprefix_lengths_ipv4 = [8, 33]\n", []string{
			`t.toml:6: defaults.prefix_lengths_ipv4 [8, 33]: lengths must be 0..32`,
		}},
		{"prefix_lengths_ipv4 min above max", head + "[defaults]\nprefix_lengths_ipv4 = [24, 8]\n", []string{
			`t.toml:6: defaults.prefix_lengths_ipv4 [24, 8]: the minimum is greater than the maximum`,
		}},
		{"prefix_lengths_ipv6 out of range", head + "[defaults]\nprefix_lengths_ipv6 = [-1, 48]\n", []string{
			`t.toml:6: defaults.prefix_lengths_ipv6 [-1, 48]: lengths must be 0..128`,
		}},
		{"prefix_lengths_ipv6 not a pair", head + "[defaults]\nprefix_lengths_ipv6 = [48]\n", []string{
			`t.toml:6: defaults.prefix_lengths_ipv6: must be a pair [min, max], not 1 value`,
		}},
		{"transit_free_asns zero", head + "[defaults]\ntransit_free_asns = [174, 0]\n", []string{
			`t.toml:6: defaults.transit_free_asns[1] 0: not a valid ASN`,
		}},
		{"never_via_route_servers_asns negative", head + "[defaults]\nnever_via_route_servers_asns = [\n  64496,\n  -5,\n]\n", []string{
			`t.toml:8: defaults.never_via_route_servers_asns[1] -5: out of range 0..4294967295`,
		}},
		{"max_communities", head + "[defaults]\nmax_communities = -1\n", []string{
			`t.toml:6: defaults.max_communities -1: must be 0 (no limit) or more`,
		}},
		{"too_many_communities", head + "[defaults]\ntoo_many_communities = \"drop\"\n", []string{
			`t.toml:6: defaults.too_many_communities "drop": must be one of strip, reject`,
		}},
		{"rpki", head + "[defaults]\nrpki = \"on\"\n", []string{
			`t.toml:6: defaults.rpki "on": must be one of reject-invalid, tag, off`,
		}},
		{"irr", head + "[defaults]\nirr = \"yes\"\n", []string{
			`t.toml:6: defaults.irr "yes": must be one of reject, tag, off`,
		}},
		{"otc", head + "[defaults]\notc = \"tag\"\n", []string{
			`t.toml:6: defaults.otc "tag": must be one of reject, off`,
		}},
		{"aspa", head + "[defaults]\naspa = \"reject\"\n", []string{
			`t.toml:6: defaults.aspa "reject": must be one of reject-invalid, tag, off`,
		}},
		{"blackhole_next_hop_ipv4", head + "[defaults]\nblackhole_next_hop_ipv4 = \"2001:db8::66\"\n", []string{
			`t.toml:6: defaults.blackhole_next_hop_ipv4 "2001:db8::66": must be an IPv4 address, or "" to leave the next hop unchanged`,
		}},
		{"blackhole_next_hop_ipv6", head + "[defaults]\nblackhole_next_hop_ipv6 = \"192.0.2.66\"\n", []string{
			`t.toml:6: defaults.blackhole_next_hop_ipv6 "192.0.2.66": must be an IPv6 address, or "" to leave the next hop unchanged`,
		}},
		{"blackhole_next_hop_ipv6 with zone", head + "[defaults]\nblackhole_next_hop_ipv6 = \"fe80::1%eth0\"\n", []string{
			`t.toml:6: defaults.blackhole_next_hop_ipv6 "fe80::1%eth0": must be an IPv6 address, or "" to leave the next hop unchanged`,
		}},
		{"max_prefix_ipv4", head + "[defaults]\nmax_prefix_ipv4 = -1\n", []string{
			`t.toml:6: defaults.max_prefix_ipv4 -1: must be 0 (no limit) or more`,
		}},
		{"max_prefix_ipv6", head + "[defaults]\nmax_prefix_ipv6 = -1\n", []string{
			`t.toml:6: defaults.max_prefix_ipv6 -1: must be 0 (no limit) or more`,
		}},
		{"add_path receive", head + foo + `add_path = "receive"` + "\n", []string{
			`t.toml:9: member "Foo" (asn 64501): add_path "receive": a route server only sends paths (RFC 7947 §2.3.2.1); use "send"`,
		}},
		{"add_path unknown", head + foo + `add_path = "all"` + "\n", []string{
			`t.toml:9: member "Foo" (asn 64501): add_path "all": must be "send" or "off"`,
		}},
		{"add_path_limit without send", head + foo + "add_path_limit = 4\n", []string{
			`t.toml:9: member "Foo" (asn 64501): add_path_limit 4: has no effect without add_path = "send"`,
		}},
		{"add_path_limit too big", head + foo + "add_path = \"send\"\nadd_path_limit = 65\n", []string{
			`t.toml:10: member "Foo" (asn 64501): add_path_limit 65: must be 1..64 (0 for the default, 8)`,
		}},
		{"add_path ok", head + foo + "add_path = \"send\"\nadd_path_limit = 64\n" + bar + "add_path = \"off\"\n", nil},
		{"max_prefix_action", head + "[defaults]\nmax_prefix_action = \"stop\"\n", []string{
			`t.toml:6: defaults.max_prefix_action "stop": must be one of warn, block, restart, shutdown`,
		}},
		{"max_prefix_restart_after", head + "[defaults]\nmax_prefix_restart_after = \"0s\"\n", []string{
			`t.toml:6: defaults.max_prefix_restart_after "0s": must be positive`,
		}},
		{"max_prefix_warn_percent zero", head + "[defaults]\nmax_prefix_warn_percent = 0\n", []string{
			`t.toml:6: defaults.max_prefix_warn_percent 0: must be 1..100`,
		}},
		{"max_prefix_warn_percent above 100", head + "[defaults]\nmax_prefix_warn_percent = 101\n", []string{
			`t.toml:6: defaults.max_prefix_warn_percent 101: must be 1..100`,
		}},
		{"member override", head + foo + "rpki = \"maybe\"\nmax_prefix_restart_after = \"soon\"\n", []string{
			`t.toml:9: member "Foo" (asn 64501): rpki "maybe": must be one of reject-invalid, tag, off`,
			`t.toml:10: member "Foo" (asn 64501): max_prefix_restart_after "soon": not a duration (write a number and a unit: "90s", "15m", "1h")`,
		}},
		{"bad default reported once, at [defaults]", head + "[defaults]\nnext_hop = \"loose\"\n" + foo, []string{
			`t.toml:6: defaults.next_hop "loose": must be one of strict, same-as, any`,
		}},
		{"member fixes a bad default", head + "[defaults]\nnext_hop = \"loose\"\n" + foo + "next_hop = \"any\"\n", []string{
			`t.toml:6: defaults.next_hop "loose": must be one of strict, same-as, any`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("t.toml", []byte(tt.src))
			got := messages(t, err)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
			if err == nil && c == nil {
				t.Error("no error and no config")
			}
			if err != nil && c != nil {
				t.Error("a config returned with an error")
			}
		})
	}
}

// messages returns the lines of a *Errors, failing on any other error.
func messages(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T is not *Errors: %v", err, err)
	}
	var out []string
	for _, e := range *errs {
		out = append(out, e.Error())
	}
	if strings.Join(out, "\n") != err.Error() {
		t.Errorf("Error() = %q, want the problems one per line", err.Error())
	}
	return out
}

// TestEveryProblemAtOnce checks that problems of every kind are reported
// together, in line order.
func TestEveryProblemAtOnce(t *testing.T) {
	src := `[server]
asn = 23456
router_id = "2001:db8::1"
peering_lans = ["192.0.2.0/24"]
colour = "blue"

[defaults]
rpki = "strict"

[[member]]
name = "Foo"
asn = "64501"
neighbors = ["192.0.2.11", "10.0.0.1"]

[[member]]
name = "Foo"
asn = 64502
neighbors = ["192.0.2.11"]
md5_password = "` + strings.Repeat("p", 100) + `"
`
	want := []string{
		`t.toml:2: server.asn 23456: AS_TRANS (RFC 6793) is not a valid ASN`,
		`t.toml:3: server.router_id "2001:db8::1": must be an IPv4 address`,
		`t.toml:5: unknown key "server.colour"`,
		`t.toml:8: defaults.rpki "strict": must be one of reject-invalid, tag, off`,
		`t.toml:12: member "Foo": asn: must be an integer, not a string ("64501")`,
		`t.toml:13: member "Foo": neighbors[1] "10.0.0.1": not inside any of server.peering_lans (192.0.2.0/24)`,
		`t.toml:16: member "Foo" (asn 64502): name: already used by member "Foo" (line 10)`,
		`t.toml:18: member "Foo" (asn 64502): neighbors[0] "192.0.2.11": already a neighbor of member "Foo" (line 10)`,
		`t.toml:19: member "Foo" (asn 64502): md5_password: 100 bytes long, at most 80 allowed (TCP_MD5SIG key limit)`,
	}
	_, err := Parse("t.toml", []byte(src))
	if d := cmp.Diff(want, messages(t, err)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if strings.Contains(err.Error(), "ppppp") {
		t.Error("the password is in an error message")
	}
}

// TestValidateBuiltInCode checks Validate on a Config that was not parsed:
// no lines, and zero values reported as missing.
func TestValidateBuiltInCode(t *testing.T) {
	c := newConfig()
	c.Members = []Member{{Name: "A", ASN: 64501}}
	want := []string{
		`config: server.asn: missing (required)`,
		`config: server.router_id: missing (an IPv4 address is required)`,
		`config: member "A" (asn 64501): neighbors: missing (at least one address, one BGP session each)`,
	}
	if d := cmp.Diff(want, messages(t, c.Validate())); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

func TestWarnings(t *testing.T) {
	src := head + "[defaults]\nirr = \"tag\"\n" + foo + bar + "irr = \"reject\"\n"
	c, err := Parse("t.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		`t.toml:15: member "Bar" (asn 64502): irr = "reject" and neither irr_prefix_file nor irr_asn_file: every route of this member will be filtered`,
		`t.toml: rpki checks are on but [rpki] has no caches and no vrp_file: no route can be RPKI-validated (set rpki = "off" to silence this)`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}

// TestWarningASPA: ASPA records come only from version 2 caches; a member that asks for the check
// without one is told, and a version 2 cache silences it.
func TestWarningASPA(t *testing.T) {
	for _, tt := range []struct {
		rpki string
		warn bool
	}{
		{"[rpki]\nvrp_file = \"testdata/vrps.json\"\n", true},
		{"[rpki]\ncaches = [{ address = \"127.0.0.1:3323\" }]\n", true},
		{"[rpki]\ncaches = [{ address = \"127.0.0.1:3323\", version = 2 }]\n", false},
	} {
		c, err := Parse("t.toml", []byte(head+tt.rpki+foo+"aspa = \"tag\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, w := range c.Warnings() {
			found = found || strings.Contains(w.Error(), "no [rpki] cache has version = 2")
		}
		if found != tt.warn {
			t.Errorf("%q: ASPA warning %v, want %v (%v)", tt.rpki, found, tt.warn, c.Warnings())
		}
		if p := c.MemberPolicy(0); p.ASPA != ASPATag {
			t.Errorf("member aspa = %q, want tag", p.ASPA)
		}
	}
}
