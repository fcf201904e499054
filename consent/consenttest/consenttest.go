// Package consenttest holds the conformance tests every consent.Store must
// pass; each backend's tests call RunStore.
package consenttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obert-gov/obert/consent"
)

// RunStore runs the conformance suite against stores made by newStore; each
// call must return an empty store.
func RunStore(t *testing.T, newStore func(t testing.TB) consent.Store) {
	t.Run("CreateGetList", func(t *testing.T) { testCreateGetList(t, newStore(t)) })
	t.Run("Active", func(t *testing.T) { testActive(t, newStore(t)) })
	t.Run("ActiveGrants", func(t *testing.T) { testActiveGrants(t, newStore(t)) })
	t.Run("Withdraw", func(t *testing.T) { testWithdraw(t, newStore(t)) })
	t.Run("WithdrawRace", func(t *testing.T) { testWithdrawRace(t, newStore(t)) })
	t.Run("PauseResume", func(t *testing.T) { testPauseResume(t, newStore(t)) })
	t.Run("ClaimRequestRace", func(t *testing.T) { testClaimRequestRace(t, newStore(t)) })
	t.Run("ReleaseRequest", func(t *testing.T) { testReleaseRequest(t, newStore(t)) })
}

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func grant(id, subject, category string, granted time.Time) consent.Grant {
	return consent.Grant{
		ID: id, Subject: subject, Category: category, Purpose: "aid-recommendation",
		Requester: "gencat-drets-socials", Source: "padro-municipal", LegalBasis: consent.BasisConsent,
		TextVersion: "v1", Language: "ca", GrantedAt: granted, ExpiresAt: granted.Add(30 * 24 * time.Hour),
	}
}

func testCreateGetList(t *testing.T, s consent.Store) {
	ctx := context.Background()
	g1 := grant("g1", "alice", "census", t0)
	g2 := grant("g2", "alice", "tax", t0.Add(time.Minute))
	g3 := grant("g3", "bob", "census", t0)
	for _, g := range []consent.Grant{g1, g2, g3} {
		if err := s.CreateGrant(ctx, g); err != nil {
			t.Fatalf("CreateGrant(%s): %v", g.ID, err)
		}
	}
	if err := s.CreateGrant(ctx, g1); !errors.Is(err, consent.ErrAlreadyExists) {
		t.Fatalf("duplicate CreateGrant = %v, want ErrAlreadyExists", err)
	}
	got, err := s.GetGrant(ctx, "alice", "g1")
	if err != nil {
		t.Fatal(err)
	}
	if got != g1 {
		t.Fatalf("GetGrant = %+v, want %+v", got, g1)
	}
	if _, err := s.GetGrant(ctx, "bob", "g1"); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("GetGrant of another subject's grant = %v, want ErrNotFound", err)
	}
	list, err := s.ListGrants(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "g2" || list[1].ID != "g1" {
		t.Fatalf("ListGrants = %v, want g2, g1", ids(list))
	}
	if list, _ := s.ListGrants(ctx, "nobody"); len(list) != 0 {
		t.Fatalf("ListGrants(nobody) = %v", ids(list))
	}
}

func testActive(t *testing.T, s consent.Store) {
	ctx := context.Background()
	old := grant("old", "alice", "census", t0)
	newer := grant("new", "alice", "census", t0.Add(time.Hour))
	for _, g := range []consent.Grant{old, newer} {
		if err := s.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		at   time.Time
		cat  string
		want string
	}{
		{t0.Add(-time.Second), "census", ""},        // before any grant
		{t0.Add(time.Minute), "census", "old"},      // only the old one yet
		{t0.Add(2 * time.Hour), "census", "new"},    // newest wins
		{t0.Add(2 * time.Hour), "tax", ""},          // other category
		{t0.Add(31 * 24 * time.Hour), "census", ""}, // both expired
		{newer.ExpiresAt.Add(-time.Microsecond), "census", "new"},
	}
	for _, c := range cases {
		g, err := s.ActiveGrant(ctx, "alice", c.cat, "aid-recommendation", c.at)
		switch {
		case c.want == "" && !errors.Is(err, consent.ErrNotFound):
			t.Errorf("ActiveGrant(%s at %v) = %s, %v; want ErrNotFound", c.cat, c.at, g.ID, err)
		case c.want != "" && (err != nil || g.ID != c.want):
			t.Errorf("ActiveGrant(%s at %v) = %s, %v; want %s", c.cat, c.at, g.ID, err, c.want)
		}
	}
	if _, err := s.ActiveGrant(ctx, "alice", "census", "proactive-alerts", t0.Add(time.Hour)); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("ActiveGrant for another purpose = %v, want ErrNotFound", err)
	}
}

// testActiveGrants: the lookup of several categories at once finds, for
// each, what ActiveGrant finds.
func testActiveGrants(t *testing.T, s consent.Store) {
	ctx := context.Background()
	other := grant("other-purpose", "alice", "employment", t0)
	other.Purpose = "proactive-alerts"
	withdrawn := grant("withdrawn", "alice", "housing", t0)
	for _, g := range []consent.Grant{
		grant("census-old", "alice", "census", t0),
		grant("census-new", "alice", "census", t0.Add(time.Hour)),
		grant("tax", "alice", "tax", t0.Add(time.Minute)),
		grant("bob-employment", "bob", "employment", t0),
		other, withdrawn,
	} {
		if err := s.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.WithdrawGrant(ctx, "alice", "withdrawn", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	cats := []string{"census", "tax", "employment", "housing"}
	for _, at := range []time.Time{t0.Add(-time.Second), t0.Add(30 * time.Second), t0.Add(2 * time.Hour), t0.Add(31 * 24 * time.Hour)} {
		got, err := s.ActiveGrants(ctx, "alice", "aid-recommendation", cats, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cats {
			want, err := s.ActiveGrant(ctx, "alice", c, "aid-recommendation", at)
			g, ok := got[c]
			switch {
			case errors.Is(err, consent.ErrNotFound) && ok:
				t.Errorf("at %v, %s: %s, where ActiveGrant finds none", at, c, g.ID)
			case err == nil && (!ok || g != want):
				t.Errorf("at %v, %s: %s (%v), where ActiveGrant finds %s", at, c, g.ID, ok, want.ID)
			}
		}
		if len(got) > len(cats) {
			t.Errorf("at %v: %d grants for %d categories", at, len(got), len(cats))
		}
	}
	got, err := s.ActiveGrants(ctx, "alice", "aid-recommendation", cats, t0.Add(2*time.Hour))
	if err != nil || len(got) != 2 || got["census"].ID != "census-new" || got["tax"].ID != "tax" {
		t.Errorf("at t0+2h: %v, %v; want census-new and tax", got, err)
	}
	if got, err := s.ActiveGrants(ctx, "alice", "aid-recommendation", nil, t0.Add(2*time.Hour)); err != nil || len(got) != 0 {
		t.Errorf("no categories: %v, %v", got, err)
	}
}

func testWithdraw(t *testing.T, s consent.Store) {
	ctx := context.Background()
	g := grant("g", "alice", "census", t0)
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WithdrawGrant(ctx, "bob", "g", t0.Add(time.Minute)); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("withdraw by another subject = %v, want ErrNotFound", err)
	}
	if _, err := s.ActiveGrant(ctx, "alice", "census", "aid-recommendation", t0.Add(time.Minute)); err != nil {
		t.Fatalf("grant no longer active after a refused withdrawal: %v", err)
	}
	w, err := s.WithdrawGrant(ctx, "alice", "g", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !w.WithdrawnAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("WithdrawnAt = %v", w.WithdrawnAt)
	}
	if _, err := s.ActiveGrant(ctx, "alice", "census", "aid-recommendation", t0.Add(2*time.Minute)); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("withdrawn grant still active: %v", err)
	}
	if _, err := s.WithdrawGrant(ctx, "alice", "g", t0.Add(3*time.Minute)); !errors.Is(err, consent.ErrAlreadyWithdrawn) {
		t.Fatalf("second withdrawal = %v, want ErrAlreadyWithdrawn", err)
	}
	got, _ := s.GetGrant(ctx, "alice", "g")
	if !got.WithdrawnAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("second withdrawal moved withdrawn_at to %v", got.WithdrawnAt)
	}
	if _, err := s.WithdrawGrant(ctx, "alice", "missing", t0); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("withdraw of unknown grant = %v, want ErrNotFound", err)
	}
}

// testWithdrawRace withdraws while many goroutines check: exactly one
// withdrawal wins, and no check that starts after it returns sees the grant.
func testWithdrawRace(t *testing.T, s consent.Store) {
	ctx := context.Background()
	for i := range 5 {
		if err := s.CreateGrant(ctx, grant(fmt.Sprint("r", i), "alice", "census", t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wins := make(chan string, 50)
	for i := range 5 {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.WithdrawGrant(ctx, "alice", fmt.Sprint("r", i), t0.Add(time.Hour)); err == nil {
					wins <- fmt.Sprint("r", i)
				} else if !errors.Is(err, consent.ErrAlreadyWithdrawn) {
					t.Errorf("withdraw: %v", err)
				}
			}()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.ActiveGrant(ctx, "alice", "census", "aid-recommendation", t0.Add(time.Hour)); err != nil && !errors.Is(err, consent.ErrNotFound) {
					t.Errorf("active: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	close(wins)
	n := 0
	for range wins {
		n++
	}
	if n != 5 {
		t.Fatalf("%d withdrawals succeeded, want exactly 5 (one per grant)", n)
	}
	if g, err := s.ActiveGrant(ctx, "alice", "census", "aid-recommendation", t0.Add(2*time.Hour)); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("after all withdrawals ActiveGrant = %s, %v", g.ID, err)
	}
}

func ids(gs []consent.Grant) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

// testPauseResume: a paused grant authorises nothing until resumed, pausing
// twice or a withdrawn grant is refused, and GrantByID finds it by id.
func testPauseResume(t *testing.T, s consent.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	g := grant("g1", "alice", "census", t0)
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	p, err := s.PauseGrant(ctx, "alice", "g1", t0.Add(time.Hour), true)
	if err != nil || p.PausedAt.IsZero() || p.State(t0.Add(2*time.Hour)) != "paused" {
		t.Fatalf("pause: %+v %v", p, err)
	}
	if _, err := s.ActiveGrant(ctx, "alice", "census", "aid-recommendation", t0.Add(2*time.Hour)); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("a paused grant is active: %v", err)
	}
	if got, _ := s.ActiveGrants(ctx, "alice", "aid-recommendation", []string{"census"}, t0.Add(2*time.Hour)); len(got) != 0 {
		t.Fatalf("a paused grant is active: %v", got)
	}
	if _, err := s.PauseGrant(ctx, "alice", "g1", t0.Add(time.Hour), true); !errors.Is(err, consent.ErrInvalid) {
		t.Fatalf("paused twice: %v", err)
	}
	if _, err := s.PauseGrant(ctx, "bob", "g1", t0.Add(time.Hour), false); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("someone else resumed it: %v", err)
	}
	r, err := s.PauseGrant(ctx, "alice", "g1", t0.Add(3*time.Hour), false)
	if err != nil || !r.PausedAt.IsZero() {
		t.Fatalf("resume: %+v %v", r, err)
	}
	if _, err := s.ActiveGrant(ctx, "alice", "census", "aid-recommendation", t0.Add(4*time.Hour)); err != nil {
		t.Fatalf("a resumed grant is not active: %v", err)
	}
	s.WithdrawGrant(ctx, "alice", "g1", t0.Add(5*time.Hour))
	if _, err := s.PauseGrant(ctx, "alice", "g1", t0.Add(6*time.Hour), true); !errors.Is(err, consent.ErrAlreadyWithdrawn) {
		t.Fatalf("paused a withdrawn grant: %v", err)
	}
	if b, err := s.GrantByID(ctx, "g1"); err != nil || b.Subject != "alice" || b.State(t0.Add(6*time.Hour)) != "withdrawn" {
		t.Fatalf("by id: %+v %v", b, err)
	}
	if _, err := s.GrantByID(ctx, "nope"); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("an unknown id: %v", err)
	}
}

// dailyGrant stores alice's grant g1, granted at t0 with a day's interval
// between requests.
func dailyGrant(t *testing.T, s consent.Store) (g consent.Grant, t0 time.Time) {
	t.Helper()
	t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	g = grant("g1", "alice", "census", t0)
	g.MinInterval = 24 * time.Hour
	if err := s.CreateGrant(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	return g, t0
}

// testClaimRequestRace: of requests racing on one grant with an interval,
// one is claimed; the next is claimed only once the interval has passed.
func testClaimRequestRace(t *testing.T, s consent.Store) {
	ctx := context.Background()
	g, t0 := dailyGrant(t, s)
	var wg sync.WaitGroup
	var won atomic.Int32
	for range 8 {
		wg.Go(func() {
			if ok, err := s.ClaimRequest(ctx, "g1", time.Time{}, t0.Add(time.Hour), g.MinInterval); err == nil && ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d racing requests claimed, want 1", won.Load())
	}
	if ok, _ := s.ClaimRequest(ctx, "g1", t0.Add(time.Hour), t0.Add(23*time.Hour), g.MinInterval); ok {
		t.Fatal("claimed within the interval")
	}
	if ok, _ := s.ClaimRequest(ctx, "g1", time.Time{}, t0.Add(25*time.Hour), g.MinInterval); ok {
		t.Fatal("claimed in place of a request that is no longer the last")
	}
	if ok, _ := s.ClaimRequest(ctx, "g1", t0.Add(time.Hour), t0.Add(25*time.Hour), g.MinInterval); !ok {
		t.Fatal("not claimed once the interval passed")
	}
	if got, _ := s.GetGrant(ctx, "alice", "g1"); !got.LastRequest.Equal(t0.Add(25*time.Hour)) || got.MinInterval != g.MinInterval {
		t.Fatalf("the grant after claims: %+v", got)
	}
}

// testReleaseRequest: a claim given back restores the request before it,
// so the source may be asked at once; a claim another has replaced, or a
// time that was never claimed, is left as it is.
func testReleaseRequest(t *testing.T, s consent.Store) {
	ctx := context.Background()
	g, t0 := dailyGrant(t, s)
	last := func() time.Time {
		t.Helper()
		got, err := s.GetGrant(ctx, "alice", "g1")
		if err != nil {
			t.Fatal(err)
		}
		return got.LastRequest
	}
	t1 := t0.Add(time.Hour + 123456*time.Microsecond)
	if ok, err := s.ClaimRequest(ctx, "g1", time.Time{}, t1, g.MinInterval); err != nil || !ok {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, err := s.ReleaseRequest(ctx, "g1", time.Time{}, t1.Add(time.Microsecond)); err != nil || ok || !last().Equal(t1) {
		t.Fatalf("a time never claimed was released: %v %v, last %v", ok, err, last())
	}
	if ok, err := s.ReleaseRequest(ctx, "g1", time.Time{}, t1); err != nil || !ok || !last().IsZero() {
		t.Fatalf("release: %v %v, last %v", ok, err, last())
	}
	// Given back: the next request may go at once, and counts.
	t2 := t1.Add(time.Minute)
	if ok, err := s.ClaimRequest(ctx, "g1", time.Time{}, t2, g.MinInterval); err != nil || !ok {
		t.Fatalf("claim after a release: %v %v", ok, err)
	}
	t3 := t2.Add(25 * time.Hour)
	if ok, err := s.ClaimRequest(ctx, "g1", t2, t3, g.MinInterval); err != nil || !ok {
		t.Fatalf("claim a day later: %v %v", ok, err)
	}
	// Replaced: the older claim is not given back over the newer.
	if ok, err := s.ReleaseRequest(ctx, "g1", time.Time{}, t2); err != nil || ok || !last().Equal(t3) {
		t.Fatalf("a replaced claim was released: %v %v, last %v", ok, err, last())
	}
	if ok, err := s.ReleaseRequest(ctx, "g1", t2, t3); err != nil || !ok || !last().Equal(t2) {
		t.Fatalf("release back to an earlier request: %v %v, last %v", ok, err, last())
	}
	if ok, err := s.ReleaseRequest(ctx, "nope", time.Time{}, t3); err != nil || ok {
		t.Fatalf("an unknown grant: %v %v", ok, err)
	}
}
