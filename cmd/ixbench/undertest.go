package main

import "fmt"

// startUnderTest starts the daemon a run measures (startProc) and returns it with the run's fail.
// fail records why the run failed in *failed, with the daemon's last output lines when it has
// exited (the usual reason a run fails), and the daemon's CPU seconds and peak RSS until then in
// *cpu and *peak; it returns *res, so that a phase that fails ends with `return fail(...)`. The
// three pointers are fields of *res: Result, MRTResult and ReevalResult name them alike but are
// separate types. The caller stops the daemon.
func startUnderTest[R any](argv []string, dir string, multi bool, res *R, failed *string, cpu *float64, peak *int64) (
	*proc, func(format string, args ...any) R, error) {
	p, err := startProc(argv, dir, multi)
	if err != nil {
		return nil, nil, err
	}
	fail := func(format string, args ...any) R {
		*failed = fmt.Sprintf(format, args...) + p.exitNote()
		*cpu, *peak = p.usage()
		return *res
	}
	return p, fail, nil
}

// exitNote is "; daemon exited: " and the daemon's last output lines once it has exited, "" while it runs.
func (p *proc) exitNote() string {
	if !p.exited() {
		return ""
	}
	return "; daemon exited: " + p.tail(5)
}

// closeSessions closes the members' connections that are open when a run ends, however it ends.
func closeSessions(ss []*session) {
	for _, s := range ss {
		if s.conn != nil {
			s.conn.Close()
		}
	}
}
