package main

import (
	"context"
	"log/slog"

	"github.com/ixrs/ixrs/admin"
	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/daemon"
	"github.com/ixrs/ixrs/lookingglass"
)

// reloader reloads the configuration the way SIGHUP and `rsctl reload` both do: counted in the
// metrics, and handed to the looking glass when it took.
func reloader(d *daemon.Daemon, prom *promMetrics, lg *lookingglass.Server) func(context.Context) (daemon.ReloadResult, error) {
	return func(ctx context.Context) (daemon.ReloadResult, error) {
		res, err := d.Reload(ctx)
		prom.reloads.Record(err)
		if err == nil && lg != nil {
			lg.Reload(d.Current())
		}
		return res, err
	}
}

// startAdmin opens the [admin] socket and listener (none when unset) until ctx is done.
func startAdmin(ctx context.Context, cfg *config.Config, d *daemon.Daemon, reload func(context.Context) (daemon.ReloadResult, error), log *slog.Logger) error {
	if cfg.Admin.Socket == "" && cfg.Admin.Listen == "" {
		return nil
	}
	s := admin.New(admin.Options{Control: d, Read: d.LookingGlass(), Reload: reload, Version: version,
		Logger: log.With("component", "admin")})
	return s.Listen(ctx, cfg.Admin, cfg.Resolve)
}
