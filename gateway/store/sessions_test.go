package store_test

import (
	"testing"

	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/signin/signintest"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func TestSessionStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			signintest.RunStore(t, func(t testing.TB) signin.Store { return b.Open(t) })
		})
	}
}
