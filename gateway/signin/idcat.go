package signin

import (
	"encoding/json"
	"errors"
	"github.com/obert-gov/obert/gateway/web"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ProviderIdCAT names the IdCAT provider in sessions and the audit log.
const ProviderIdCAT = "idcat"

// idcatClaims are the claims Obert reads from IdCAT's ID token.
type idcatClaims struct {
	Nonce          string   `json:"nonce"`
	GivenName      string   `json:"given_name"`
	FamilyName     string   `json:"family_name"`
	Surname1       string   `json:"surname1"`
	Surname2       string   `json:"surname2"`
	DocumentType   string   `json:"document_type"`
	DocumentNumber string   `json:"document_number"`
	BirthDate      string   `json:"birthdate"`
	ACR            string   `json:"acr"`
	AMR            []string `json:"amr"`
	// PublicEmployeeOf is the administration of a public employee's
	// certificate.
	PublicEmployeeOf string `json:"public_employee_of"`
}

// employerID is what an administration's id in the register looks like.
var employerID = regexp.MustCompile(`^[a-z][a-z0-9-]{1,40}$`)

// loaOf maps IdCAT's authentication context to our level of assurance.
// Certificate and Cl@ve-permanent logins are high; one-time codes
// substantial; anything else low.
func loaOf(c idcatClaims) string {
	switch c.ACR {
	case "high", "http://eidas.europa.eu/LoA/high":
		return LoAHigh
	case "substantial", "http://eidas.europa.eu/LoA/substantial":
		return LoASubstantial
	}
	if slices.Contains(c.AMR, "cert") || slices.Contains(c.AMR, "hwk") {
		return LoAHigh
	}
	if slices.Contains(c.AMR, "otp") || slices.Contains(c.AMR, "mfa") {
		return LoASubstantial
	}
	return LoALow
}

// IdCATStart handles GET /signin/idcat: it binds a new state, nonce and
// PKCE verifier to this browser and sends it to the provider.
func (s *Service) IdCATStart(w http.ResponseWriter, r *http.Request) {
	if s.idcat == nil {
		s.cfg.Fail(w, r, http.StatusNotFound, "provider-disabled")
		return
	}
	f := flow{Provider: ProviderIdCAT, State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(),
		Return: web.LocalPath(r.URL.Query().Get("return"), "/folder")}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)}
	// A page that needs a higher level asks for it (step-up): the provider
	// is asked for it (acr_values), and an answer below it is refused.
	if loa := r.URL.Query().Get("loa"); rank(loa) > rank(LoALow) {
		f.LoA = loa
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", loa))
	}
	if err := s.putFlow(r.Context(), w, f); err != nil {
		s.cfg.Logger.Error("sign-in flow not stored", "err", err)
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	http.Redirect(w, r, s.idcat.oauth.AuthCodeURL(f.State, opts...), http.StatusFound)
}

// IdCATCallback handles GET /signin/idcat/callback.
func (s *Service) IdCATCallback(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, reason string) {
		s.cfg.Events.SignInFailed(r.Context(), ProviderIdCAT, reason)
		s.cfg.Fail(w, r, status, reason)
	}
	if s.idcat == nil {
		s.cfg.Fail(w, r, http.StatusNotFound, "provider-disabled")
		return
	}
	f, err := s.takeFlow(w, r)
	if errors.Is(err, ErrNotFound) {
		fail(http.StatusBadRequest, "flow-missing-or-used")
		return
	}
	if err != nil {
		fail(http.StatusServiceUnavailable, "unavailable")
		return
	}
	q := r.URL.Query()
	if f.Provider != ProviderIdCAT || q.Get("state") == "" || q.Get("state") != f.State {
		fail(http.StatusBadRequest, "state-mismatch")
		return
	}
	// Mix-up defence (RFC 9207): an answer that names its issuer must name
	// ours; a provider that promises to name it must do so.
	if iss := q.Get("iss"); iss != s.idcat.issuer && (iss != "" || s.idcat.issParam) {
		fail(http.StatusBadRequest, "issuer-mismatch")
		return
	}
	if q.Get("error") != "" {
		fail(http.StatusUnauthorized, "provider-refused")
		return
	}
	ctx := oidc.ClientContext(r.Context(), s.idcat.client)
	tok, err := s.idcat.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		fail(http.StatusUnauthorized, "code-exchange-failed")
		return
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		fail(http.StatusUnauthorized, "no-id-token")
		return
	}
	idt, err := s.idcat.verifier.Verify(ctx, raw)
	if err != nil {
		fail(http.StatusUnauthorized, "id-token-invalid")
		return
	}
	// The ID token's claims, completed (never overridden) by userinfo,
	// which must be about the same subject.
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		fail(http.StatusUnauthorized, "id-token-invalid")
		return
	}
	if s.idcat.provider.UserInfoEndpoint() != "" {
		ui, err := s.idcat.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			fail(http.StatusUnauthorized, "userinfo-failed")
			return
		}
		if ui.Subject != idt.Subject {
			fail(http.StatusUnauthorized, "userinfo-subject-mismatch")
			return
		}
		extra := map[string]any{}
		if err := ui.Claims(&extra); err == nil {
			for k, v := range extra {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	var c idcatClaims
	if b, err := json.Marshal(claims); err != nil || json.Unmarshal(b, &c) != nil {
		fail(http.StatusUnauthorized, "id-token-invalid")
		return
	}
	c.DocumentNumber, _ = claims[s.idcat.docClaim].(string)
	if c.Nonce == "" || c.Nonce != f.Nonce {
		fail(http.StatusUnauthorized, "nonce-mismatch")
		return
	}
	if !validDocNumber(c.DocumentNumber) {
		fail(http.StatusUnauthorized, "no-document-number")
		return
	}
	if c.DocumentType == "" {
		c.DocumentType = docTypeOf(c.DocumentNumber)
	}
	id := Identity{Provider: ProviderIdCAT, DocType: c.DocumentType, DocNumber: c.DocumentNumber, Name: c.GivenName,
		Surname1: c.Surname1, Surname2: c.Surname2, BirthDate: c.BirthDate, LoA: loaOf(c)}
	if employerID.MatchString(c.PublicEmployeeOf) {
		id.Employer = c.PublicEmployeeOf
	}
	if id.Surname1 == "" {
		id.Surname1 = c.FamilyName
	}
	if f.LoA != "" && rank(id.LoA) < rank(f.LoA) {
		fail(http.StatusForbidden, "loa-too-low")
		return
	}
	s.finish(w, r, ProviderIdCAT, id, f.Return)
}

// idcatLogout sends the browser to the provider's end-session endpoint
// (OpenID Connect RP-Initiated Logout 1.0) after our session is gone; it
// reports whether it answered the request. The request names us by client_id
// rather than id_token_hint: the ID token carries the person's document
// number and birth date, and a URL ends up in the logs of the provider and
// of every proxy on the way.
func (s *Service) idcatLogout(w http.ResponseWriter, r *http.Request, sess Session) bool {
	if s.idcat == nil || s.idcat.endSession == "" || sess.Identity.Provider != ProviderIdCAT {
		return false
	}
	u, err := url.Parse(s.idcat.endSession)
	if err != nil {
		return false
	}
	q := u.Query()
	q.Set("client_id", s.idcat.oauth.ClientID)
	q.Set("post_logout_redirect_uri", strings.TrimSuffix(s.cfg.PublicURL, "/")+SignedOutPath)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
	return true
}
