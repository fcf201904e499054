package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/obert-gov/obert/gateway/store"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	// gatewayctl migrate [up|status] [--database URL]
	cmd := "up"
	if len(args) > 0 && (args[0] == "up" || args[0] == "status") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database", getenv("OBERT_DATABASE_URL"), "database URL: sqlite:PATH or postgres://…")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gatewayctl migrate: unknown argument %q (migrate [up|status] [--database URL])\n", fs.Arg(0))
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
	if cmd == "status" {
		sc, err := s.SchemaStatus(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "gatewayctl migrate status: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "schema version %d of %d\n", sc.Current, sc.Latest)
		for _, m := range sc.Pending {
			fmt.Fprintf(stdout, "pending %s\n", m)
		}
		if sc.Current > sc.Latest {
			fmt.Fprintln(stdout, "the database is newer than this gatewayctl knows")
			return 1
		}
		return 0
	}
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
