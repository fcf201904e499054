// Package signintest is the conformance suite every signin.Store passes.
package signintest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/signin"
)

// RunStore runs the suite; open returns a fresh, empty store.
func RunStore(t *testing.T, open func(t testing.TB) signin.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

	t.Run("FlowIsTakenOnce", func(t *testing.T) {
		s := open(t)
		f := signin.StoredFlow{IDHash: "f1", Sealed: []byte("sealed"), ExpiresAt: t0.Add(10 * time.Minute)}
		if err := s.PutFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
		got, err := s.TakeFlow(ctx, "f1", t0)
		if err != nil || string(got.Sealed) != "sealed" || !got.ExpiresAt.Equal(f.ExpiresAt) {
			t.Fatalf("take: %+v, %v", got, err)
		}
		if _, err := s.TakeFlow(ctx, "f1", t0); !errors.Is(err, signin.ErrNotFound) {
			t.Fatalf("second take: %v, want ErrNotFound", err)
		}
		if _, err := s.TakeFlow(ctx, "nope", t0); !errors.Is(err, signin.ErrNotFound) {
			t.Fatalf("unknown flow: %v, want ErrNotFound", err)
		}
	})

	t.Run("ExpiredFlowIsRefused", func(t *testing.T) {
		s := open(t)
		s.PutFlow(ctx, signin.StoredFlow{IDHash: "f2", Sealed: []byte("x"), ExpiresAt: t0})
		if _, err := s.TakeFlow(ctx, "f2", t0); !errors.Is(err, signin.ErrNotFound) {
			t.Fatalf("expired flow: %v, want ErrNotFound", err)
		}
	})

	t.Run("ConcurrentTakesOneWins", func(t *testing.T) {
		s := open(t)
		s.PutFlow(ctx, signin.StoredFlow{IDHash: "race", Sealed: []byte("x"), ExpiresAt: t0.Add(time.Minute)})
		var wins, other atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, err := s.TakeFlow(ctx, "race", t0)
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, signin.ErrNotFound):
					other.Add(1)
					t.Errorf("take: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d takes of one flow succeeded, want exactly 1", wins.Load())
		}
	})

	t.Run("SessionTouchAndTimeouts", func(t *testing.T) {
		s := open(t)
		idle, abs := 30*time.Minute, 8*time.Hour
		s.PutSession(ctx, signin.StoredSession{IDHash: "s1", Subject: "sub", Sealed: []byte("id"), CreatedAt: t0, LastSeen: t0})
		got, err := s.GetSession(ctx, "s1", t0.Add(20*time.Minute), idle, abs)
		if err != nil || got.Subject != "sub" || string(got.Sealed) != "id" || !got.LastSeen.Equal(t0.Add(20*time.Minute)) {
			t.Fatalf("get: %+v, %v", got, err)
		}
		// The touch moved last_seen: 40 minutes after start is 20 idle.
		if _, err := s.GetSession(ctx, "s1", t0.Add(40*time.Minute), idle, abs); err != nil {
			t.Fatalf("touched session expired early: %v", err)
		}
		if _, err := s.GetSession(ctx, "s1", t0.Add(71*time.Minute), idle, abs); !errors.Is(err, signin.ErrNotFound) {
			t.Fatalf("idle session: %v, want ErrNotFound", err)
		}
		// And it is gone, not just refused once.
		if _, err := s.GetSession(ctx, "s1", t0.Add(41*time.Minute), idle, abs); !errors.Is(err, signin.ErrNotFound) {
			t.Fatalf("idle session came back: %v", err)
		}

		// Within TouchEvery of its last touch, a use is not written: a
		// session used every half minute keeps its minute-old last_seen,
		// and stays alive past its idle limit counted from the start.
		s.PutSession(ctx, signin.StoredSession{IDHash: "s3", Subject: "sub", Sealed: []byte("id"), CreatedAt: t0, LastSeen: t0})
		half := signin.TouchEvery / 2
		for at := half; at <= 2*idle; at += half {
			got, err := s.GetSession(ctx, "s3", t0.Add(at), idle, abs)
			if err != nil {
				t.Fatalf("session used every %v lost after %v: %v", half, at, err)
			}
			if lag := at - got.LastSeen.Sub(t0); lag < 0 || lag >= signin.TouchEvery {
				t.Fatalf("after %v, last seen %v before", at, lag)
			}
		}
		if _, err := s.GetSession(ctx, "s3", t0.Add(2*idle+idle), idle, abs); !errors.Is(err, signin.ErrNotFound) {
			t.Fatalf("idle session: %v, want ErrNotFound", err)
		}

		s.PutSession(ctx, signin.StoredSession{IDHash: "s2", Subject: "sub", Sealed: []byte("id"), CreatedAt: t0, LastSeen: t0})
		for m := 20; m < 8*60; m += 20 {
			if _, err := s.GetSession(ctx, "s2", t0.Add(time.Duration(m)*time.Minute), idle, abs); err != nil {
				t.Fatalf("active session lost at %d min: %v", m, err)
			}
		}
		if _, err := s.GetSession(ctx, "s2", t0.Add(abs), idle, abs); !errors.Is(err, signin.ErrNotFound) {
			t.Fatalf("session past its absolute limit: %v, want ErrNotFound", err)
		}
	})

	t.Run("ActingIsTheSessions", func(t *testing.T) {
		s := open(t)
		t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
		s.PutSession(ctx, signin.StoredSession{IDHash: "a1", Subject: "alice", Sealed: []byte("x"), CreatedAt: t0, LastSeen: t0})
		s.PutSession(ctx, signin.StoredSession{IDHash: "a2", Subject: "alice", Sealed: []byte("x"), CreatedAt: t0, LastSeen: t0})
		if got, _ := s.GetSession(ctx, "a1", t0, time.Hour, time.Hour); got.Acting != nil {
			t.Fatalf("a new session acts as %q", got.Acting)
		}
		if err := s.SetActing(ctx, "a1", []byte("company")); err != nil {
			t.Fatal(err)
		}
		a1, _ := s.GetSession(ctx, "a1", t0, time.Hour, time.Hour)
		a2, _ := s.GetSession(ctx, "a2", t0, time.Hour, time.Hour)
		if string(a1.Acting) != "company" || a2.Acting != nil {
			t.Fatalf("acting: a1 %q, a2 %q", a1.Acting, a2.Acting)
		}
		if err := s.SetActing(ctx, "a1", nil); err != nil {
			t.Fatal(err)
		}
		if a1, _ := s.GetSession(ctx, "a1", t0, time.Hour, time.Hour); a1.Acting != nil {
			t.Fatalf("acting after clearing: %q", a1.Acting)
		}
		if err := s.SetActing(ctx, "gone", []byte("x")); !errors.Is(err, signin.ErrNotFound) {
			t.Fatalf("a session that does not exist: %v", err)
		}
	})

	t.Run("ListAndEndOwnSessions", func(t *testing.T) {
		s := open(t)
		idle, abs := 30*time.Minute, 8*time.Hour
		s.PutSession(ctx, signin.StoredSession{IDHash: "old", Subject: "alice", Sealed: []byte("x"), CreatedAt: t0, LastSeen: t0})
		s.PutSession(ctx, signin.StoredSession{IDHash: "new", Subject: "alice", Sealed: []byte("y"), CreatedAt: t0.Add(time.Hour), LastSeen: t0.Add(time.Hour)})
		s.PutSession(ctx, signin.StoredSession{IDHash: "idle", Subject: "alice", Sealed: []byte("z"), CreatedAt: t0.Add(-time.Hour), LastSeen: t0.Add(-time.Hour)})
		s.PutSession(ctx, signin.StoredSession{IDHash: "bobs", Subject: "bob", Sealed: []byte("b"), CreatedAt: t0, LastSeen: t0})
		got, err := s.ListSessions(ctx, "alice", t0.Add(10*time.Minute), idle, abs)
		if err != nil || len(got) != 2 || got[0].IDHash != "new" || got[1].IDHash != "old" || string(got[1].Sealed) != "x" {
			t.Fatalf("alice's live sessions, newest first: %+v %v", got, err)
		}
		if err := s.DeleteSessionOf(ctx, "alice", "bobs"); !errors.Is(err, signin.ErrNotFound) {
			t.Fatalf("alice ended bob's session: %v", err)
		}
		if err := s.DeleteSessionOf(ctx, "alice", "old"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ListSessions(ctx, "alice", t0.Add(10*time.Minute), idle, abs); len(got) != 1 || got[0].IDHash != "new" {
			t.Fatalf("after ending one: %+v", got)
		}
		if got, _ := s.ListSessions(ctx, "bob", t0.Add(10*time.Minute), idle, abs); len(got) != 1 {
			t.Fatalf("bob's sessions: %+v", got)
		}
	})

	t.Run("SignOutEverywhere", func(t *testing.T) {
		s := open(t)
		for _, id := range []string{"a1", "a2", "a3"} {
			s.PutSession(ctx, signin.StoredSession{IDHash: id, Subject: "alice", Sealed: []byte("x"), CreatedAt: t0, LastSeen: t0})
		}
		s.PutSession(ctx, signin.StoredSession{IDHash: "b1", Subject: "bob", Sealed: []byte("x"), CreatedAt: t0, LastSeen: t0})
		if err := s.DeleteSession(ctx, "a3"); err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteSessionsOf(ctx, "alice")
		if err != nil || n != 2 {
			t.Fatalf("delete sessions of alice: %d, %v; want 2", n, err)
		}
		for _, id := range []string{"a1", "a2", "a3"} {
			if _, err := s.GetSession(ctx, id, t0, time.Hour, time.Hour*8); !errors.Is(err, signin.ErrNotFound) {
				t.Errorf("session %s survived sign-out everywhere: %v", id, err)
			}
		}
		if _, err := s.GetSession(ctx, "b1", t0, time.Hour, time.Hour*8); err != nil {
			t.Fatalf("another person's session was deleted: %v", err)
		}
	})

	t.Run("DuplicateSessionIDRefused", func(t *testing.T) {
		s := open(t)
		ss := signin.StoredSession{IDHash: "dup", Subject: "a", Sealed: []byte("x"), CreatedAt: t0, LastSeen: t0}
		if err := s.PutSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
		ss.Subject = "b"
		if err := s.PutSession(ctx, ss); err == nil {
			t.Fatal("a second session with the same id was stored")
		}
		got, err := s.GetSession(ctx, "dup", t0, time.Hour, 8*time.Hour)
		if err != nil || got.Subject != "a" {
			t.Fatalf("first session changed: %+v, %v", got, err)
		}
	})

	t.Run("UseOnce", func(t *testing.T) {
		s := open(t)
		if err := s.UseOnce(ctx, "a1", t0.Add(5*time.Minute), t0); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := s.UseOnce(ctx, "a1", t0.Add(5*time.Minute), t0.Add(time.Minute)); !errors.Is(err, signin.ErrReplay) {
			t.Fatalf("second use: %v, want ErrReplay", err)
		}
		if err := s.UseOnce(ctx, "a2", t0.Add(5*time.Minute), t0); err != nil {
			t.Fatalf("another id: %v", err)
		}
		// Once remembered long enough, the row is swept.
		if err := s.UseOnce(ctx, "a1", t0.Add(20*time.Minute), t0.Add(10*time.Minute)); err != nil {
			t.Fatalf("after expiry: %v", err)
		}
	})

	t.Run("ConcurrentUseOnceOneWins", func(t *testing.T) {
		s := open(t)
		var wins, replays atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				err := s.UseOnce(ctx, "shared", t0.Add(time.Minute), t0)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, signin.ErrReplay):
					replays.Add(1)
				default:
					t.Errorf("use once: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || replays.Load() != 7 {
			t.Fatalf("%d wins, %d replays; want 1 and 7", wins.Load(), replays.Load())
		}
	})
}
