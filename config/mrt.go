package config

import "time"

// MRT is the [mrt] table: TABLE_DUMP_V2 dumps of the Adj-RIB-In (RFC 6396, docs/mrt.md).
type MRT struct {
	// DumpDir is the directory dumps are written to; "" disables MRT dumps. Relative to the
	// configuration file's directory.
	DumpDir string `toml:"dump_dir"`
	// DumpInterval is the period of scheduled dumps; 0: on demand only (rsctl mrt dump).
	DumpInterval time.Duration `toml:"dump_interval"`
	// Keep is how many dumps are kept (each an accepted and a filtered file); 0 keeps all.
	Keep int `toml:"keep"`
}

func (c *Config) validateMRT(r *reporter) {
	m, sc := &c.MRT, scope{}.child("mrt")
	if m.DumpInterval < 0 {
		r.report(sc.child("dump_interval"), ": must not be negative")
	} else if m.DumpInterval > 0 && m.DumpInterval < time.Minute {
		r.report(sc.child("dump_interval"), " %s: must be at least 1m (a dump walks the whole table)", m.DumpInterval)
	}
	if m.DumpInterval > 0 && m.DumpDir == "" {
		r.report(sc.child("dump_dir"), ": required with mrt.dump_interval")
	}
	if m.Keep < 0 {
		r.report(sc.child("keep"), ": must not be negative")
	}
}
