package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/adminapi"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func TestAdminConnectorStore(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			if v, err := s.CatalogueVersion(ctx); err != nil || v != 0 {
				t.Fatalf("a fresh catalogue's version: %d %v", v, err)
			}
			r := adminapi.Registration{ID: "dep", Owner: "gencat", Spec: []byte(`{"id":"dep"}`), Active: true, CreatedAt: t0, UpdatedAt: t0}
			created, err := s.CreateConnector(ctx, r)
			if err != nil || created.Version != 1 {
				t.Fatalf("create: %+v %v", created, err)
			}
			if _, err := s.CreateConnector(ctx, r); !errors.Is(err, adminapi.ErrExists) {
				t.Fatalf("duplicate id: %v", err)
			}
			if v, _ := s.CatalogueVersion(ctx); v != 1 {
				t.Fatalf("a refused create moved the version to %d", v)
			}
			if _, err := s.GetConnector(ctx, "ajbcn", "dep"); !errors.Is(err, adminapi.ErrNotFound) {
				t.Fatalf("another administration read it: %v", err)
			}
			r.Owner = "ajbcn"
			if _, err := s.UpdateConnector(ctx, r, created.Version); !errors.Is(err, adminapi.ErrNotFound) {
				t.Fatalf("another administration changed it: %v", err)
			}
			r.Owner, r.Active, r.Spec, r.UpdatedAt = "gencat", false, []byte(`{"id":"dep","v":2}`), t0.Add(time.Hour)
			if _, err := s.UpdateConnector(ctx, r, created.Version+5); !errors.Is(err, adminapi.ErrStale) {
				t.Fatalf("a change against a version that is not the current one: %v", err)
			}
			updated, err := s.UpdateConnector(ctx, r, created.Version)
			if err != nil || updated.Version != 2 {
				t.Fatalf("update: %+v %v", updated, err)
			}
			if _, err := s.UpdateConnector(ctx, r, created.Version); !errors.Is(err, adminapi.ErrStale) {
				t.Fatalf("a second change against the first version: %v", err)
			}
			got, err := s.GetConnector(ctx, "gencat", "dep")
			if err != nil || got.Active || string(got.Spec) != `{"id":"dep","v":2}` || !got.CreatedAt.Equal(t0) ||
				!got.UpdatedAt.Equal(t0.Add(time.Hour)) || got.Version != 2 {
				t.Fatalf("after update: %+v %v", got, err)
			}
			if _, err := s.CreateConnector(ctx, adminapi.Registration{ID: "other", Owner: "ajbcn", Spec: []byte(`{}`), Active: true, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			if l, _ := s.ListConnectors(ctx, "gencat"); len(l) != 1 {
				t.Fatalf("gencat's list: %+v", l)
			}
			if l, _ := s.ListConnectors(ctx, ""); len(l) != 2 {
				t.Fatalf("all: %+v", l)
			}
			// Aids share the catalogue's versions.
			aid, err := s.CreateAid(ctx, adminapi.Registration{ID: "a1", Owner: "ajbcn", Spec: []byte(`{}`), Active: true, CreatedAt: t0, UpdatedAt: t0})
			if err != nil || aid.Version != 4 {
				t.Fatalf("aid: %+v %v", aid, err)
			}
			if v, _ := s.CatalogueVersion(ctx); v != 4 {
				t.Fatalf("catalogue version %d after four changes", v)
			}
		})
	}
}

// Concurrent changes against the same version: exactly one wins, and every
// committed change has its own catalogue version.
func TestCatalogueChangesRace(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			r, err := s.CreateAid(ctx, adminapi.Registration{ID: "a1", Owner: "ajbcn", Spec: []byte(`{}`), Active: true, CreatedAt: t0, UpdatedAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					_, errs[i] = s.UpdateAid(ctx, adminapi.Registration{ID: "a1", Owner: "ajbcn", Spec: []byte(`{"n":1}`), Active: true,
						CreatedAt: t0, UpdatedAt: t0}, r.Version)
				})
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, adminapi.ErrStale):
					t.Fatalf("a lost race: %v", err)
				}
			}
			if won != 1 {
				t.Fatalf("%d of %d changes against one version won", won, n)
			}
			if v, _ := s.CatalogueVersion(ctx); v != 2 {
				t.Fatalf("catalogue version %d after two committed changes", v)
			}
		})
	}
}

// On PostgreSQL every committed change wakes the listeners; on SQLite there
// is nothing to listen to and the follower polls.
func TestListenCatalogue(t *testing.T) {
	if storetest.PostgresURL() == "" {
		t.Skip("OBERT_TEST_POSTGRES not set")
	}
	s := storetest.OpenPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wake := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() { s.ListenCatalogue(ctx, wake); close(done) }()
	t0 := time.Now()
	// The listener may not be listening yet: change until it wakes.
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		if _, err := s.CreateAid(ctx, adminapi.Registration{ID: "a" + string(rune('a'+i)), Owner: "ajbcn", Spec: []byte(`{}`),
			Active: true, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-wake:
			cancel()
			<-done
			return
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no notification of a committed catalogue change")
		}
	}
}
