package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// TestDemoConfig: without -config the demo's members join the embedded configuration, the looking
// glass gets their names, and a reload (which reads the configuration again) keeps them.
func TestDemoConfig(t *testing.T) {
	cleanup, err := setupDemo("")
	if err != nil {
		t.Fatal(err)
	}
	dir := demoRun.dir
	defer func() {
		cleanup()
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("demo files left in %s", dir)
		}
	}()
	for _, what := range []string{"start", "reload"} {
		cfg, err := loadConfig("")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(cfg.Members) != 12 || cfg.LookingGlass.ASNNamesFile != demoRun.names {
			t.Fatalf("%s: %d members, names %q", what, len(cfg.Members), cfg.LookingGlass.ASNNamesFile)
		}
		for _, m := range cfg.Members {
			if !strings.HasPrefix(m.Description, "simulated by the ixrs demo") || !m.Passive {
				t.Errorf("%s: member %s: description %q, passive %v", what, m.Name, m.Description, m.Passive)
			}
		}
		if cfg.RPKI.VRPFile == "" {
			t.Errorf("%s: no VRP file for the demo", what)
		}
	}
}

func TestDemoNeedsLoopbackListener(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/config.toml"
	conf := "[server]\nasn = 64500\nrouter_id = \"192.0.2.1\"\nlisten = [\"192.0.2.1:179\"]\npeering_lans = [\"127.0.0.0/8\"]\n[defaults]\nrpki = \"off\"\nirr = \"off\"\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := withDemo(ctx, path, io.Discard, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "must listen on an IPv4 loopback") {
		t.Fatalf("withDemo on a non-loopback listener: %v", err)
	}
	if demoRun != nil {
		t.Error("a failed demo setup stays set")
	}
}

func TestLookingGlassURL(t *testing.T) {
	for l, want := range map[string]string{"127.0.0.1:8080": "http://127.0.0.1:8080/", ":8080": "http://127.0.0.1:8080/",
		"0.0.0.0:80": "http://127.0.0.1:80/", "[::]:8080": "http://[::1]:8080/", "lg.example.net:8080": "http://lg.example.net:8080/"} {
		if got := lookingGlassURL(l); got != want {
			t.Errorf("%s: %s, want %s", l, got, want)
		}
	}
}
