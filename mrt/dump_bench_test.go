package mrt

import (
	"context"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/ixrs/ixrs/internal/rstest"
)

// cpuTime is the process's user and system CPU time: on a shared machine the wall time of a dump
// says as much about the neighbours as about the dump.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadBenchRIB fills a RIB with members×perMember IPv4 routes: member i announces prefixes
// 10.x.y.0/24 in UPDATEs of 10 prefixes, each UPDATE with its own path (so one attribute set per
// 10 routes, as members' tables have many origins), and every 12th prefix is also announced by the
// next member, so that some prefixes have two entries.
func loadBenchRIB(b *testing.B, members, perMember int) (*Dumper, int) {
	b.Helper()
	s := rstest.StartRIB(b, 8)
	routes := 0
	for i := range members {
		m := rstest.AddMember(b, s, fmt.Sprintf("m%d", i), uint32(64600+i), fmt.Sprintf("192.0.2.%d", 10+i))
		var batch []string
		flush := func(k int) {
			if len(batch) > 0 {
				m.Announce(m.Attrs(uint32(4200000000+k)), batch...)
				routes += len(batch)
				batch = batch[:0]
			}
		}
		for k := range perMember {
			n := i*perMember + k
			batch = append(batch, fmt.Sprintf("10.%d.%d.0/24", n>>8&0xff, n&0xff))
			if n>>16 != 0 {
				batch[len(batch)-1] = fmt.Sprintf("%d.%d.%d.0/24", 11+n>>16, n>>8&0xff, n&0xff)
			}
			if i > 0 && k%12 == 0 { // shared with the previous member
				n = (i-1)*perMember + k + 1
				batch = append(batch, fmt.Sprintf("10.%d.%d.0/24", n>>8&0xff, n&0xff))
				if n>>16 != 0 {
					batch[len(batch)-1] = fmt.Sprintf("%d.%d.%d.0/24", 11+n>>16, n>>8&0xff, n&0xff)
				}
			}
			if len(batch) >= 10 {
				flush(n)
			}
		}
		flush(i)
	}
	rstest.Settle(b, s, routes)
	return New(s, Config{Dir: b.TempDir(), Keep: 1, RouterID: netip.MustParseAddr("192.0.2.1"), Logger: quiet}), routes
}

// BenchmarkDump is one full dump of a 100,000-route table (both files, synced and renamed), and
// the walk alone (the feed's replay into the snapshot): per route, what the RIB loop and the
// dumper together spend, in wall time and in the process's CPU time (cpu-ns/route, which includes
// the garbage collector's work for the dump).
func BenchmarkDump(b *testing.B) {
	d, routes := loadBenchRIB(b, 100, 1000)
	ctx := context.Background()
	b.Run("walk", func(b *testing.B) {
		b.ReportAllocs()
		cpu := cpuTime(b)
		for range b.N {
			if _, _, err := d.walk(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*routes), "ns/route")
		b.ReportMetric(float64((cpuTime(b)-cpu).Nanoseconds())/float64(b.N*routes), "cpu-ns/route")
	})
	b.Run("dump", func(b *testing.B) {
		b.ReportAllocs()
		var res Result
		cpu := cpuTime(b)
		for range b.N {
			var err error
			if res, err = d.Dump(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if res.AcceptedRoutes != routes {
			b.Fatalf("dump holds %d routes, want %d", res.AcceptedRoutes, routes)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*routes), "ns/route")
		b.ReportMetric(float64((cpuTime(b)-cpu).Nanoseconds())/float64(b.N*routes), "cpu-ns/route")
		b.ReportMetric(float64(res.Bytes)/float64(routes), "bytes/route")
	})
}
