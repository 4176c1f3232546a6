package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// State kept across restarts (docs/operations.md, "State kept across restarts"). What an operator
// sets at run time and expects to find after a restart — the members shut down with their RFC 9003
// message, and graceful shutdown of the route server — is written to admin-state.json in
// [server] state_dir each time it changes, atomically (a temporary file in the same directory,
// synced, then renamed over the old one), and read once at start.
//
// A state file that cannot be read or decoded does not stop the route server: it starts with every
// member enabled and graceful shutdown off, logs the problem at error level, reports it in
// AdminStatus (rsctl show summary), and moves the file aside to admin-state.json.corrupt so that
// the next write does not destroy what an operator may want to read. Refusing to start would take
// every member's sessions down over a file the operator can fix later; starting with members shut
// down that nobody chose would be worse.
//
// Graceful shutdown is kept, too: an operator who switched it on before a restart (maintenance, an
// upgrade) wants traffic to stay on the other route server until they switch it off, not to be
// pulled back by the restart itself.

// stateFile is the state's file name inside [server] state_dir.
const stateFile = "admin-state.json"

// stateVersion is the format of stateFile; a file of another version is refused.
const stateVersion = 1

// maxStateSize bounds the state file read at start (a few hundred bytes per member shut down).
const maxStateSize = 16 << 20

// adminShutdown is a member's administrative shutdown in force.
type adminShutdown struct {
	Message string
	Since   time.Time
}

// savedState is the content of stateFile.
type savedState struct {
	Version          int             `json:"version"`
	GracefulShutdown bool            `json:"graceful_shutdown"`
	ShutdownMembers  []savedShutdown `json:"shutdown_members"`
}

type savedShutdown struct {
	Member  string    `json:"member"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"`
}

// decodeState decodes a state file strictly: unknown fields, another version, a member without a
// name or named twice, and anything after the JSON object are refused.
func decodeState(b []byte) (savedState, error) {
	var st savedState
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return savedState{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return savedState{}, errors.New("data after the state object")
	}
	if st.Version != stateVersion {
		return savedState{}, fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	}
	seen := map[string]bool{}
	for _, s := range st.ShutdownMembers {
		if s.Member == "" {
			return savedState{}, errors.New("a shut-down member without a name")
		}
		if seen[s.Member] {
			return savedState{}, fmt.Errorf("member %q listed twice", s.Member)
		}
		seen[s.Member] = true
	}
	return st, nil
}

func encodeState(st savedState) []byte {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		panic(err) // strings, booleans and times only
	}
	return append(b, '\n')
}

// statePath returns the state file's path, "" without [server] state_dir.
func (d *Daemon) statePath() string {
	if d.cfg.Server.StateDir == "" {
		return ""
	}
	return filepath.Join(d.cfg.Resolve(d.cfg.Server.StateDir), stateFile)
}

// loadState reads the state file into d.adminDown and returns whether graceful shutdown was on.
// Members no longer configured are dropped. Run's goroutine, before the members are added.
func (d *Daemon) loadState() (gshut bool) {
	path := d.statePath()
	if path == "" {
		d.log.Warn("no [server] state_dir: members shut down and graceful shutdown do not survive a restart")
		return false
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		d.stateFailed("state directory cannot be created; members shut down and graceful shutdown will not survive a restart", err)
		return false
	}
	b, err := readBounded(path, maxStateSize)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	var st savedState
	if err == nil {
		st, err = decodeState(b)
	}
	if err != nil {
		d.stateFailed("state file refused: starting with every member enabled and graceful shutdown off", err)
		if rerr := os.Rename(path, path+".corrupt"); rerr != nil {
			d.log.Error("state file not moved aside", "path", path, "err", rerr)
		} else {
			d.log.Error("state file moved aside for inspection", "path", path+".corrupt")
		}
		return false
	}
	names := map[string]bool{}
	for _, m := range d.cfg.Members {
		names[m.Name] = true
	}
	dropped := false
	for _, s := range st.ShutdownMembers {
		if !names[s.Member] {
			d.log.Warn("state: administrative shutdown dropped, the member is no longer configured", "member", s.Member)
			dropped = true
			continue
		}
		d.adminDown[s.Member] = adminShutdown{Message: s.Message, Since: s.Since}
		d.log.Warn("member administratively shut down (kept from before the restart)", "member", s.Member,
			"message", s.Message, "since", s.Since)
	}
	if st.GracefulShutdown {
		d.log.Warn("graceful shutdown of the route server is on (kept from before the restart): every route is sent with GRACEFUL_SHUTDOWN until `rsctl graceful-shutdown off`")
	}
	if dropped {
		d.writeState(st.GracefulShutdown)
	}
	return st.GracefulShutdown
}

// saveState writes the administrative state in force; Run's goroutine. A failure is logged and
// reported in AdminStatus: what the operator asked for is in force, only not kept for a restart.
func (d *Daemon) saveState() { d.writeState(d.rib.GracefulShutdown()) }

func (d *Daemon) writeState(gshut bool) {
	path := d.statePath()
	if path == "" {
		return
	}
	st := savedState{Version: stateVersion, GracefulShutdown: gshut, ShutdownMembers: []savedShutdown{}}
	for _, name := range sortedKeys(d.adminDown) {
		a := d.adminDown[name]
		st.ShutdownMembers = append(st.ShutdownMembers, savedShutdown{Member: name, Message: a.Message, Since: a.Since})
	}
	if err := writeFileAtomic(path, encodeState(st)); err != nil {
		d.stateFailed("state not written; it will not survive a restart", err)
		return
	}
	d.stateProblem = ""
}

func (d *Daemon) stateFailed(what string, err error) {
	d.stateProblem = fmt.Sprintf("%s: %v", what, err)
	d.log.Error(what, "path", d.statePath(), "err", err)
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// writeFileAtomic replaces path with data so that a reader (or a crash) sees either the old file
// or the new one, never a mix: a temporary file in the same directory, synced, renamed over path,
// then the directory synced so that the rename itself is durable.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if df, err := os.Open(dir); err == nil {
		df.Sync() // best effort: not every file system syncs directories
		df.Close()
	}
	return nil
}
