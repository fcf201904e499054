// Command viaoberta-sim runs the Via Oberta simulator on its own: SCSP v3
// census answers for a deterministic synthetic population, signed with its
// own key, for development and tests only.
package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "listen address (loopback)")
	seed := flag.Int64("seed", 1, "population seed")
	n := flag.Int("population", 1000, "number of synthetic citizens")
	trust := flag.String("trust", "", "PEM file with the requester certificate to accept (required)")
	certOut := flag.String("cert-out", "", "write the simulator's certificate (PEM) here")
	faults := flag.Bool("header-faults", true, "let requests choose a fault with X-Sim-Fault")
	remember := flag.Duration("remember", time.Minute, "how long requests and unpolled answers are kept (memory grows with it)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, *seed, *n, *trust, *certOut, *faults, *remember, log); err != nil {
		fmt.Fprintln(os.Stderr, "viaoberta-sim:", err)
		os.Exit(1)
	}
}

func run(addr string, seed int64, n int, trust, certOut string, faults bool, remember time.Duration, log *slog.Logger) error {
	if trust == "" {
		return fmt.Errorf("-trust is required: the simulator accepts only requests signed by that certificate")
	}
	pemBytes, err := os.ReadFile(trust)
	if err != nil {
		return err
	}
	trusted, err := scsp.ParseCertPEM(pemBytes)
	if err != nil {
		return fmt.Errorf("-trust: %w", err)
	}
	now := time.Now()
	key, cert, err := scsp.NewSelfSigned("Via Oberta simulator", now)
	if err != nil {
		return err
	}
	if certOut != "" {
		if err := os.WriteFile(certOut, scsp.CertPEM(cert), 0o644); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Requests are checked against the legal basis of their procedure.
	cat, err := catalogue.Seed()
	if err != nil {
		return err
	}
	r, err := sim.Start(ctx, addr, sim.Config{Population: sim.NewPopulation(seed, n, now), Key: key, Cert: cert,
		Trusted: []*x509.Certificate{trusted}, HeaderFaults: faults, Logger: log, Bases: cat.SCSPBases(), Remember: remember})
	if err != nil {
		return err
	}
	log.Info("Via Oberta simulator (development only) listening", "url", r.URL, "citizens", n)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Close(sctx)
}
