package daemon

import (
	"fmt"
	"hash/maphash"
	"os"
	"runtime/debug"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/rpki"
)

// Data files are re-read on every reload, but at an IXP nearly all of them are unchanged: parsing
// 700 members' IRR files and the VRP file again made a reload cost about half a second before it
// changed anything (BenchmarkReload700). The file cache keeps what each file parsed to, with the
// file's size, modification time and content hash: a file whose size and time are unchanged is not
// read, one whose content hash is unchanged is not parsed, and the value parsed before is returned,
// the same pointer, so that the comparisons after it are cheap too.

// fileStamp identifies one version of a file.
type fileStamp struct {
	size  int64
	mtime time.Time
	sum   contentSum
	// racy: the file was modified within racyWindow of being read, so a later write in the same
	// clock tick might keep size and time: the next look reads and hashes it whatever the stamp.
	racy bool
}

// racyWindow is the age under which a file's modification time is not trusted to tell versions
// apart (coarse file-system clocks).
const racyWindow = 2 * time.Second

// fileEntry is the cached parse of one file, or of the files that make one value.
type fileEntry struct {
	stamps []fileStamp
	value  any
}

// contentSum is a 128-bit keyed hash of a file's content: two runs of hash/maphash with seeds of
// this process. It only tells whether a file read again holds what it held at the last read in the
// same process, so it needs no cryptographic strength; two different contents collide with
// probability 2^-128. SHA-256 took 29 ms of the 40 MB VRP file of 400,000 VRPs on every reload
// (about a quarter of the whole reload); this takes 7.
type contentSum [2]uint64

var sumSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func sumOf(b []byte) contentSum {
	return contentSum{maphash.Bytes(sumSeeds[0], b), maphash.Bytes(sumSeeds[1], b)}
}

// fileCache maps a key (the file's path, or the paths of the files of one value) to its entry.
// Owned by Run's goroutine.
type fileCache struct {
	m map[string]*fileEntry
}

// load returns the value parse makes of the files at paths, reusing the one cached under key when
// no file changed. On error nothing is cached.
//
// With mapped, the files are mapped into memory rather than read (mapFile), and parse must keep
// nothing of data. This is for the VRP file: 40 MB of rpki-client's JSON for 400,000 VRPs, read into
// the heap on every change, was enough allocation to start a collection of the whole RIB's heap
// (docs/rpki.md). A file truncated while mapped faults when read past its new end; the fault is
// turned into an error for this reload (runtime/debug.SetPanicOnFault), and the running data stays.
func (c *fileCache) load(key string, paths []string, mapped bool, parse func(data [][]byte) (any, error)) (v any, err error) {
	e := c.m[key]
	stamps := make([]fileStamp, len(paths))
	fresh := e != nil && len(e.stamps) == len(paths)
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		stamps[i] = fileStamp{size: fi.Size(), mtime: fi.ModTime()}
		if fresh {
			o := e.stamps[i]
			fresh = !o.racy && o.size == stamps[i].size && o.mtime.Equal(stamps[i].mtime)
		}
	}
	if fresh {
		return e.value, nil
	}
	data := make([][]byte, len(paths))
	var maps []int // the indexes of data that are mappings, unmapped when load returns
	if mapped {
		defer func() {
			for _, i := range maps {
				unmapFile(data[i])
			}
		}()
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if f, ok := r.(interface{ Addr() uintptr }); ok {
				for _, i := range maps {
					if within(data[i], f.Addr()) {
						v, err = nil, fmt.Errorf("%s: truncated while being read", paths[i])
						return
					}
				}
			}
			panic(r)
		}()
	}
	same := e != nil && len(e.stamps) == len(paths)
	for i, p := range paths {
		var b []byte
		var err error
		if mapped {
			var m bool
			b, m, err = mapFile(p)
			if m {
				maps = append(maps, i)
			}
		} else {
			b, err = os.ReadFile(p)
		}
		if err != nil {
			return nil, err
		}
		data[i] = b
		// The stamp taken before the read: a write after it leaves a time that differs next time.
		stamps[i].sum = sumOf(b)
		stamps[i].racy = time.Since(stamps[i].mtime) < racyWindow
		same = same && stamps[i].sum == e.stamps[i].sum
	}
	if same {
		e.stamps = stamps
		return e.value, nil
	}
	if v, err = parse(data); err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*fileEntry{}
	}
	c.m[key] = &fileEntry{stamps: stamps, value: v}
	return v, nil
}

// forget drops the entries whose keys are not in keep.
func (c *fileCache) forget(keep map[string]bool) {
	for k := range c.m {
		if !keep[k] {
			delete(c.m, k)
		}
	}
}

// irrKey is the cache key of a member's IRR files.
func irrKey(cfg *config.Config, m config.Member) string {
	return "irr\x00" + resolveOpt(cfg, m.IRRPrefixFile) + "\x00" + resolveOpt(cfg, m.IRRASNFile)
}

func resolveOpt(cfg *config.Config, p string) string {
	if p == "" {
		return ""
	}
	return cfg.Resolve(p)
}

// irr is loadIRR through the cache: member m's IRR data, the same *policy.IRR as last time when
// neither file changed.
func (c *fileCache) irr(cfg *config.Config, m config.Member) (*policy.IRR, error) {
	if m.IRRPrefixFile == "" && m.IRRASNFile == "" {
		return nil, nil
	}
	var paths []string
	if m.IRRPrefixFile != "" {
		paths = append(paths, cfg.Resolve(m.IRRPrefixFile))
	}
	if m.IRRASNFile != "" {
		paths = append(paths, cfg.Resolve(m.IRRASNFile))
	}
	v, err := c.load(irrKey(cfg, m), paths, false, func(data [][]byte) (any, error) {
		var prefixes []policy.IRRPrefix
		var asns []uint32
		i := 0
		if m.IRRPrefixFile != "" {
			var err error
			if prefixes, err = policy.ParseBGPQ4JSON(data[i]); err != nil {
				return nil, fmt.Errorf("irr_prefix_file %s: %w", paths[i], err)
			}
			i++
		}
		if m.IRRASNFile != "" {
			var err error
			if asns, err = policy.ParseASNList(data[i]); err != nil {
				return nil, fmt.Errorf("irr_asn_file %s: %w", paths[i], err)
			}
		}
		return policy.NewIRR(prefixes, asns), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*policy.IRR), nil
}

// vrpFile is rpki.LoadFile through the cache.
func (c *fileCache) vrpFile(path string) (*rpki.Table, error) {
	// ParseTable keeps nothing of the file's bytes.
	v, err := c.load("vrp\x00"+path, []string{path}, true, func(data [][]byte) (any, error) {
		t, err := rpki.ParseTable(data[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*rpki.Table), nil
}
