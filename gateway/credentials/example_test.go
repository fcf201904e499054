package credentials_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	"github.com/obert-gov/obert/gateway/credentials"
)

// A census certificate issued bound to the citizen's wallet key, presented
// to a town hall with only the fact it needs, then revoked.
func Example() {
	ctx := context.Background()
	issuerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	walletKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

	iss, err := credentials.NewIssuer(credentials.Config{
		Issuer:        "https://obert.example",
		Key:           issuerKey,
		StatusListURI: "https://obert.example/credentials/status/1",
		Store:         credentials.NewMemoryStore(),
		Now:           func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	cred, err := iss.Issue(ctx, credentials.Request{
		Type: credentials.CensusCertificate,
		Claims: map[string]any{
			"resident_in_catalonia": true,
			"municipality":          "Girona",
			"address":               map[string]any{"street_address": "Carrer de la Força 12", "postal_code": "17004"},
		},
		Holder: &walletKey.PublicKey,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(cred.VCT)

	// The wallet shows residence, not the address.
	p, err := credentials.Present(cred.SDJWT, []string{"resident_in_catalonia"}, &credentials.KeyBinding{
		Key: walletKey, Audience: "https://ajuntament.example", Nonce: "4f1c", IssuedAt: now,
	})
	if err != nil {
		panic(err)
	}
	v, err := credentials.Verify(p, credentials.VerifyOptions{
		IssuerKey: &issuerKey.PublicKey, Now: now, Audience: "https://ajuntament.example", Nonce: "4f1c",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(slices.Sorted(mapKeys(v.Claims)), v.KeyBound)

	// Revoked, the verifier sees it in the next status list.
	iss.Revoke(ctx, cred.StatusIndex)
	tok, _ := iss.StatusListJWT(ctx)
	list, _ := credentials.VerifyStatusListJWT(tok, &issuerKey.PublicKey, v.Status.URI, now)
	status, _ := list.Get(int(v.Status.Index))
	fmt.Println("revoked:", status == credentials.StatusInvalid)
	// Output:
	// https://obert.example/vct/census-certificate
	// [resident_in_catalonia] true
	// revoked: true
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
