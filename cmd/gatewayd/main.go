// Command gatewayd serves Obert: the citizen's folder, sign-in, consent,
// data exchange over Via Oberta, recommendations and the public audit log.
//
// Configuration comes from flags and OBERT_* environment variables (see
// gatewayd -h). In dev mode (the default) it starts on an embedded SQLite
// database with development sign-in, a Via Oberta simulator and generated
// keys; prod mode refuses to start without real providers and secrets.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/obert-gov/obert/gateway"
	"github.com/obert-gov/obert/gateway/config"
	"github.com/obert-gov/obert/gateway/obslog"
	"github.com/obert-gov/obert/gateway/ops"
)

// gc is what main set of the garbage collector (collector.go); run logs it.
var gc collector

func main() {
	gc = startCollector()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil))
}

// run starts the gateway and serves until ctx ends. When ready is not nil it
// receives the listening address once the server accepts connections.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) int {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatewayd: %v\n", err)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		fmt.Fprintf(stderr, "gatewayd: OBERT_LOG_LEVEL: %v\n", err)
		return 2
	}
	log := obslog.New(stderr, cfg.LogFormat, level)
	if a := gc.attrs(); len(a) > 0 {
		log.Info("garbage collector set (GOGC and GOMEMLIMIT override)", a...)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "gatewayd: %v\n", err)
		return 1
	}
	// The operations listener (metrics and probes), when it is apart.
	var opsLn net.Listener
	if cfg.OpsAddr != "" {
		if opsLn, err = net.Listen("tcp", cfg.OpsAddr); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "gatewayd: OBERT_OPS_ADDR: %v\n", err)
			return 1
		}
	}
	start := time.Now()
	g, err := gateway.New(ctx, cfg, log)
	if err != nil {
		ln.Close()
		if opsLn != nil {
			opsLn.Close()
		}
		fmt.Fprintf(stderr, "gatewayd: %v\n", err)
		return 1
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := g.Close(cctx); err != nil {
			log.Error("closing", "err", err)
		}
	}()
	log.Info("gatewayd ready", "mode", cfg.Mode, "addr", ln.Addr().String(), "startup", time.Since(start).Round(time.Millisecond))
	banner(stdout, cfg, g)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	srv := &http.Server{
		Handler:           g.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if opsLn != nil {
		opsSrv := &http.Server{Handler: g.Ops, ReadHeaderTimeout: 10 * time.Second, ErrorLog: srv.ErrorLog}
		go func() {
			if err := ops.Serve(ctx, opsSrv, opsLn, cfg.ShutdownTimeout); err != nil {
				log.Error("serve operations", "err", err)
			}
		}()
		log.Info("operations listener", "addr", opsLn.Addr().String())
	}
	if err := ops.Serve(ctx, srv, ln, cfg.ShutdownTimeout); err != nil {
		log.Error("serve", "err", err)
		return 1
	}
	log.Info("gatewayd stopped")
	return 0
}

// banner tells the operator where Obert is and, in dev mode, says so loudly
// and lists the synthetic citizens, one of each archetype first.
func banner(w io.Writer, cfg config.Config, g *gateway.Gateway) {
	fmt.Fprintf(w, "\nObert is listening on %s\n", cfg.PublicURL)
	fmt.Fprintf(w, "  audit log:  %s/log/checkpoint  (verifier key %s)\n", cfg.PublicURL, g.VerifierKey)
	if !cfg.DevMode() {
		return
	}
	fmt.Fprintln(w, "\n*** DEVELOPMENT MODE: generated keys, development sign-in, synthetic data. Never expose it. ***")
	fmt.Fprintf(w, "  database:   %s\n", cfg.DatabaseURL)
	if g.Dev == nil {
		return
	}
	if g.Dev.IdPURL != "" {
		fmt.Fprintf(w, "  dev IdCAT:  %s\n", g.Dev.IdPURL)
	}
	if g.Dev.ClaveURL != "" {
		fmt.Fprintf(w, "  dev Cl@ve:  %s\n", g.Dev.ClaveURL)
	}
	if g.Dev.SimURL != "" {
		fmt.Fprintf(w, "  Via Oberta simulator: %s (its fourth service, for an administration to register: %s/scsp/dependency)\n", g.Dev.SimURL, g.Dev.SimURL)
	}
	if g.Dev.Mail != nil {
		fmt.Fprintf(w, "  mail box:   %s/dev/mail  (alerts sent over SMTP to %s stay here)\n", cfg.PublicURL, g.Dev.Mail.Addr())
	}
	if len(g.Dev.AdminClients) > 0 {
		fmt.Fprintf(w, "\n  Administrations' API (sandbox): %s/admin/v1/openapi.json, tokens at %s/token (client credentials):\n", cfg.PublicURL, g.Dev.IdPURL)
		ids := slices.Sorted(maps.Keys(g.Dev.AdminClients))
		for _, id := range ids {
			fmt.Fprintf(w, "    client %-16s secret %s  (administration %s)\n", id, g.Dev.AdminClients[id].Secret, g.Dev.AdminClients[id].Administration)
		}
	}
	fmt.Fprintf(w, "\n  Synthetic citizens (%d; choose one on the sign-in page):\n", len(g.Dev.Citizens))
	seen := map[string]bool{}
	for _, c := range g.Dev.Citizens {
		if seen[c.Archetype] {
			continue
		}
		seen[c.Archetype] = true
		fmt.Fprintf(w, "    %-10s %-24s %s\n", c.DocNumber, strings.TrimSpace(c.Name+" "+c.Surname1), c.Archetype)
	}
	fmt.Fprintln(w)
}
