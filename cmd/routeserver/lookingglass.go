package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/daemon"
	"github.com/ixrs/ixrs/lookingglass"
)

// startLookingGlass serves the looking glass (web UI, /api/v1, the compatibility shapes and, unless
// it has its own listener, /metrics) on [lookingglass] listen until ctx is done. It returns nil
// when no listener is configured. A listener that cannot be opened is an error: the operator asked
// for it.
func startLookingGlass(ctx context.Context, cfg *config.Config, d *daemon.Daemon, prom *promMetrics, log *slog.Logger) (*lookingglass.Server, error) {
	if cfg.LookingGlass.Listen == "" {
		return nil, nil
	}
	l, err := net.Listen("tcp", cfg.LookingGlass.Listen)
	if err != nil {
		return nil, fmt.Errorf("[lookingglass] listen: %w", err)
	}
	lg := lookingglass.New(cfg, d.LookingGlass(), log.With("component", "lookingglass"))
	prom.mount(lg)
	d.SetLookingGlassTimes(lg.RequestDurations)
	go func() {
		if err := lg.Serve(ctx, l); err != nil {
			log.Error("looking glass stopped", "err", err)
		}
	}()
	log.Info("looking glass listening", "url", "http://"+l.Addr().String()+"/")
	return lg, nil
}
