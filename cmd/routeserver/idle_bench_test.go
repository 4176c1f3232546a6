package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkIdleRSS reports what is resident in processes that hold no routes: the routeserver with 20
// passive members and no session, and programs that only import one of the libraries it is built on
// and wait (testdata/importonly; "all" imports the five together). Read from /proc/PID/status after
// idleSettle: RSS-MiB (VmRSS), anon-MiB (heap, stacks and runtime), file-MiB (pages of the program
// file and the C library; the kernel maps a file's pages around each one touched, so touching a page
// here and there makes most of the file resident) and peak-MiB (VmHWM). It is the part of every
// benchmark's peak memory that does not depend on the table (docs/architecture.md, "Memory"):
//
//	go test ./cmd/routeserver -run XXX -bench IdleRSS -benchtime 1x
func BenchmarkIdleRSS(b *testing.B) {
	b.Run("routeserver", func(b *testing.B) {
		var conf strings.Builder
		conf.WriteString("[server]\nasn = 64500\nrouter_id = \"192.0.2.1\"\nlisten = [\"127.0.0.1:0\"]\n" +
			"peering_lans = [\"127.0.0.0/8\"]\n[lookingglass]\nlisten = \"127.0.0.1:0\"\n[defaults]\nrpki = \"off\"\nirr = \"off\"\n")
		for i := 1; i <= 20; i++ {
			fmt.Fprintf(&conf, "[[member]]\nname = \"M%d\"\nasn = %d\nneighbors = [\"127.0.9.%d\"]\npassive = true\n", i, 64600+i, i)
		}
		path := filepath.Join(b.TempDir(), "config.toml")
		if err := os.WriteFile(path, []byte(conf.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		idleRSS(b, func() *exec.Cmd { return exec.Command(binary, "-config", path, "-log-format", "json") },
			`"msg":"route server running"`)
	})
	for _, name := range []string{"empty", "toml", "gobgp", "nethttp", "echo", "prometheus", "all"} {
		b.Run(name, func(b *testing.B) {
			bin := filepath.Join(b.TempDir(), name)
			if out, err := exec.Command("go", "build", "-o", bin, "./testdata/importonly/"+name).CombinedOutput(); err != nil {
				b.Fatalf("go build: %v\n%s", err, out)
			}
			idleRSS(b, func() *exec.Cmd { return exec.Command(bin) }, "")
		})
	}
}

// idleSettle is how long a process runs before its memory is read.
const idleSettle = 2 * time.Second

// idleRSS runs idleOnce on the command cmd returns, once per iteration, and reports the memory read.
func idleRSS(b *testing.B, cmd func() *exec.Cmd, ready string) {
	b.Helper()
	var m procMem
	for b.Loop() {
		m = idleOnce(b, cmd(), ready)
	}
	b.ReportMetric(m.rss, "RSS-MiB")
	b.ReportMetric(m.anon, "anon-MiB")
	b.ReportMetric(m.file, "file-MiB")
	b.ReportMetric(m.peak, "peak-MiB")
}

// procMem is a process's memory in MiB, from /proc/PID/status.
type procMem struct{ rss, anon, file, peak float64 }

// idleOnce starts cmd, waits for a line of its standard error containing ready (for nothing when
// ready is empty), then idleSettle, reads its memory and kills it.
func idleOnce(b *testing.B, cmd *exec.Cmd, ready string) procMem {
	b.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	up := make(chan bool, 1)
	go func() {
		found := ready == ""
		if found {
			up <- true
		}
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if !found && strings.Contains(sc.Text(), ready) {
				found = true
				up <- true
			}
		}
		if !found {
			up <- false
		}
	}()
	select {
	case ok := <-up:
		if !ok {
			b.Fatalf("%s exited before %q", cmd.Path, ready)
		}
	case <-time.After(30 * time.Second):
		b.Fatalf("%s: no %q within 30s", cmd.Path, ready)
	}
	time.Sleep(idleSettle)
	m, err := readProcMem(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// readProcMem reads VmRSS, RssAnon, RssFile and VmHWM of process pid.
func readProcMem(pid int) (procMem, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procMem{}, err
	}
	var m procMem
	fields := map[string]*float64{"VmRSS:": &m.rss, "RssAnon:": &m.anon, "RssFile:": &m.file, "VmHWM:": &m.peak}
	seen := 0
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" || fields[f[0]] == nil {
			continue
		}
		kb, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return procMem{}, fmt.Errorf("/proc/%d/status: %q: %w", pid, line, err)
		}
		*fields[f[0]] = kb / 1024
		seen++
	}
	if seen != len(fields) {
		return procMem{}, fmt.Errorf("/proc/%d/status: %d of the %d memory lines", pid, seen, len(fields))
	}
	return m, nil
}
