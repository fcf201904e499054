package store_test

import (
	"testing"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/consent/consenttest"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func TestConsentStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			consenttest.RunStore(t, func(t testing.TB) consent.Store { return b.Open(t) })
		})
	}
}
