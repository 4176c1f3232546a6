package rstest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestMembers(t *testing.T) {
	s := StartRIB(t, 3)
	a := AddMember(t, s, "A", 64501, "192.0.2.11")
	b := AddMember(t, s, "B", 4200000001, "192.0.2.12")
	if c := a.Attrs().Communities; len(c) != 1 || c[0] != 64501<<16|100 {
		t.Errorf("A's communities %v, want 64501:100", c)
	}
	if c := b.Attrs().Communities; len(c) != 1 || c[0] != 23456<<16|100 {
		t.Errorf("B's communities %v, want 23456:100 (AS_TRANS)", c)
	}
	if nh := b.MPNextHop(); nh != netip.MustParseAddr("2001:db8:ffff::12") {
		t.Errorf("B's IPv6 next hop %s", nh)
	}
	a.Announce(a.Attrs(64512), "203.0.113.0/24", "2001:db8:100::/48")
	a.Announce(a.Attrs(1, 2, 3), "198.51.100.0/24") // 4 ASNs: received, then filtered
	b.Announce(b.Attrs(), "2001:db8:200::/48")
	Settle(t, s, 4)
	a.Withdraw("203.0.113.0/24")
	Settle(t, s, 3)
}

// Only tests import this package: the route server's binaries must not carry it.
func TestOnlyTestsImport(t *testing.T) {
	root := filepath.Join("..", "..")
	const self = "github.com/ixrs/ixrs/internal/rstest"
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			if p, _ := strconv.Unquote(im.Path.Value); p == self {
				t.Errorf("%s imports %s", path, self)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read %d Go files below %s: not the module's root", files, root)
	}
}
