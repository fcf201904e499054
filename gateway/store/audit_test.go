package store_test

import (
	"context"
	"testing"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func TestAuditStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			audittest.RunStore(t, func(t testing.TB) (audit.Store, func(string, ...any), func(string, ...any) []byte) {
				s := b.Open(t)
				rebind := func(q string) string {
					if s.Flavor() == store.Postgres {
						return pgPlaceholders(q)
					}
					return q
				}
				exec := func(q string, args ...any) {
					if _, err := s.DB().ExecContext(context.Background(), rebind(q), args...); err != nil {
						t.Fatalf("tamper %q: %v", q, err)
					}
				}
				read := func(q string, args ...any) []byte {
					var v []byte
					if err := s.DB().QueryRowContext(context.Background(), rebind(q), args...).Scan(&v); err != nil {
						t.Fatalf("read %q: %v", q, err)
					}
					return v
				}
				return s, exec, read
			})
		})
	}
}

func pgPlaceholders(q string) string {
	out, n := []byte{}, 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = append(out, '$', byte('0'+n))
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}
