// Package storetest opens fresh, migrated stores on every configured backend
// for tests: SQLite always, PostgreSQL when OBERT_TEST_POSTGRES names a
// server (make test sets it to the local server and fails if it is down).
// Each PostgreSQL store lives in its own schema, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/obert-gov/obert/gateway/store"
)

// Backend names a backend and opens a fresh store on it.
type Backend struct {
	Name string
	Open func(t testing.TB) *store.Store
}

// Backends returns SQLite and, when configured, PostgreSQL.
func Backends(t testing.TB) []Backend {
	b := []Backend{{Name: "sqlite", Open: OpenSQLite}}
	if PostgresURL() != "" {
		b = append(b, Backend{Name: "postgres", Open: OpenPostgres})
	} else {
		t.Logf("OBERT_TEST_POSTGRES not set: PostgreSQL backend skipped")
	}
	return b
}

// PostgresURL is the server the PostgreSQL tests use, or "" when unset.
func PostgresURL() string { return os.Getenv("OBERT_TEST_POSTGRES") }

// OpenUnmigrated opens a fresh, empty store on b's database, for tests of
// migrations.
func OpenUnmigrated(t testing.TB, b Backend) *store.Store {
	t.Helper()
	u := "sqlite:" + filepath.Join(t.TempDir(), "obert.db")
	if b.Name == "postgres" {
		u, _ = SchemaURL(t, PostgresURL())
	}
	s, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open %s: %v", b.Name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// OpenSQLite opens a migrated SQLite store in a temporary directory.
func OpenSQLite(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "obert.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return s
}

// OpenPostgres creates a fresh schema, opens a migrated store confined to it
// and drops the schema when the test ends. It fails the test when the server
// is configured but unreachable.
func OpenPostgres(t testing.TB) *store.Store {
	t.Helper()
	base := PostgresURL()
	if base == "" {
		t.Skip("OBERT_TEST_POSTGRES not set")
	}
	u, schema := SchemaURL(t, base)
	ctx := context.Background()
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate postgres (schema %s): %v", schema, err)
	}
	return s
}

// SchemaURL creates a fresh schema on the server at base and returns a URL
// whose connections use it, for tests that start several processes on one
// database. The schema is dropped at cleanup.
func SchemaURL(t testing.TB, base string) (string, string) {
	t.Helper()
	ctx := context.Background()
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "obert_test_" + hex.EncodeToString(rnd[:])
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL at OBERT_TEST_POSTGRES is unreachable: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatalf("OBERT_TEST_POSTGRES: %v", err)
	}
	q := pu.Query()
	q.Set("search_path", schema) // pgx passes unknown keys as run-time parameters
	pu.RawQuery = q.Encode()
	return pu.String(), schema
}
