package store_test

import (
	"testing"

	"github.com/obert-gov/obert/gateway/documents"
	"github.com/obert-gov/obert/gateway/documents/documentstest"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func TestDocumentStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			documentstest.RunStore(t, func(t *testing.T) documents.Store { return b.Open(t) })
		})
	}
}
