package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The looking-glass clients' own process (ixbench -lg-client). Run inside ixbench, beside the
// hundreds of member sessions that keep both CPUs busy, a client's measured latency was mostly its
// wait for Go's scheduler: one client measured a page p99 of seconds while ixrs's own histogram had
// every page answered within 50 ms. Real looking-glass users and Alice-LG hosts are other machines,
// so the clients run in a process of their own, scheduled by the kernel against the members and
// ixrs like any other program. ixbench starts it (lgRun.start) with an lgClientSpec as one JSON line
// on its standard input; the clients run until a line "stop" (or the end of the input, or the
// spec's limit), and the process then writes an lgClientReport as JSON to its standard output and
// exits. Its CPU time is read by ixbench when it exits.

// lgClientFlag runs ixbench as the clients' process.
const lgClientFlag = "-lg-client"

// lgClientSpec is what the clients' process needs: where the looking glass is, the client model,
// and the samples its queries draw on.
type lgClientSpec struct {
	Base     string   `json:"base"` // http://ADDR:PORT of the looking glass
	Mode     string   `json:"mode"` // lgUsers, or anything else for exempt clients
	Clients  int      `json:"clients"`
	Record   bool     `json:"record"`    // record latencies (the churn window), or only count requests
	Members  []string `json:"members"`   // the members' session addresses, for their received routes
	Prefixes []string `json:"prefixes"`  // prefixes of the table, for lookups
	Origins  []uint32 `json:"origins"`   // right-most ASNs of the workload's paths
	InPath   []uint32 `json:"in_path"`   // ASNs behind the members, for AS-path patterns
	LimitS   float64  `json:"limit_s"`   // the process stops by itself after this long
	Timeout  float64  `json:"timeout_s"` // bound of one request (0: 30 s)
}

// lgClientReport is what the clients' process reports when told to stop.
type lgClientReport struct {
	Served  int64       `json:"served"`            // requests completed, recorded or not
	Latency []LGLatency `json:"latency,omitempty"` // per query kind, in lgKinds order (Record only)
}

// lgClientMain is the clients' process: spec from in, report to out.
func lgClientMain(in io.Reader, out io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "ixbench "+lgClientFlag+":", err)
		return 1
	}
	br := bufio.NewReader(in)
	line, err := br.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return fail(fmt.Errorf("reading the spec: %w", err))
	}
	var spec lgClientSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fail(fmt.Errorf("the spec: %w", err))
	}
	c, err := newLGClients(spec)
	if err != nil {
		return fail(err)
	}
	// The machine's CPUs, whatever GOMAXPROCS ixbench was given.
	runtime.GOMAXPROCS(runtime.NumCPU())
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		for {
			l, err := br.ReadString('\n')
			if err != nil || strings.TrimSpace(l) == "stop" {
				return
			}
		}
	}()
	c.start(spec.Clients, spec.Record)
	limit := time.NewTimer(time.Duration(spec.LimitS * float64(time.Second)))
	select {
	case <-stop:
	case <-limit.C:
		fmt.Fprintf(os.Stderr, "ixbench %s: not stopped within %gs, stopping\n", lgClientFlag, spec.LimitS)
	}
	limit.Stop()
	// What the clients did until now: requests still in flight (one per client at most) complete
	// after the report, as they did after the window when the clients ran inside ixbench.
	c.halt()
	rep := lgClientReport{Served: c.served.Load()}
	if spec.Record {
		rep.Latency = c.latencies()
	}
	c.wait()
	if err := json.NewEncoder(out).Encode(rep); err != nil {
		return fail(err)
	}
	return 0
}

// lgClients are the closed-loop clients of one start/stop (lg.go's models).
type lgClients struct {
	base     string
	mode     string
	hc       *http.Client
	members  []string
	prefixes []string
	origins  []uint32
	inPath   []uint32

	stopc chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	rec     map[string]*lgSamples
	started time.Time
	served  atomic.Int64
}

type lgSamples struct {
	d              []time.Duration
	routes         int
	partial, stale int
	errors         int
	limited, busy  int
	lastErr        string
}

func newLGClients(spec lgClientSpec) (*lgClients, error) {
	if spec.Clients > 0 && (len(spec.Members) == 0 || len(spec.Prefixes) == 0 || len(spec.Origins) == 0 || len(spec.InPath) == 0) {
		return nil, errors.New("the spec lacks members, prefixes, origins or ASNs in paths")
	}
	if spec.LimitS <= 0 {
		return nil, errors.New("the spec has no time limit")
	}
	t := time.Duration(spec.Timeout * float64(time.Second))
	if t <= 0 {
		t = 30 * time.Second
	}
	n := spec.Clients + 1
	return &lgClients{base: spec.Base, mode: spec.Mode, members: spec.Members, prefixes: spec.Prefixes, origins: spec.Origins,
		inPath: spec.InPath, hc: &http.Client{Timeout: t, Transport: &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n,
			MaxConnsPerHost: n, IdleConnTimeout: time.Minute}}}, nil
}

// start starts n clients; record decides whether their latencies count.
func (c *lgClients) start(n int, record bool) {
	c.mu.Lock()
	c.rec = nil
	if record {
		c.rec = map[string]*lgSamples{}
	}
	c.started = time.Now()
	c.mu.Unlock()
	c.served.Store(0)
	c.stopc = make(chan struct{})
	for i := 0; i < n; i++ {
		c.wg.Add(1)
		go c.client(i, c.stopc)
	}
}

// halt tells the clients to start no further request.
func (c *lgClients) halt() {
	if c.stopc != nil {
		close(c.stopc)
		c.stopc = nil
	}
}

// wait waits for the halted clients' last requests (each bounded by the client timeout).
func (c *lgClients) wait() {
	c.wg.Wait()
}

func (c *lgClients) client(i int, stop <-chan struct{}) {
	defer c.wg.Done()
	hc := c.hc
	if c.mode == lgUsers {
		hc = userClient(userAddr(i), c.hc.Timeout)
		defer hc.CloseIdleConnections()
	}
	rng := rand.New(rand.NewPCG(uint64(i)+1, 0x1a))
	var buf bytes.Buffer // the client's answers, one after the other
	for k := i; ; k++ {
		if stopped(stop) {
			return
		}
		var wait time.Duration
		switch kind := lgKinds[k%len(lgKinds)]; kind {
		case lgPage:
			// A member's received routes, first page and then, as a person paging on, up to two more.
			m := c.members[rng.IntN(len(c.members))]
			u := c.base + "/api/v1/sessions/" + m + "/routes/received?limit=" + fmt.Sprint(lgPageSize)
			next := ""
			for pg := 1 + rng.IntN(3); pg > 0; pg-- {
				if next != "" && stopped(stop) {
					break
				}
				q := u
				if next != "" {
					q += "&cursor=" + url.QueryEscape(next)
				}
				if next, wait = c.get(hc, &buf, kind, q); next == "" {
					break
				}
			}
		case lgLookup:
			p := c.prefixes[rng.IntN(len(c.prefixes))]
			_, wait = c.get(hc, &buf, kind, c.base+"/api/v1/lookup?prefix="+url.QueryEscape(p))
		case lgOrigin:
			a := c.origins[rng.IntN(len(c.origins))]
			_, wait = c.get(hc, &buf, kind, fmt.Sprintf("%s/api/v1/search/origin?q=AS%d&limit=%d", c.base, a, lgPageSize))
		case lgPath:
			a := c.inPath[rng.IntN(len(c.inPath))]
			_, wait = c.get(hc, &buf, kind, fmt.Sprintf("%s/api/v1/search/as-path?q=%s&limit=%d", c.base, url.QueryEscape(fmt.Sprintf("_%d_", a)), lgPageSize))
		}
		// A person's browser waits as told; the worst case (exempt) goes on at once.
		if wait > 0 && c.mode == lgUsers {
			t := time.NewTimer(min(wait, lgMaxWait))
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// stopped tells whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// userAddr is client i's own source address in the users model: 127.1.0.1, 127.1.0.2, ...
// (rsAddr, 127.1.255.254, is out of reach of any sensible client count).
func userAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 1, byte(i / 250), byte(i%250 + 1)})
}

// userClient is an HTTP client whose connections come from addr, so that the route server's rate
// limits see it as a client of its own.
func userClient(addr netip.Addr, timeout time.Duration) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: addr.AsSlice()}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.DialContext,
		MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}}
}

// retryAfter reads a Retry-After header in seconds; 1 s when absent or unreadable.
func retryAfter(h http.Header) time.Duration {
	n, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || n < 1 {
		n = 1
	}
	return time.Duration(n) * time.Second
}

// get runs one request to its last byte and returns the answer's next cursor, and for a refused
// request (429 rate limited, 503 busy) how long the route server asked to wait. An answer (200)
// must be a page of routes in JSON; anything else but a refusal or a stale cursor (409) is an error.
func (c *lgClients) get(hc *http.Client, buf *bytes.Buffer, kind, u string) (string, time.Duration) {
	t0 := time.Now()
	resp, err := hc.Get(u)
	var page lgPageSummary
	status := 0
	var wait time.Duration
	if err == nil {
		status = resp.StatusCode
		buf.Reset() // the client's buffer keeps its room from one answer to the next
		_, err = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		body := buf.Bytes()
		switch {
		case err != nil:
		case status == http.StatusOK:
			page, err = pageSummary(body)
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			wait = retryAfter(resp.Header)
		case status != http.StatusConflict:
			err = fmt.Errorf("HTTP %d: %.200s", status, body)
		}
	}
	d := time.Since(t0)
	c.served.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec == nil {
		return page.next, wait
	}
	s := c.rec[kind]
	if s == nil {
		s = &lgSamples{}
		c.rec[kind] = s
	}
	switch {
	case err != nil:
		s.errors++
		s.lastErr = err.Error()
	case status == http.StatusConflict:
		s.stale++
	case status == http.StatusTooManyRequests:
		s.limited++
	case status == http.StatusServiceUnavailable:
		s.busy++
	default:
		s.d = append(s.d, d)
		s.routes += page.routes
		if page.partial {
			s.partial++
		}
	}
	return page.next, wait
}

// latencies summarizes what the clients recorded since start.
func (c *lgClients) latencies() []LGLatency {
	c.mu.Lock()
	defer c.mu.Unlock()
	secs := time.Since(c.started).Seconds()
	var out []LGLatency
	for _, k := range lgKinds {
		s := c.rec[k]
		if s == nil {
			out = append(out, LGLatency{Kind: k})
			continue
		}
		slices.Sort(s.d)
		ms := func(q float64) float64 {
			if len(s.d) == 0 {
				return 0
			}
			i := int(math.Ceil(q*float64(len(s.d)))) - 1
			return float64(s.d[max(i, 0)].Microseconds()) / 1000
		}
		lt := LGLatency{Kind: k, N: len(s.d), P50: ms(0.50), P99: ms(0.99), Max: ms(1), Partial: s.partial, Stale: s.stale,
			Errors: s.errors, LastErr: s.lastErr, Limited: s.limited, Busy: s.busy, PerSecnd: float64(len(s.d)) / secs}
		if len(s.d) > 0 {
			lt.Routes = float64(s.routes) / float64(len(s.d))
		}
		out = append(out, lt)
	}
	return out
}
