package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/daemon"
	"github.com/ixrs/ixrs/metrics"
)

// promMetrics is the route server's Prometheus side: the collector over the daemon, the reload
// counters kept around Reload, and the separate [metrics] listener when one is configured.
type promMetrics struct {
	reloads  *metrics.Reloads
	handler  http.Handler
	separate bool // served on [metrics] listen, not on the looking glass
}

// startMetrics builds /metrics for d and, when [metrics] listen is set, serves it there until ctx
// is done. A listener that cannot be opened is an error: the operator asked for it.
func startMetrics(ctx context.Context, cfg *config.Config, d *daemon.Daemon, log *slog.Logger) (*promMetrics, error) {
	m := &promMetrics{reloads: metrics.NewReloads(time.Now())}
	c := metrics.NewCollector(d.MetricsSource(m.reloads), metrics.Options{Version: version, Logger: log.With("component", "metrics")})
	m.handler = metrics.Handler(c)
	if cfg.Metrics.Listen == "" {
		return m, nil
	}
	l, err := net.Listen("tcp", cfg.Metrics.Listen)
	if err != nil {
		return nil, fmt.Errorf("[metrics] listen: %w", err)
	}
	m.separate = true
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.handler)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 16 << 10, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	go func() {
		if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("serving /metrics", "listen", l.Addr().String())
	return m, nil
}

// mounter is the looking glass's Mount.
type mounter interface {
	Mount(path string, h http.Handler)
}

// mount serves /metrics on the looking glass unless it has its own listener.
func (m *promMetrics) mount(lg mounter) {
	if !m.separate {
		lg.Mount("/metrics", m.handler)
	}
}
