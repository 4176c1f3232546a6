package peers

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Pmbmpd is a running pmacct BMP collector (pmbmpd) that logs every BMP message it receives as one
// JSON object per line.
type Pmbmpd struct {
	cmd  *exec.Cmd
	dir  string
	log  string
	done chan struct{}
}

// StartPmbmpd runs pmbmpd on 127.0.0.1:port with its files in dir, until Stop or the end of the
// test. It fails the test when pmbmpd is missing under CI (Require).
func StartPmbmpd(t testing.TB, dir string, port int) *Pmbmpd {
	t.Helper()
	Require(t, "pmbmpd")
	p := &Pmbmpd{dir: dir, log: filepath.Join(dir, "bmp-msglog.json"), done: make(chan struct{})}
	conf := fmt.Sprintf(`daemonize: false
pidfile: %[1]s/pmbmpd.pid
logfile: %[1]s/pmbmpd.log
bmp_daemon_ip: 127.0.0.1
bmp_daemon_port: %[2]d
bmp_daemon_max_peers: 10
bmp_daemon_msglog_file: %[1]s/bmp-msglog.json
bmp_daemon_msglog_output: json
`, dir, port)
	path := filepath.Join(dir, "pmbmpd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	bin, err := lookBinary("pmbmpd")
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "-f", path)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "pmbmpd.log"))
			t.Logf("pmbmpd log:\n%s", b)
		}
	})
	return p
}

// Stop ends pmbmpd with SIGINT (it ignores SIGTERM for a long while), then SIGKILL after 10 s.
func (p *Pmbmpd) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// BMPRecord is the part of a pmbmpd JSON log line the tests read.
type BMPRecord struct {
	Type    string `json:"bmp_msg_type"` // init, peer_up, route_monitor, stats, peer_down, term
	LogType string `json:"log_type"`     // update, withdraw, delete, ...
	PeerIP  string `json:"peer_ip"`
	PeerASN uint32 `json:"peer_asn"`
	BGPID   string `json:"bgp_id"`
	IsPost  int    `json:"is_post"`
	IsOut   int    `json:"is_out"`
	Prefix  string `json:"ip_prefix"`
	ASPath  string `json:"as_path"`
	NextHop string `json:"bgp_nexthop"`
	Comms   string `json:"comms"`
	LComms  string `json:"lcomms"`
	Origin  string `json:"origin"`
	Reason  string `json:"reason_str"`
	Counter string `json:"counter_type_str"`
}

// Records returns the messages logged so far (none before the first arrives).
func (p *Pmbmpd) Records() []BMPRecord {
	f, err := os.Open(p.log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []BMPRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		var r BMPRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}
