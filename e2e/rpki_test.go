package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/peers"
	"github.com/ixrs/ixrs/rpki"
)

// RPKI through RTR with real StayRTR caches serving a VRP JSON file, BIRD members on both sides.
// The sender announces a valid route, a route whose origin the test makes invalid by editing the
// file, and a route that is invalid throughout (its VRP names another origin).

var (
	rtrValid   = pfx("198.51.100.0/24")
	rtrChanges = pfx("203.0.113.0/24")
	rtrInvalid = pfx("198.51.101.0/24")
)

func rpkiMembers() (sender, receiver *member) {
	sender = &member{name: "sender", start: peers.StartBIRD, addr: "127.0.1.61", as: 65061, routes: []peers.Announce{
		{Prefix: rtrValid, NextHop: adr("192.0.2.61")},
		{Prefix: rtrChanges, NextHop: adr("192.0.2.61")},
		{Prefix: rtrInvalid, NextHop: adr("192.0.2.61")},
	}}
	receiver = &member{name: "receiver", start: peers.StartBIRD, addr: "127.0.1.62", as: 65062}
	return sender, receiver
}

// writeVRPs writes the StayRTR file: rtrChanges is authorized for origin.
func writeVRPs(t *testing.T, path string, origin uint32) {
	t.Helper()
	doc := fmt.Sprintf(`{"metadata": {"buildtime": %q},
  "roas": [
    {"prefix": "198.51.100.0/24", "maxLength": 24, "asn": 65061},
    {"prefix": "198.51.101.0/24", "maxLength": 24, "asn": 65099},
    {"prefix": "203.0.113.0/24", "maxLength": 24, "asn": %d}
  ]}`, time.Now().UTC().Format(time.RFC3339), origin)
	// Write and rename, so StayRTR never reads half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func rpkiConfig(sender, receiver *member, rpkiTable string) string {
	return fmt.Sprintf(`[server]
asn = 65000
router_id = "10.0.0.1"
listen = ["127.0.0.1:%%PORT%%"]
peering_lans = ["127.0.0.0/8", "192.0.2.0/24"]
connect_retry = "2s"

[rpki]
%s

[defaults]
next_hop = "any"
rpki = "reject-invalid"
irr = "off"
reject_bogon_asns = false
reject_bogon_prefixes = false
`, rpkiTable) + memberConf(sender, "") + memberConf(receiver, "")
}

// hasExactly polls the receiver until it holds exactly the prefixes given.
func hasExactly(t *testing.T, m *member, what string, want ...netip.Prefix) {
	t.Helper()
	waitFor(t, what, 60*time.Second, func() (bool, string) {
		got := receivedNow(t, m)
		if len(got) != len(want) {
			return false, dump(got)
		}
		for _, p := range want {
			if _, ok := got[p]; !ok {
				return false, dump(got)
			}
		}
		return true, ""
	})
}

// garbageCache accepts RTR connections, reads the query, answers with bytes that are no RTR PDU
// and reports the Error Report the client sends back.
func garbageCache(t *testing.T) (addr string, reports <-chan *rpki.ErrorReport) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *rpki.ErrorReport, 16)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, _, err := rpki.ReadPDU(c, nil); err != nil {
					return
				}
				if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: rtr\r\n\r\n")); err != nil {
					return
				}
				raw, _, err := rpki.ReadPDU(c, nil)
				if err != nil {
					return
				}
				if p, err := rpki.Decode(raw); err == nil {
					if er, ok := p.(*rpki.ErrorReport); ok {
						select {
						case ch <- er:
						default:
						}
					}
				}
			}()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String(), ch
}

// TestRPKIStayRTR: an RTR version 1 session to StayRTR; a route whose origin turns invalid in the
// cache's file disappears from the other member without a session reset and comes back when the
// file is restored; a cache that sends garbage gets an Error Report and disturbs nothing; when the
// preferred cache dies the second takes over with no route change; when both are gone past the
// expire interval every route is "not checked" and reject-invalid lets the invalid route through.
func TestRPKIStayRTR(t *testing.T) {
	peers.Require(t, "stayrtr", "bird", "birdc")
	vrps := filepath.Join(t.TempDir(), "vrps.json")
	writeVRPs(t, vrps, 65061)
	lo := adr("127.0.0.1")
	c1 := peers.StartStayRTR(t, peers.StayRTRConfig{Dir: t.TempDir(), Addr: lo, VRPFile: vrps, Protocol: 1})
	c2 := peers.StartStayRTR(t, peers.StayRTRConfig{Dir: t.TempDir(), Addr: lo, VRPFile: vrps, Protocol: 1})
	bad, reports := garbageCache(t)
	c1Addr, c2Addr := fmt.Sprintf("127.0.0.1:%d", c1.Port()), fmt.Sprintf("127.0.0.1:%d", c2.Port())
	// Refresh every second so that the short expire interval only runs out when no cache answers.
	sender, receiver := rpkiMembers()
	rs := startRouteServer(t, rpkiConfig(sender, receiver, fmt.Sprintf(`caches = [
  { address = %q, preference = 1 },
  { address = %q, preference = 2 },
  { address = %q, preference = 3 },
]
refresh = "1s"
expire = "4s"`, c1Addr, c2Addr, bad)))
	startMembers(t, rs, []*member{sender, receiver})
	hasExactly(t, receiver, "valid routes only", rtrValid, rtrChanges)
	if !rs.logContains(`cache=` + c1Addr + ` version=1`) {
		t.Fatal("no version 1 End of Data from the preferred cache in the log")
	}
	ups := rs.logCount("session up")
	// The metrics and the looking glass show the cache in use and the VRPs.
	waitFor(t, "the preferred cache up in the metrics", 30*time.Second, func() (bool, string) {
		m := scrape(t, rs)
		return strings.Contains(m, `ixrs_rpki_cache_up{cache="`+c1Addr+`"} 1`) && !strings.Contains(m, `ixrs_rpki_vrps{afi="ipv4"} 0`), m
	})

	select {
	case er := <-reports:
		if er.Code != rpki.CodeUnsupportedVersion && er.Code != rpki.CodeCorruptData {
			t.Fatalf("garbage answered with Error Report code %v", er.Code)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the garbage cache got no Error Report")
	}

	writeVRPs(t, vrps, 65099)
	hasExactly(t, receiver, "the route turned invalid to be withdrawn", rtrValid)
	writeVRPs(t, vrps, 65061)
	hasExactly(t, receiver, "the route valid again to come back", rtrValid, rtrChanges)
	if n := rs.logCount("session up"); n != ups || rs.logCount("session down") != 0 {
		t.Fatalf("sessions were reset by RPKI changes: %d session ups (%d before), %d downs", n, ups, rs.logCount("session down"))
	}

	unchanged := rs.logCount("changed_prefixes=0")
	if err := c1.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second cache to take over", 60*time.Second, func() (bool, string) {
		return rs.logContains(`msg="RPKI: using another RTR cache" component=rpki cache=`+c2Addr) &&
			rs.logCount("changed_prefixes=0") > unchanged, ""
	})
	hasExactly(t, receiver, "the same routes after failover", rtrValid, rtrChanges)

	if err := c2.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the data to expire", 60*time.Second, func() (bool, string) {
		return rs.logContains("no RTR cache has unexpired data"), ""
	})
	hasExactly(t, receiver, "every route not checked, so the invalid one accepted", rtrValid, rtrChanges, rtrInvalid)
	if m := scrape(t, rs); strings.Contains(m, `ixrs_rpki_cache_up{cache="`+c1Addr+`"} 1`) || strings.Contains(m, `ixrs_rpki_cache_up{cache="`+c2Addr+`"} 1`) {
		t.Errorf("a stopped cache is up in the metrics:\n%s", m)
	}
	if n := rs.logCount("session up"); n != ups || rs.logCount("session down") != 0 {
		t.Fatalf("sessions were reset: %d session ups (%d before), %d downs", n, ups, rs.logCount("session down"))
	}
}

// TestRPKIStayRTRVersion0TLS: StayRTR speaking version 0 only, over TLS with a CA of the test's
// own: the route server offers version 1, goes down to 0 when told, and validates with the data.
func TestRPKIStayRTRVersion0TLS(t *testing.T) {
	peers.Require(t, "stayrtr", "bird", "birdc")
	dir := t.TempDir()
	ca, cert, key := testPKI(t, dir)
	vrps := filepath.Join(dir, "vrps.json")
	writeVRPs(t, vrps, 65099) // rtrChanges invalid from the start
	lo := adr("127.0.0.1")
	tlsPort := peers.FreePort(t, lo)
	peers.StartStayRTR(t, peers.StayRTRConfig{Dir: t.TempDir(), Addr: lo, VRPFile: vrps, Protocol: 0,
		TLSPort: tlsPort, TLSCert: cert, TLSKey: key})
	sender, receiver := rpkiMembers()
	rs := startRouteServer(t, rpkiConfig(sender, receiver, fmt.Sprintf(`caches = [
  { address = "127.0.0.1:%d", transport = "tls", tls_ca = %q, version = 1 },
]`, tlsPort, ca)))
	startMembers(t, rs, []*member{sender, receiver})
	hasExactly(t, receiver, "valid routes only", rtrValid)
	if !rs.logContains("asked for a lower protocol version") || !rs.logContains(`cache=127.0.0.1:`+fmt.Sprint(tlsPort)+` version=0`) {
		t.Fatal("no downgrade to version 0 in the log")
	}
}

// testPKI writes a CA and a server certificate for 127.0.0.1 signed by it.
func testPKI(t *testing.T, dir string) (caPath, certPath, keyPath string) {
	t.Helper()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ixrs test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", srvDER), write("key.pem", "EC PRIVATE KEY", keyDER)
}

// scrape returns the route server's /metrics, served on the looking glass startRouteServer set up.
func scrape(t *testing.T, rs *routeServer) string {
	t.Helper()
	if rs.lgPort == 0 {
		t.Fatal("scrape: the test's config chose the looking glass's port")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", rs.lgPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
