package main

import (
	"context"
	"log/slog"

	"github.com/ixrs/ixrs/config"
)

// run stands in for the route server until run.go wires it; whoever adds
// run.go deletes this file. It blocks until ctx is cancelled.
func run(ctx context.Context, cfg *config.Config, path string, log *slog.Logger) error {
	log.Warn("not wired yet", "detail", "the route server does nothing until cmd/routeserver/run.go exists", "config", path, "members", len(cfg.Members))
	<-ctx.Done()
	return nil
}
