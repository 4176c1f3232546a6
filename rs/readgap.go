package rs

import "time"

// Read gaps. A looking-glass query waits on the RIB loop for its turn (read.go): in the middle of a
// pass (readTurn, between units of routing work) and in the background phase. How long it waits is
// the longest stretch of loop work between two such chances. The loop notes every chance (a site)
// while a query waits, and the stretch since the previous one: Stats.ReadGaps counts the stretches
// by length, and one longer than readGapLog is logged at debug level with the sites it ran between,
// which names the unit of work that kept the queries waiting.

// readSite is a point of the pass where waiting queries may be served.
type readSite uint8

const (
	sitePass       readSite = iota // the start of a pass, before its control requests and events
	siteInbound                    // after one inbound message
	siteCohort                     // after one cohort pull
	siteOutbound                   // after one session's outbound slice
	siteBackground                 // the background phase's read step
	siteCohortStep                 // inside a cohort pull: between its prefixes, and before its queueing
	sitePosted                     // not a site: where a stretch starts when a query was posted mid-stretch
	numReadSites
)

var readSiteNames = [numReadSites]string{"pass start", "inbound message", "cohort pull", "session output", "background",
	"inside a cohort pull", "query posted"}

func (w readSite) String() string { return readSiteNames[w] }

// readGapLog is the stretch without a read turn that is logged (at debug level).
const readGapLog = 50 * time.Millisecond

// readGaps follows the stretches between read sites.
type readGaps struct {
	at   time.Time // the previous site's time
	site readSite  // the previous site
}

// readSiteAt notes that the loop reached site at now; when a query waits, the stretch since the
// previous site is counted (and logged when long). While no query waits the sites do not read the
// clock (readTurn); the first site that finds one counts from the query's posting (mailbox.since).
func (s *Server) readSiteAt(site readSite, now time.Time) {
	g := &s.gaps
	if s.quickReads == 0 && s.mail.reads.Load() == 0 {
		g.at = time.Time{}
		return
	}
	if ns := s.mail.since.Swap(0); ns != 0 && g.at.IsZero() {
		g.at, g.site = time.Unix(0, ns), sitePosted
	}
	if !g.at.IsZero() {
		d := now.Sub(g.at)
		s.stats.readGaps.observe(d)
		s.stats.readGapNanos += uint64(d)
		if d > readGapLog {
			s.log.Debug("read gap", "from", g.site.String(), "to", site.String(), "ms", d.Milliseconds())
		}
	}
	g.at, g.site = now, site
}
