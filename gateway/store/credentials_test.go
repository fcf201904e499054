package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/obert-gov/obert/gateway/credentials"
	"github.com/obert-gov/obert/gateway/credentials/credentialstest"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func TestCredentialStatusStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			credentialstest.RunStore(t, func(t *testing.T) credentials.Store { return b.Open(t) })
		})
	}
}

func TestDocumentCredentials(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t)
			c := store.DocumentCredential{CSV: "ABC", Subject: "alice", StatusList: "https://obert.example/credentials/status/1", StatusIndex: 7, Sealed: []byte("s")}
			if err := s.PutDocumentCredential(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err := s.DocumentCredentialOf(ctx, "alice", "ABC")
			if err != nil || got.StatusIndex != 7 || string(got.Sealed) != "s" || got.StatusList != c.StatusList {
				t.Fatalf("%+v %v", got, err)
			}
			if _, err := s.DocumentCredentialOf(ctx, "bob", "ABC"); !errors.Is(err, store.ErrNoCredential) {
				t.Fatalf("another subject's: %v", err)
			}
			if err := s.PutDocumentCredential(ctx, c); err == nil {
				t.Fatal("a second credential for one document")
			}
		})
	}
}
