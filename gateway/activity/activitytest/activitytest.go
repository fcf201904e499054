// Package activitytest is the conformance suite every activity.Store runs.
package activitytest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/activity"
)

// RunStore checks a store: acknowledgements kept as given, one decision
// per notification (also when two arrive at once), each citizen's own.
func RunStore(t *testing.T, open func(t *testing.T) activity.Store) {
	ctx := context.Background()
	at := time.Date(2026, 3, 20, 9, 30, 0, 0, time.UTC)
	ack := func(subject, id, decision string) activity.Acknowledgement {
		return activity.Acknowledgement{Version: activity.AckVersion, Principal: subject, Source: "enotum", Notification: id,
			Posted: at.Add(-48 * time.Hour), Decision: decision, DecidedAt: at, LoA: "substantial", ContentSHA256: "ab12",
			LegalBasis: activity.LegalBasis}
	}
	t.Run("kept as given", func(t *testing.T) {
		s := open(t)
		a := ack("s1", "N-1", activity.Accepted)
		if err := s.PutAcknowledgement(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := s.Acknowledgements(ctx, "s1")
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], a) {
			t.Fatalf("got %+v %v, want %+v", got, err, a)
		}
		if other, err := s.Acknowledgements(ctx, "s2"); err != nil || len(other) != 0 {
			t.Fatalf("another citizen sees %+v %v", other, err)
		}
	})
	t.Run("one decision per notification", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, d := range []string{activity.Accepted, activity.Rejected} {
			wg.Go(func() { errs[i] = s.PutAcknowledgement(ctx, ack("s1", "N-2", d)) })
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) || !(errors.Is(errs[0], activity.ErrDecided) || errors.Is(errs[1], activity.ErrDecided)) {
			t.Fatalf("two decisions at once: %v", errs)
		}
		if err := s.PutAcknowledgement(ctx, ack("s2", "N-2", activity.Accepted)); err != nil {
			t.Fatalf("another citizen's notification of the same id: %v", err)
		}
	})
}
