package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/obert-gov/obert/gateway/store"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database", getenv("OBERT_DATABASE_URL"), "database URL: sqlite:PATH or postgres://…")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dbURL == "" {
		fmt.Fprintln(stderr, "gatewayctl migrate: no database: set --database or OBERT_DATABASE_URL")
		return 2
	}
	s, err := store.Open(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stderr, "gatewayctl migrate: %v\n", err)
		return 1
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "gatewayctl migrate: %v\n", err)
		return 1
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %s\n", m)
	}
	return 0
}
