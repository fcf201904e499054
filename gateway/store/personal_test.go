package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// TestPersonal: favourites, life events and the folder's layout are kept
// per citizen, marking twice keeps one, and erasure removes them all.
func TestPersonal(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			for i, f := range []struct{ kind, ref string }{{"aid", "imv"}, {"procedure", "register-birth"}, {"document", "census-certificate"}, {"aid", "imv"}} {
				if err := s.SetFavourite(ctx, "alice", f.kind, f.ref, true, t0.Add(time.Duration(i)*time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.SetFavourite(ctx, "alice", "planet", "mars", true, t0); err == nil {
				t.Fatal("a favourite of an unknown kind was stored")
			}
			s.SetFavourite(ctx, "bob", "aid", "rgc", true, t0)
			fs, err := s.Favourites(ctx, "alice")
			if err != nil || len(fs) != 3 || fs[0].Ref != "imv" || !fs[0].CreatedAt.Equal(t0) {
				t.Fatalf("favourites: %+v %v", fs, err)
			}
			s.SetFavourite(ctx, "alice", "procedure", "register-birth", false, t0)
			if fs, _ := s.Favourites(ctx, "alice"); len(fs) != 2 {
				t.Fatalf("after unmarking: %+v", fs)
			}
			s.SetLifeEvent(ctx, "alice", "having-a-child", true, t0)
			s.SetLifeEvent(ctx, "alice", "moving-home", true, t0.Add(time.Hour))
			s.SetLifeEvent(ctx, "alice", "having-a-child", true, t0.Add(2*time.Hour))
			es, _ := s.LifeEvents(ctx, "alice")
			if len(es) != 2 || es[0].Event != "having-a-child" || !es[0].Since.Equal(t0) {
				t.Fatalf("life events: %+v", es)
			}
			if _, ok, err := s.LayoutOf(ctx, "alice"); ok || err != nil {
				t.Fatalf("a layout nobody set: %v %v", ok, err)
			}
			l := store.Layout{Sections: []string{"favourites", "life-events", "steps"}, Hidden: []string{"steps"}, UpdatedAt: t0}
			s.SetLayout(ctx, "alice", l)
			l.Hidden = nil
			s.SetLayout(ctx, "alice", l)
			got, ok, _ := s.LayoutOf(ctx, "alice")
			if !ok || !reflect.DeepEqual(got.Sections, l.Sections) || got.Hidden != nil {
				t.Fatalf("layout: %+v", got)
			}
			e, err := s.EraseSubject(ctx, "alice", "")
			if err != nil || e.Personal != 2+2+1 {
				t.Fatalf("erased %+v %v", e, err)
			}
			fs, _ = s.Favourites(ctx, "alice")
			es, _ = s.LifeEvents(ctx, "alice")
			_, ok, _ = s.LayoutOf(ctx, "alice")
			if len(fs)+len(es) != 0 || ok {
				t.Fatal("erasure left favourites, life events or the layout")
			}
			if fs, _ := s.Favourites(ctx, "bob"); len(fs) != 1 {
				t.Fatal("erasing alice touched bob")
			}
		})
	}
}
