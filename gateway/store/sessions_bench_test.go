package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// BenchmarkSessionLookup measures the read every signed-in request makes
// (GetSession, a session seen a moment ago, so not touched), one at a
// time, on each store. Metric: this process's CPU time per lookup (user
// and system), the client's side of the round trip.
func BenchmarkSessionLookup(b *testing.B) {
	const sessions = 1000
	ctx := context.Background()
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := be.Open(b)
			now := time.Now()
			for i := range sessions {
				err := s.PutSession(ctx, signin.StoredSession{IDHash: fmt.Sprintf("session-%04d", i), Subject: "subject",
					Sealed: make([]byte, 300), CreatedAt: now, LastSeen: now})
				if err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			cpu0 := processCPU()
			for b.Loop() {
				if _, err := s.GetSession(ctx, fmt.Sprintf("session-%04d", i%sessions), now, time.Hour, 12*time.Hour); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N)/1e3, "cpu-µs/lookup")
		})
	}
}
