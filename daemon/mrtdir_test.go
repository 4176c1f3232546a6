package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMRTDumpDirCreated: a dump_dir that does not exist (several levels of it) is created when
// the daemon starts, and a reload to another missing directory creates that one, so that dumps on
// demand are written instead of failing.
func TestMRTDumpDirCreated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	first := filepath.Join(dir, "var", "mrt")
	base := testServer + memberTOML("A", 65001, "127.0.3.41", "")
	writeConfig(t, path, base+fmt.Sprintf("\n[mrt]\ndump_dir = %q\n", first))
	d, _ := testDaemon(t, path)
	for i, want := range []string{first, filepath.Join(dir, "other", "mrt")} {
		if i > 0 {
			writeConfig(t, path, base+fmt.Sprintf("\n[mrt]\ndump_dir = %q\n", want))
			if _, err := d.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if fi, err := os.Stat(want); err != nil || !fi.IsDir() {
			t.Fatalf("dump_dir %s not created: %v", want, err)
		}
		res, err := d.DumpMRT(context.Background())
		if err != nil {
			t.Fatalf("dump into %s: %v", want, err)
		}
		if filepath.Dir(res.Accepted) != want {
			t.Errorf("dump written to %s, want in %s", res.Accepted, want)
		}
		if _, err := os.Stat(res.Accepted); err != nil {
			t.Error(err)
		}
	}
}
