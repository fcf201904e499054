package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// TestSchemaGate: a gatewayd refuses a database whose schema is behind it
// (saying to run gatewayctl migrate) or ahead of it (saying it is newer).
func TestSchemaGate(t *testing.T) {
	ctx := context.Background()
	open := map[string]func(t *testing.T) *store.Store{
		"sqlite": func(t *testing.T) *store.Store {
			s, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "fresh.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	if storetest.PostgresURL() != "" {
		open["postgres"] = func(t *testing.T) *store.Store {
			u, _ := storetest.SchemaURL(t, storetest.PostgresURL())
			s, err := store.Open(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	}
	for name, o := range open {
		t.Run(name, func(t *testing.T) {
			s := o(t)
			err := s.CheckSchema(ctx)
			if !errors.Is(err, store.ErrSchema) || !strings.Contains(err.Error(), "gatewayctl migrate") {
				t.Fatalf("an unmigrated database: %v", err)
			}
			sc, err := s.SchemaStatus(ctx)
			if err != nil || sc.Current != 0 || sc.Latest == 0 || len(sc.Pending) != int(sc.Latest) {
				t.Fatalf("status of an unmigrated database: %+v %v", sc, err)
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.CheckSchema(ctx); err != nil {
				t.Fatalf("a migrated database: %v", err)
			}
			// A newer binary migrated it further.
			if _, err := s.DB().ExecContext(ctx, rebind(s, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)`), sc.Latest+1, true); err != nil {
				t.Fatal(err)
			}
			if err := s.CheckSchema(ctx); !errors.Is(err, store.ErrSchema) || !strings.Contains(err.Error(), "newer") {
				t.Fatalf("a database ahead of this binary: %v", err)
			}
		})
	}
}

// rebind numbers q's placeholders for PostgreSQL.
func rebind(s *store.Store, q string) string {
	if s.Flavor() != store.Postgres {
		return q
	}
	for n := 1; strings.Contains(q, "?"); n++ {
		q = strings.Replace(q, "?", "$"+strconv.Itoa(n), 1)
	}
	return q
}
