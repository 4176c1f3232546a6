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

	// Updates logs every UPDATE members send, as it arrived, to BGP4MP files in DumpDir
	// (RFC 6396 §4.4, docs/mrt.md).
	Updates bool `toml:"updates"`
	// UpdatesInterval is how long one update file collects; files end on multiples of it. 0: 15 min.
	UpdatesInterval time.Duration `toml:"updates_interval"`
	// UpdatesKeep is how many update files are kept; 0 keeps all.
	UpdatesKeep int `toml:"updates_keep"`
	// UpdatesMembers limits the update log to these members (by name); empty: every member.
	UpdatesMembers []string `toml:"updates_members"`
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
	if m.Updates && m.DumpDir == "" {
		r.report(sc.child("dump_dir"), ": required with mrt.updates")
	}
	if m.UpdatesInterval < 0 {
		r.report(sc.child("updates_interval"), ": must not be negative")
	} else if m.UpdatesInterval > 0 && m.UpdatesInterval < time.Minute {
		r.report(sc.child("updates_interval"), " %s: must be at least 1m", m.UpdatesInterval)
	}
	if m.UpdatesKeep < 0 {
		r.report(sc.child("updates_keep"), ": must not be negative")
	}
	for i, name := range m.UpdatesMembers {
		if name == "" {
			r.report(sc.child("updates_members").index(i), ": must not be empty")
		}
	}
}
