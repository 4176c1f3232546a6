package config

import (
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

func TestScanPositions(t *testing.T) {
	src := `top = 1 # comment with "quote" and [bracket]
"quoted.key" = 'x'
a.b = { c = 1, d = [2, 3] }
s = """
multi [not = a table]
line ""with"" quotes"""" 
lit = '''
[[not.a.table]]
'''
[server]
listen = [
  "192.0.2.1:179", # first
  [ "nested" ],
]
[[member]]
name = "A"
[[member]]
name = "B"
[[member.sub]]
k = 1
[[member.sub]]
k = 2
[member.tbl]
k = 3
[ rpki ]
caches = [ { address = "x:1" },
           { address = "y:2", preference = 2 } ]
`
	var v map[string]any
	if _, err := toml.Decode(src, &v); err != nil {
		t.Fatalf("the test input is not valid TOML: %v", err)
	}
	want := positions{
		"top":                       {1, 1},
		"quoted.key":                {2, 1},
		"a":                         {3, 1},
		"a.b":                       {3, 1},
		"a.b.c":                     {3, 9},
		"a.b.d":                     {3, 16},
		"a.b.d[0]":                  {3, 21},
		"a.b.d[1]":                  {3, 24},
		"s":                         {4, 1},
		"lit":                       {7, 1},
		"server":                    {10, 1},
		"server.listen":             {11, 1},
		"server.listen[0]":          {12, 3},
		"server.listen[1]":          {13, 3},
		"server.listen[1][0]":       {13, 5},
		"member[0]":                 {15, 1},
		"member[0].name":            {16, 1},
		"member[1]":                 {17, 1},
		"member[1].name":            {18, 1},
		"member[1].sub[0]":          {19, 1},
		"member[1].sub[0].k":        {20, 1},
		"member[1].sub[1]":          {21, 1},
		"member[1].sub[1].k":        {22, 1},
		"member[1].tbl":             {23, 1},
		"member[1].tbl.k":           {24, 1},
		"rpki":                      {25, 1},
		"rpki.caches":               {26, 1},
		"rpki.caches[0]":            {26, 12},
		"rpki.caches[0].address":    {26, 14},
		"rpki.caches[1]":            {27, 12},
		"rpki.caches[1].address":    {27, 14},
		"rpki.caches[1].preference": {27, 31},
	}
	if d := cmp.Diff(want, scanPositions(src), cmp.AllowUnexported(pos{})); d != "" {
		t.Errorf("positions (-want +got):\n%s", d)
	}
}

func TestPositionsLine(t *testing.T) {
	p := positions{"member[1]": {10, 1}, "member[1].neighbors[2]": {13, 5}}
	for path, want := range map[string]int{
		"member[1].neighbors[2]": 13,
		"member[1].neighbors[3]": 10, // not in the file: its table
		"member[1].asn":          10,
		"member[0].asn":          0,
		"":                       0,
	} {
		if got := p.line(path); got != want {
			t.Errorf("line(%q) = %d, want %d", path, got, want)
		}
	}
}

// FuzzScanPositions checks that the scanner terminates without panicking on
// any input, valid TOML or not.
func FuzzScanPositions(f *testing.F) {
	for _, s := range []string{"", "[", "[[", "a = [", `a = "\`, "a = '''", `a = """\`, "{", "a = {b = [1,", "\n\n[x]\ny=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scanPositions(s)
	})
}
