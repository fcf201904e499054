package store_test

import (
	"context"
	"errors"
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
			r := adminapi.Registration{ID: "dep", Owner: "gencat", Spec: []byte(`{"id":"dep"}`), Active: true, CreatedAt: t0, UpdatedAt: t0}
			if err := s.CreateConnector(ctx, r); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateConnector(ctx, r); !errors.Is(err, adminapi.ErrExists) {
				t.Fatalf("duplicate id: %v", err)
			}
			if _, err := s.GetConnector(ctx, "ajbcn", "dep"); !errors.Is(err, adminapi.ErrNotFound) {
				t.Fatalf("another administration read it: %v", err)
			}
			r.Owner = "ajbcn"
			if err := s.UpdateConnector(ctx, r); !errors.Is(err, adminapi.ErrNotFound) {
				t.Fatalf("another administration changed it: %v", err)
			}
			r.Owner, r.Active, r.Spec, r.UpdatedAt = "gencat", false, []byte(`{"id":"dep","v":2}`), t0.Add(time.Hour)
			if err := s.UpdateConnector(ctx, r); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetConnector(ctx, "gencat", "dep")
			if err != nil || got.Active || string(got.Spec) != `{"id":"dep","v":2}` || !got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
				t.Fatalf("after update: %+v %v", got, err)
			}
			s.CreateConnector(ctx, adminapi.Registration{ID: "other", Owner: "ajbcn", Spec: []byte(`{}`), Active: true, CreatedAt: t0, UpdatedAt: t0})
			if l, _ := s.ListConnectors(ctx, "gencat"); len(l) != 1 {
				t.Fatalf("gencat's list: %+v", l)
			}
			if l, _ := s.ListConnectors(ctx, ""); len(l) != 2 {
				t.Fatalf("all: %+v", l)
			}
		})
	}
}
