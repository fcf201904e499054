package credentials

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Metadata is the JWT VC Issuer Metadata document (SD-JWT VC §5): where a
// verifier finds the key that signs the issuer's credentials.
type Metadata struct {
	Issuer string `json:"issuer"`
	JWKS   JWKS   `json:"jwks"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// Metadata returns the issuer's metadata document.
func (i *Issuer) Metadata() Metadata {
	return Metadata{Issuer: i.cfg.Issuer, JWKS: JWKS{Keys: []JWK{i.jwk}}}
}

// MetadataPath is the path at which the metadata must be served: the
// well-known segment goes between the host and the issuer's own path
// (SD-JWT VC §5.1), so https://h/tenant serves /.well-known/jwt-vc-issuer/tenant.
func (i *Issuer) MetadataPath() string {
	u, _ := url.Parse(i.cfg.Issuer) // checked by NewIssuer
	return "/.well-known/jwt-vc-issuer" + strings.TrimSuffix(u.Path, "/")
}

// StatusListPath is the path part of StatusListURI, where
// StatusListHandler is to be mounted.
func (i *Issuer) StatusListPath() string {
	u, _ := url.Parse(i.cfg.StatusListURI) // checked by NewIssuer
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

// MetadataHandler serves Metadata as JSON; mount it at MetadataPath.
func (i *Issuer) MetadataHandler() http.Handler {
	body, err := json.Marshal(i.Metadata())
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			problem(w, http.StatusMethodNotAllowed, "Method not allowed", "Issuer metadata is read with GET.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Access-Control-Allow-Origin", "*") // wallets in browsers read it too
		w.Write(body)
	})
}

// StatusListHandler serves the current status list as a freshly signed
// statuslist+jwt; mount it at StatusListPath. A verifier may cache it for
// the ttl it carries.
func (i *Issuer) StatusListHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			problem(w, http.StatusMethodNotAllowed, "Method not allowed", "The status list is read with GET.")
			return
		}
		tok, err := i.StatusListJWT(r.Context())
		if err != nil {
			problem(w, http.StatusServiceUnavailable, "Status list unavailable", "The status list could not be built; try again shortly.")
			return
		}
		w.Header().Set("Content-Type", StatusListMedia)
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(i.cfg.StatusListTTL.Seconds())))
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write([]byte(tok))
	})
}

// problem writes RFC 9457 problem details, as the gateway's other APIs do.
func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}
