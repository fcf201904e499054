package signin

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"github.com/jonboulle/clockwork"
	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/obert-gov/obert/gateway/web"
)

// ProviderClave names Cl@ve in sessions and the audit log.
const ProviderClave = "clave"

// The eIDAS natural-person attributes and levels of assurance Cl@ve uses.
const (
	EIDASPersonIdentifier = "http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier"
	EIDASGivenName        = "http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName"
	EIDASFamilyName       = "http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName"
	EIDASDateOfBirth      = "http://eidas.europa.eu/attributes/naturalperson/DateOfBirth"

	EIDASLoALow         = "http://eidas.europa.eu/LoA/low"
	EIDASLoASubstantial = "http://eidas.europa.eu/LoA/substantial"
	EIDASLoAHigh        = "http://eidas.europa.eu/LoA/high"

	eidasNS  = "http://eidas.europa.eu/saml-extensions"
	natPerNS = "http://eidas.europa.eu/attributes/naturalperson"
)

// ClaveAttributes names the SAML attributes that carry the identity.
type ClaveAttributes struct {
	PersonIdentifier, GivenName, FamilyName, DateOfBirth string
}

// EIDASAttributes is the eIDAS natural-person attribute profile of Cl@ve.
func EIDASAttributes() ClaveAttributes {
	return ClaveAttributes{EIDASPersonIdentifier, EIDASGivenName, EIDASFamilyName, EIDASDateOfBirth}
}

// EIDASLevels maps the eIDAS authentication context classes to our levels.
func EIDASLevels() map[string]string {
	return map[string]string{EIDASLoALow: LoALow, EIDASLoASubstantial: LoASubstantial, EIDASLoAHigh: LoAHigh}
}

// ClaveConfig configures the Cl@ve service provider.
type ClaveConfig struct {
	// IdPMetadata is the IdP's metadata: an http(s) URL, refreshed every
	// Refresh, or a file path, read again every Refresh.
	IdPMetadata string
	HTTPClient  *http.Client
	// Signing signs AuthnRequests, LogoutRequests and our metadata;
	// Encryption is the key assertions are encrypted to.
	SigningKey     crypto.Signer
	SigningCert    *x509.Certificate
	EncryptionKey  *rsa.PrivateKey
	EncryptionCert *x509.Certificate
	// LoA is the minimum level requested and accepted (default substantial).
	LoA string
	// Attributes and Levels default to the eIDAS profile.
	Attributes ClaveAttributes
	Levels     map[string]string
	// SPType is sent in the eIDAS extensions: "public" (default).
	SPType      string
	Skew        time.Duration // accepted clock difference, default 90 s
	Refresh     time.Duration // metadata refresh, default 1 h
	MaxResponse int           // bytes of the decoded response, default 128 KiB
}

type clave struct {
	cfg                      ClaveConfig
	entityID, acsURL, sloURL string
	now                      func() time.Time

	mu      sync.Mutex
	idp     *claveIdP
	fetched time.Time
}

// claveIdP is the IdP as its metadata describes it, with the gosaml2
// service provider built for it.
type claveIdP struct {
	entityID string
	ssoURL   string
	sloURL   string
	sp       *saml2.SAMLServiceProvider // builds and signs our messages
	check    *saml2.SAMLServiceProvider // validates responses, with the skew
}

// skewed is our clock for gosaml2, minus a skew: with the accepted skew it
// is the clock bearer expiry and certificates are checked with. Being behind,
// it is lenient with what ends; what starts is the business of earlier.
type skewed struct {
	clockwork.Clock
	now  func() time.Time
	skew time.Duration
}

func (c skewed) Now() time.Time { return c.now().Add(-c.skew) }

// WithClave enables Cl@ve sign-in; it loads the IdP metadata once now, so a
// bad configuration fails at start.
func (s *Service) WithClave(ctx context.Context, cfg ClaveConfig) error {
	if cfg.SigningKey == nil || cfg.SigningCert == nil || cfg.EncryptionKey == nil || cfg.EncryptionCert == nil {
		return errors.New("signin: Cl@ve needs signing and encryption keys and certificates")
	}
	if cfg.IdPMetadata == "" {
		return errors.New("signin: Cl@ve needs the IdP metadata (OBERT_CLAVE_IDP_METADATA)")
	}
	if cfg.LoA == "" {
		cfg.LoA = LoASubstantial
	}
	if rank(cfg.LoA) < 0 {
		return fmt.Errorf("signin: unknown level of assurance %q", cfg.LoA)
	}
	if cfg.Attributes == (ClaveAttributes{}) {
		cfg.Attributes = EIDASAttributes()
	}
	if cfg.Levels == nil {
		cfg.Levels = EIDASLevels()
	}
	if cfg.SPType == "" {
		cfg.SPType = "public"
	}
	if cfg.Skew == 0 {
		cfg.Skew = 90 * time.Second
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = time.Hour
	}
	if cfg.MaxResponse == 0 {
		cfg.MaxResponse = 128 << 10
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	base := strings.TrimSuffix(s.cfg.PublicURL, "/")
	c := &clave{cfg: cfg, entityID: base + "/signin/clave/metadata", acsURL: base + "/signin/clave/acs",
		sloURL: base + "/signin/clave/slo", now: s.cfg.Now}
	if _, err := c.current(ctx); err != nil {
		return err
	}
	s.clave = c
	return nil
}

// ClaveEnabled reports whether Cl@ve sign-in is configured.
func (s *Service) ClaveEnabled() bool { return s.clave != nil }

// ClaveIdPOrigin is the origin our pages post AuthnRequests to.
func (s *Service) ClaveIdPOrigin(ctx context.Context) string {
	if s.clave == nil {
		return ""
	}
	idp, err := s.clave.current(ctx)
	if err != nil {
		return ""
	}
	u, err := url.Parse(idp.ssoURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// current returns the IdP, reloading its metadata when it is older than
// Refresh; if reloading fails the last good metadata stays in use.
func (c *clave) current(ctx context.Context) (*claveIdP, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idp != nil && c.now().Sub(c.fetched) < c.cfg.Refresh {
		return c.idp, nil
	}
	idp, err := c.load(ctx)
	if err != nil {
		if c.idp != nil {
			c.fetched = c.now().Add(-c.cfg.Refresh + time.Minute) // try again in a minute
			return c.idp, nil
		}
		return nil, err
	}
	c.idp, c.fetched = idp, c.now()
	return idp, nil
}

func (c *clave) load(ctx context.Context) (*claveIdP, error) {
	var raw []byte
	var err error
	if u, perr := url.Parse(c.cfg.IdPMetadata); perr == nil && (u.Scheme == "https" || u.Scheme == "http") {
		raw, err = c.fetch(ctx, c.cfg.IdPMetadata)
	} else {
		raw, err = os.ReadFile(c.cfg.IdPMetadata)
	}
	if err != nil {
		return nil, fmt.Errorf("signin: Cl@ve IdP metadata: %w", err)
	}
	if err := safeXML(raw); err != nil {
		return nil, fmt.Errorf("signin: Cl@ve IdP metadata: %w", err)
	}
	var md types.EntityDescriptor
	if err := xml.Unmarshal(raw, &md); err != nil {
		return nil, fmt.Errorf("signin: Cl@ve IdP metadata: %w", err)
	}
	if md.IDPSSODescriptor == nil || md.EntityID == "" {
		return nil, errors.New("signin: Cl@ve IdP metadata has no IDPSSODescriptor or entityID")
	}
	idp := &claveIdP{entityID: md.EntityID}
	for _, e := range md.IDPSSODescriptor.SingleSignOnServices {
		if e.Binding == saml2.BindingHttpPost {
			idp.ssoURL = e.Location
		}
	}
	for _, e := range md.IDPSSODescriptor.SingleLogoutServices {
		if e.Binding == saml2.BindingHttpPost {
			idp.sloURL = e.Location
		}
	}
	if idp.ssoURL == "" {
		return nil, errors.New("signin: Cl@ve IdP metadata has no HTTP-POST SingleSignOnService")
	}
	certs := dsig.MemoryX509CertificateStore{}
	for _, kd := range md.IDPSSODescriptor.KeyDescriptors {
		if kd.Use != "" && kd.Use != "signing" {
			continue
		}
		for _, xc := range kd.KeyInfo.X509Data.X509Certificates {
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(xc.Data), ""))
			if err != nil {
				return nil, fmt.Errorf("signin: Cl@ve IdP certificate: %w", err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("signin: Cl@ve IdP certificate: %w", err)
			}
			certs.Roots = append(certs.Roots, cert)
		}
	}
	if len(certs.Roots) == 0 {
		return nil, errors.New("signin: Cl@ve IdP metadata has no signing certificate")
	}
	newSP := func(clock *dsig.Clock, certs dsig.X509CertificateStore) (*saml2.SAMLServiceProvider, error) {
		sp := &saml2.SAMLServiceProvider{
			IdentityProviderSSOURL: idp.ssoURL, IdentityProviderSSOBinding: saml2.BindingHttpPost,
			IdentityProviderSLOURL: idp.sloURL, IdentityProviderSLOBinding: saml2.BindingHttpPost,
			IdentityProviderIssuer:      idp.entityID,
			AssertionConsumerServiceURL: c.acsURL, ServiceProviderSLOURL: c.sloURL,
			ServiceProviderIssuer: c.entityID, AudienceURI: c.entityID,
			SignAuthnRequests: true, SignAuthnRequestsAlgorithm: dsig.RSASHA256SignatureMethod,
			NameIdFormat:                saml2.NameIdFormatPersistent,
			RequestedAuthnContext:       &saml2.RequestedAuthnContext{Comparison: saml2.AuthnPolicyMatchMinimum, Contexts: []string{c.classOf(c.cfg.LoA)}},
			IDPCertificateStore:         certs,
			Clock:                       clock,
			MaximumDecompressedBodySize: int64(c.cfg.MaxResponse),
			SPKeyStore: dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{c.cfg.EncryptionCert.Raw},
				PrivateKey: c.cfg.EncryptionKey, Leaf: c.cfg.EncryptionCert}),
		}
		return sp, sp.SetSPSigningKeyStore(&saml2.KeyStore{Signer: c.cfg.SigningKey, Cert: c.cfg.SigningCert.Raw})
	}
	if idp.sp, err = newSP(dsig.NewFakeClock(skewed{Clock: clockwork.NewRealClock(), now: c.now}), &certs); err != nil {
		return nil, err
	}
	if idp.check, err = newSP(dsig.NewFakeClock(skewed{Clock: clockwork.NewRealClock(), now: c.now, skew: c.cfg.Skew}),
		&dsig.MemoryX509CertificateStore{Roots: earlier(certs.Roots, 2*c.cfg.Skew)}); err != nil {
		return nil, err
	}
	return idp, nil
}

// earlier returns copies of certs valid from d before their NotBefore.
// goxmldsig checks both ends of a certificate's validity with the one clock
// it is given, which for responses is skewed, a skew behind ours: so that a
// certificate that starts within the skew ahead of us is accepted, the copies
// the check trusts start twice the skew early (now-skew >= NotBefore-2*skew
// exactly when now+skew >= NotBefore). goxmldsig matches the certificate of
// a signature to a trusted one by its raw bytes, which the copies keep.
func earlier(certs []*x509.Certificate, d time.Duration) []*x509.Certificate {
	out := make([]*x509.Certificate, len(certs))
	for i, c := range certs {
		cp := *c
		cp.NotBefore = cp.NotBefore.Add(-d)
		out[i] = &cp
	}
	return out
}

func (c *clave) fetch(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// classOf is the authentication context class that names loa.
func (c *clave) classOf(loa string) string {
	best := ""
	for class, l := range c.cfg.Levels {
		if l == loa && (best == "" || class < best) {
			best = class
		}
	}
	return best
}

func rank(loa string) int { return slices.Index([]string{LoALow, LoASubstantial, LoAHigh}, loa) }

// Metadata handles GET /signin/clave/metadata: our SP metadata, signed.
func (s *Service) ClaveMetadata(w http.ResponseWriter, r *http.Request) {
	if s.clave == nil {
		s.cfg.Fail(w, r, http.StatusNotFound, "provider-disabled")
		return
	}
	b, err := s.clave.metadata(r.Context())
	if err != nil {
		s.cfg.Logger.Error("Cl@ve metadata", "err", err)
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Write(b)
}

// metadataValidity is how long the SP metadata we serve stays valid.
const metadataValidity = 7 * 24 * time.Hour

func (c *clave) metadata(ctx context.Context) ([]byte, error) {
	idp, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	// MetadataWithSLO's argument, despite its name, is a time.Duration in
	// nanoseconds, not hours.
	md, err := idp.sp.MetadataWithSLO(int64(metadataValidity))
	if err != nil {
		return nil, err
	}
	md.SPSSODescriptor.WantAssertionsSigned = true
	raw, err := xml.Marshal(md)
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, err
	}
	root := doc.Root()
	root.CreateAttr("ID", "_"+strings.ToLower(randomToken()[:32]))
	signed, err := idp.sp.SigningContext().SignEnveloped(root)
	if err != nil {
		return nil, err
	}
	// The signature goes first, as the metadata schema wants it.
	sig := signed.Child[len(signed.Child)-1]
	signed.Child = append([]etree.Token{sig}, signed.Child[:len(signed.Child)-1]...)
	out := etree.NewDocument()
	out.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	out.SetRoot(signed)
	return out.WriteToBytes()
}

// ClaveStart handles GET /signin/clave: a signed AuthnRequest for the
// requested level, posted to the IdP by the browser.
func (s *Service) ClaveStart(w http.ResponseWriter, r *http.Request) {
	if s.clave == nil {
		s.cfg.Fail(w, r, http.StatusNotFound, "provider-disabled")
		return
	}
	idp, err := s.clave.current(r.Context())
	if err != nil {
		s.cfg.Logger.Error("Cl@ve metadata", "err", err)
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	loa := s.clave.cfg.LoA
	if q := r.URL.Query().Get("loa"); q != "" && rank(q) > rank(loa) {
		loa = q // a citizen (or a page) may ask for more, never for less
	}
	doc, id, err := s.clave.authnRequest(idp, loa)
	if err != nil {
		s.cfg.Logger.Error("Cl@ve AuthnRequest", "err", err)
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	raw, err := doc.WriteToBytes()
	if err != nil {
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	f := flow{Provider: ProviderClave, RequestID: id, LoA: loa, Return: web.LocalPath(r.URL.Query().Get("return"), "/folder")}
	if err := s.putFlow(r.Context(), w, f); err != nil {
		s.cfg.Logger.Error("sign-in flow not stored", "err", err)
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	s.post(w, r, idp.ssoURL, [][2]string{{"SAMLRequest", base64.StdEncoding.EncodeToString(raw)}, {"RelayState", ""}})
}

// authnRequest builds and signs an AuthnRequest asking for loa and the
// eIDAS natural-person attributes; it returns it with its ID.
func (c *clave) authnRequest(idp *claveIdP, loa string) (*etree.Document, string, error) {
	doc, err := idp.sp.BuildAuthRequestDocumentNoSig()
	if err != nil {
		return nil, "", err
	}
	req := doc.Root()
	ref := req.FindElement("./RequestedAuthnContext/AuthnContextClassRef")
	if ref == nil {
		return nil, "", errors.New("AuthnRequest without RequestedAuthnContext")
	}
	ref.SetText(c.classOf(loa))
	req.CreateAttr("xmlns:eidas", eidasNS)
	req.CreateAttr("ForceAuthn", "true")
	req.CreateAttr("ProviderName", "Obert")
	// Extensions come right after Issuer (saml-schema-protocol-2.0).
	ext := etree.NewElement("samlp:Extensions")
	ext.CreateElement("eidas:SPType").SetText(c.cfg.SPType)
	attrs := ext.CreateElement("eidas:RequestedAttributes")
	for _, a := range []struct {
		name     string
		required bool
	}{{c.cfg.Attributes.PersonIdentifier, true}, {c.cfg.Attributes.GivenName, true}, {c.cfg.Attributes.FamilyName, true}, {c.cfg.Attributes.DateOfBirth, false}} {
		if a.name == "" {
			continue
		}
		ra := attrs.CreateElement("eidas:RequestedAttribute")
		ra.CreateAttr("Name", a.name)
		ra.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:uri")
		ra.CreateAttr("isRequired", fmt.Sprint(a.required))
	}
	req.InsertChildAt(1, ext)
	signed, err := idp.sp.SignAuthnRequest(req)
	if err != nil {
		return nil, "", err
	}
	out := etree.NewDocument()
	out.SetRoot(signed)
	return out, signed.SelectAttrValue("ID", ""), nil
}

// ClaveACS handles POST /signin/clave/acs.
func (s *Service) ClaveACS(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, reason string) {
		s.cfg.Events.SignInFailed(r.Context(), ProviderClave, reason)
		s.cfg.Fail(w, r, status, reason)
	}
	if s.clave == nil {
		s.cfg.Fail(w, r, http.StatusNotFound, "provider-disabled")
		return
	}
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			fail(http.StatusRequestEntityTooLarge, "response-too-large")
			return
		}
		fail(http.StatusBadRequest, "malformed-response")
		return
	}
	encoded := r.PostForm.Get("SAMLResponse")
	if encoded == "" {
		fail(http.StatusBadRequest, "malformed-response")
		return
	}
	f, err := s.takeFlow(w, r)
	if errors.Is(err, ErrNotFound) {
		fail(http.StatusBadRequest, "unsolicited-response")
		return
	}
	if err != nil {
		fail(http.StatusServiceUnavailable, "unavailable")
		return
	}
	if f.Provider != ProviderClave {
		fail(http.StatusBadRequest, "unsolicited-response")
		return
	}
	id, reason, err := s.clave.verify(r.Context(), encoded, f)
	if err != nil {
		s.cfg.Logger.Info("Cl@ve response refused", "reason", reason, "err", err)
		status := http.StatusUnauthorized
		if reason == "response-too-large" {
			status = http.StatusRequestEntityTooLarge
		}
		fail(status, reason)
		return
	}
	if err := s.useOnce(r.Context(), id.assertionID, id.until); err != nil {
		if errors.Is(err, ErrReplay) {
			fail(http.StatusUnauthorized, "replayed-assertion")
			return
		}
		fail(http.StatusServiceUnavailable, "unavailable")
		return
	}
	s.finish(w, r, ProviderClave, id.Identity, f.Return)
}

func (s *Service) useOnce(ctx context.Context, id string, until time.Time) error {
	return s.cfg.Store.UseOnce(ctx, hashID("saml-assertion/"+id), until, s.cfg.Now())
}

// verified is what a valid response yields.
type verified struct {
	Identity
	assertionID string
	until       time.Time // after which the assertion is refused anyway
}

// verify validates a SAMLResponse for the flow; on failure it returns a
// stable reason code for the citizen's page and the audit log.
func (c *clave) verify(ctx context.Context, encoded string, f flow) (verified, string, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(encoded), ""))
	if err != nil {
		return verified{}, "malformed-response", err
	}
	if len(raw) > c.cfg.MaxResponse {
		return verified{}, "response-too-large", fmt.Errorf("%d bytes", len(raw))
	}
	if err := safeXML(raw); err != nil {
		return verified{}, "malformed-response", err
	}
	idp, err := c.current(ctx)
	if err != nil {
		return verified{}, "unavailable", err
	}
	resp, err := idp.check.ValidateEncodedResponse(base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		if refusedStatus(raw) {
			return verified{}, "provider-refused", err
		}
		return verified{}, reasonOf(err), err
	}
	// gosaml2 checked: the signature of the response and of any signed
	// assertion against the IdP's keys, decryption, Destination when present,
	// Issuer, success status, bearer Recipient and expiry. Now what it
	// leaves to us.
	if resp.Destination != c.acsURL {
		return verified{}, "wrong-destination", fmt.Errorf("destination %q", resp.Destination)
	}
	if resp.InResponseTo == "" || resp.InResponseTo != f.RequestID {
		return verified{}, "unsolicited-response", fmt.Errorf("InResponseTo %q", resp.InResponseTo)
	}
	if len(resp.Assertions) != 1 || len(resp.EncryptedAssertions) > 1 {
		return verified{}, "assertion-count", fmt.Errorf("%d assertions", len(resp.Assertions))
	}
	a := resp.Assertions[0]
	if !resp.SignatureValidated && !a.SignatureValidated {
		return verified{}, "unsigned", errors.New("neither response nor assertion signed")
	}
	if a.ID == "" {
		return verified{}, "malformed-response", errors.New("assertion without ID")
	}
	now := c.now()
	scd := a.Subject.SubjectConfirmation.SubjectConfirmationData
	if scd.InResponseTo != f.RequestID {
		return verified{}, "unsolicited-response", fmt.Errorf("subject InResponseTo %q", scd.InResponseTo)
	}
	until, _ := time.Parse(time.RFC3339, scd.NotOnOrAfter)
	cond := a.Conditions
	if cond == nil {
		return verified{}, "malformed-response", errors.New("no conditions")
	}
	nb, err1 := time.Parse(time.RFC3339, cond.NotBefore)
	na, err2 := time.Parse(time.RFC3339, cond.NotOnOrAfter)
	if err1 != nil || err2 != nil {
		return verified{}, "malformed-response", errors.New("conditions without a validity window")
	}
	if now.Add(c.cfg.Skew).Before(nb) {
		return verified{}, "not-yet-valid", fmt.Errorf("NotBefore %s", nb)
	}
	if !now.Add(-c.cfg.Skew).Before(na) {
		return verified{}, "expired", fmt.Errorf("NotOnOrAfter %s", na)
	}
	if na.After(until) {
		until = na
	}
	audienceOK := len(cond.AudienceRestrictions) > 0
	for _, ar := range cond.AudienceRestrictions {
		if !slices.ContainsFunc(ar.Audiences, func(a types.Audience) bool { return a.Value == c.entityID }) {
			audienceOK = false
		}
	}
	if !audienceOK {
		return verified{}, "wrong-audience", errors.New("audience")
	}
	if a.AuthnStatement == nil || a.AuthnStatement.AuthnContext == nil || a.AuthnStatement.AuthnContext.AuthnContextClassRef == nil {
		return verified{}, "loa-too-low", errors.New("no authentication context")
	}
	loa, ok := c.cfg.Levels[strings.TrimSpace(a.AuthnStatement.AuthnContext.AuthnContextClassRef.Value)]
	if !ok || rank(loa) < rank(f.LoA) {
		return verified{}, "loa-too-low", fmt.Errorf("class %q", a.AuthnStatement.AuthnContext.AuthnContextClassRef.Value)
	}
	vals := map[string]string{}
	if a.AttributeStatement != nil {
		for _, at := range a.AttributeStatement.Attributes {
			if len(at.Values) == 1 {
				vals[at.Name] = strings.TrimSpace(at.Values[0].Value)
			}
		}
	}
	pid := vals[c.cfg.Attributes.PersonIdentifier]
	doc := pid[strings.LastIndex(pid, "/")+1:] // eIDAS: ES/ES/12345678Z
	if doc == "" || !validDocNumber(doc) {
		return verified{}, "no-document-number", errors.New("person identifier")
	}
	id := Identity{Provider: ProviderClave, DocType: docTypeOf(doc), DocNumber: doc, Name: vals[c.cfg.Attributes.GivenName],
		Surname1: vals[c.cfg.Attributes.FamilyName], BirthDate: vals[c.cfg.Attributes.DateOfBirth], LoA: loa,
		SessionIndex: a.AuthnStatement.SessionIndex}
	if a.Subject.NameID != nil {
		id.NameID = a.Subject.NameID.Value
	}
	return verified{Identity: id, assertionID: idp.entityID + "\x00" + a.ID, until: until.Add(c.cfg.Skew)}, "", nil
}

// refusedStatus reports whether an (unverified) response carries a status
// other than success: the IdP said no, for the reason code only.
func refusedStatus(raw []byte) bool {
	var r struct {
		Status struct {
			StatusCode struct {
				Value string `xml:"Value,attr"`
			} `xml:"StatusCode"`
		} `xml:"Status"`
	}
	if xml.Unmarshal(raw, &r) != nil {
		return false
	}
	v := r.Status.StatusCode.Value
	return v != "" && v != saml2.StatusCodeSuccess
}

// reasonOf maps a gosaml2 validation error to a reason code.
func reasonOf(err error) string {
	var inv saml2.ErrInvalidValue
	if errors.As(err, &inv) {
		switch inv.Key {
		case saml2.DestinationAttr:
			return "wrong-destination"
		case saml2.RecipientAttr:
			return "wrong-recipient"
		case saml2.IssuerTag:
			return "wrong-issuer"
		case saml2.NotOnOrAfterAttr:
			return "expired"
		case saml2.StatusCodeTag:
			return "provider-refused"
		}
	}
	if errors.Is(err, dsig.ErrMissingSignature) || errors.Is(err, saml2.ErrMissingAssertion) {
		return "unsigned"
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "ignature") || strings.Contains(msg, "certificate") || strings.Contains(msg, "Cert is not valid"):
		return "bad-signature"
	case strings.Contains(msg, "too large") || strings.Contains(msg, "exceeds"):
		return "response-too-large"
	}
	return "invalid-response"
}

// safeXML refuses what a SAML message never needs and attacks use: document
// type declarations (XXE, entity expansion), processing instructions other
// than the XML declaration, comments (NameID truncation through comments),
// and deep or huge documents.
func safeXML(raw []byte) error {
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	depth, tokens := 0, 0
	for {
		t, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if tokens++; tokens > 50000 {
			return errors.New("too many XML tokens")
		}
		switch t := t.(type) {
		case xml.Directive:
			return errors.New("document type declarations are refused")
		case xml.Comment:
			return errors.New("comments are refused")
		case xml.ProcInst:
			if t.Target != "xml" {
				return errors.New("processing instructions are refused")
			}
		case xml.StartElement:
			if depth++; depth > 64 {
				return errors.New("XML nested too deeply")
			}
		case xml.EndElement:
			depth--
		}
	}
}

// validDocNumber accepts a DNI (8 digits + letter) or NIE (X/Y/Z + 7
// digits + letter) with a correct check letter.
func validDocNumber(doc string) bool {
	if len(doc) != 9 {
		return false
	}
	digits := doc[:8]
	switch doc[0] {
	case 'X':
		digits = "0" + doc[1:8]
	case 'Y':
		digits = "1" + doc[1:8]
	case 'Z':
		digits = "2" + doc[1:8]
	}
	n := 0
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return false
		}
		n = n*10 + int(ch-'0')
	}
	return doc[8] == "TRWAGMYFPDXBNJZSQVHLCKE"[n%23]
}

func docTypeOf(doc string) string {
	if strings.ContainsRune("XYZ", rune(doc[0])) {
		return "NIE"
	}
	return "NIF"
}

// ClaveSLO handles POST /signin/clave/slo: the IdP's LogoutResponse to a
// sign-out we started (our session is already gone: it is only checked),
// or an IdP-initiated LogoutRequest, which ends every session of the person
// it names and is answered with a signed LogoutResponse.
func (s *Service) ClaveSLO(w http.ResponseWriter, r *http.Request) {
	if s.clave == nil {
		s.cfg.Fail(w, r, http.StatusNotFound, "provider-disabled")
		return
	}
	if r.ParseForm() != nil {
		s.cfg.Fail(w, r, http.StatusBadRequest, "malformed-request")
		return
	}
	idp, err := s.clave.current(r.Context())
	if err != nil {
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if enc := r.PostForm.Get("SAMLRequest"); enc != "" {
		s.claveLogoutRequest(w, r, idp, enc)
		return
	}
	enc := r.PostForm.Get("SAMLResponse")
	if enc == "" {
		s.cfg.Fail(w, r, http.StatusBadRequest, "malformed-request")
		return
	}
	if raw, err := base64.StdEncoding.DecodeString(enc); err != nil || safeXML(raw) != nil {
		s.cfg.Fail(w, r, http.StatusBadRequest, "malformed-request")
		return
	}
	if _, err := idp.check.ValidateEncodedLogoutResponsePOST(enc); err != nil {
		s.cfg.Logger.Info("Cl@ve logout response refused", "err", err)
	}
	http.Redirect(w, r, SignedOutPath, http.StatusSeeOther)
}

func (s *Service) claveLogoutRequest(w http.ResponseWriter, r *http.Request, idp *claveIdP, enc string) {
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(raw) > s.clave.cfg.MaxResponse || safeXML(raw) != nil {
		s.cfg.Fail(w, r, http.StatusBadRequest, "malformed-request")
		return
	}
	lr, err := idp.check.ValidateEncodedLogoutRequestPOST(enc)
	if err != nil || lr.NameID == nil || lr.ID == "" {
		s.cfg.Logger.Info("Cl@ve logout request refused", "err", err)
		s.cfg.Fail(w, r, http.StatusBadRequest, "invalid-logout-request")
		return
	}
	now, skew := s.cfg.Now(), s.clave.cfg.Skew
	if lr.IssueInstant.After(now.Add(skew)) || lr.IssueInstant.Before(now.Add(-10*time.Minute-skew)) {
		s.cfg.Fail(w, r, http.StatusBadRequest, "invalid-logout-request")
		return
	}
	if err := s.cfg.Store.UseOnce(r.Context(), hashID("saml-logout/"+idp.entityID+"\x00"+lr.ID), now.Add(15*time.Minute), now); err != nil {
		s.cfg.Fail(w, r, http.StatusBadRequest, "invalid-logout-request")
		return
	}
	status := saml2.StatusCodeSuccess
	doc := lr.NameID.Value[strings.LastIndex(lr.NameID.Value, "/")+1:]
	if !validDocNumber(doc) {
		status = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	} else if _, err := s.cfg.Store.DeleteSessionsOf(r.Context(), s.cfg.Subject(doc)); err != nil {
		s.cfg.Logger.Error("sessions not ended on IdP logout", "err", err)
		status = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	}
	s.setCookie(w, "obert_session", "", -1)
	if idp.sloURL == "" {
		http.Redirect(w, r, SignedOutPath, http.StatusSeeOther)
		return
	}
	out, err := idp.sp.BuildLogoutResponseDocument(status, lr.ID)
	if err != nil {
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	b, err := out.WriteToBytes()
	if err != nil {
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	s.postSignedOut(w, r, idp.sloURL, [][2]string{{"SAMLResponse", base64.StdEncoding.EncodeToString(b)}, {"RelayState", r.PostForm.Get("RelayState")}})
}

// claveLogout posts a signed LogoutRequest for the session to the IdP, if it
// has a logout service; it reports whether it answered the request.
func (s *Service) claveLogout(w http.ResponseWriter, r *http.Request, sess Session) bool {
	if s.clave == nil || sess.Identity.Provider != ProviderClave || sess.Identity.NameID == "" {
		return false
	}
	idp, err := s.clave.current(r.Context())
	if err != nil || idp.sloURL == "" {
		return false
	}
	doc, err := idp.sp.BuildLogoutRequestDocument(sess.Identity.NameID, sess.Identity.SessionIndex)
	if err != nil {
		return false
	}
	raw, err := doc.WriteToBytes()
	if err != nil {
		return false
	}
	s.postSignedOut(w, r, idp.sloURL, [][2]string{{"SAMLRequest", base64.StdEncoding.EncodeToString(raw)}, {"RelayState", ""}})
	return true
}
