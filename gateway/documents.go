package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/obert-gov/obert/gateway/config"
	"github.com/obert-gov/obert/gateway/credentials"
	"github.com/obert-gov/obert/gateway/documents"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/folder"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/web"
)

// DocumentValidity is how long an issued document stays in force.
const DocumentValidity = 90 * 24 * time.Hour

// documentKey returns the key and certificate that sign citizens'
// documents: from files, or in dev a self-signed pair generated into the
// data directory on first start.
func documentKey(cfg config.Config) (*rsa.PrivateKey, *x509.Certificate, error) {
	if cfg.DocumentKeyFile != "" || cfg.DocumentCertFile != "" {
		key, cert, err := keyPairFiles(cfg.DocumentKeyFile, cfg.DocumentCertFile)
		if err != nil {
			return nil, nil, fmt.Errorf("gateway: OBERT_DOCUMENT_KEY_FILE: %w", err)
		}
		return key, cert, nil
	}
	if !cfg.DevMode() {
		return nil, nil, errors.New("gateway: the document signing key is required in prod")
	}
	return devKeyPair(filepath.Join(cfg.DataDir, "dev-document-signing"), "Obert DEVELOPMENT documents")
}

// newDocuments builds the documents service: contents sealed like facts,
// every step recorded through the gateway's recorder.
func newDocuments(cfg config.Config, sealer documents.Sealer, store documents.Store, rec recorder, cat *web.Catalogue,
	log *slog.Logger) (*documents.Service, error) {
	key, cert, err := documentKey(cfg)
	if err != nil {
		return nil, err
	}
	return documents.New(documents.Config{Store: store, Sealer: sealer, Audit: rec, Signer: key, Cert: cert,
		Issuer: Controller.Name, Verify: strings.TrimSuffix(cfg.PublicURL, "/") + "/verify", Validity: DocumentValidity,
		Labels: cat.T, Logger: log})
}

// newCredentialIssuer is the issuer of the documents' SD-JWT VCs: a P-256
// key derived from the root secret (so every replica signs with the same
// one, published at /.well-known/jwt-vc-issuer), and the status list of
// their revocations in the database.
func newCredentialIssuer(root []byte, publicURL string, st *store.Store) (*credentials.Issuer, error) {
	base := strings.TrimSuffix(publicURL, "/")
	for i := 0; ; i++ {
		b, err := hkdf.Key(sha256.New, root, nil, fmt.Sprintf("obert credential issuer key v1/%d", i), 32)
		if err != nil {
			return nil, err
		}
		key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b)
		if err != nil {
			continue // out of the curve's range: the next derivation (about 2^-32)
		}
		return credentials.NewIssuer(credentials.Config{Issuer: base, Key: key, StatusListURI: base + "/credentials/status/1",
			Validity: DocumentValidity, Store: st})
	}
}

// credentialTypes names each document's credential type.
var credentialTypes = map[documents.Type]credentials.DocType{
	documents.Census:      credentials.CensusCertificate,
	documents.Tax:         credentials.TaxComplianceCertificate,
	documents.WorkingLife: credentials.WorkingLifeReport,
	documents.Residence:   credentials.ResidenceCertificate,
}

// documentsAdapter gives the pages documents made only from facts the
// guard releases for each document's purpose (aid-recommendation's, or its
// own), each use recorded, each also as an SD-JWT VC.
type documentsAdapter struct {
	svc    *documents.Service
	ex     *exchange.Exchanger
	vc     *credentials.Issuer
	store  *store.Store
	sealer documents.Sealer
	log    *slog.Logger
}

func credentialContext(subject, csv string) []byte {
	return []byte("credential/" + subject + "/" + csv)
}

// Credential implements folder.Documents.
func (d documentsAdapter) Credential(ctx context.Context, subject, csv string) ([]byte, error) {
	c, err := d.store.DocumentCredentialOf(ctx, subject, csv)
	if errors.Is(err, store.ErrNoCredential) {
		return nil, documents.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return d.sealer.Open(c.Sealed, credentialContext(subject, csv))
}

// issueCredential issues the document's SD-JWT VC, every field a
// disclosable claim, and keeps it sealed beside the document.
func (d documentsAdapter) issueCredential(ctx context.Context, doc documents.Document) error {
	claims := map[string]any{"verification_code": doc.CSV}
	for _, f := range doc.Fields {
		claims[f.Name] = f.Value
	}
	c, err := d.vc.Issue(ctx, credentials.Request{Type: credentialTypes[doc.Type], Claims: claims, Validity: time.Until(doc.ValidUntil)})
	if err != nil {
		return err
	}
	return d.store.PutDocumentCredential(ctx, store.DocumentCredential{CSV: doc.CSV, Subject: doc.Subject,
		StatusList: d.vc.StatusListURI(), StatusIndex: c.StatusIndex,
		Sealed: d.sealer.Seal([]byte(c.SDJWT), credentialContext(doc.Subject, doc.CSV))})
}

var _ folder.Documents = documentsAdapter{}

// facts are the facts released by the guard for purpose, each use
// recorded.
func (d documentsAdapter) facts(ctx context.Context, v folder.Viewer, purpose string) map[string]map[string]any {
	facts, err := d.ex.Use(ctx, v.Citizen, purpose)
	if err != nil {
		// Categories that failed are left out: no document is made from
		// data that was not released.
		d.log.Warn("some facts not used for documents", "err", err)
	}
	return facts
}

// Available implements folder.Documents: each document is weighed on
// the facts of its own purpose.
func (d documentsAdapter) Available(ctx context.Context, v folder.Viewer) ([]documents.Type, error) {
	byPurpose := map[string][]documents.Type{}
	for _, t := range documents.Types {
		if _, done := byPurpose[t.Purpose()]; !done {
			byPurpose[t.Purpose()] = documents.Available(d.facts(ctx, v, t.Purpose()))
		}
	}
	var out []documents.Type
	for _, t := range documents.Types {
		if slices.Contains(byPurpose[t.Purpose()], t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Ask implements folder.Documents: the category a document is made from,
// fetched for the document's purpose.
func (d documentsAdapter) Ask(ctx context.Context, v folder.Viewer, t documents.Type) exchange.Result {
	return d.ex.Fetch(ctx, v.Citizen, t.Category(), t.Purpose())
}

func (d documentsAdapter) Issued(ctx context.Context, subject string) ([]documents.Document, error) {
	return d.svc.Of(ctx, subject)
}

func (d documentsAdapter) Issue(ctx context.Context, v folder.Viewer, t documents.Type) (documents.Document, error) {
	// Only the category this document is made from is passed on.
	facts := map[string]map[string]any{t.Category(): d.facts(ctx, v, t.Purpose())[t.Category()]}
	ti := v.Citizen.Titular
	name := strings.Join(strings.Fields(strings.Join([]string{ti.Name, ti.Surname1, ti.Surname2}, " ")), " ")
	doc, err := d.svc.Issue(ctx, v.Subject, documents.Holder{Name: name, Document: documents.MaskDocument(ti.DocNumber)}, t, facts)
	if err != nil {
		return doc, err
	}
	if err := d.issueCredential(ctx, doc); err != nil {
		// The signed PDF and its code stand; the credential is what
		// failed, and the page says the document is there without it.
		d.log.Error("document credential not issued", "err", err)
	}
	return doc, nil
}

func (d documentsAdapter) PDF(ctx context.Context, subject, csv, lang string) ([]byte, error) {
	doc, err := d.svc.Get(ctx, subject, csv)
	if err != nil {
		return nil, err
	}
	return d.svc.PDF(doc, lang)
}

// Share implements folder.Documents: the shared document comes with its
// own credential, holding only the fields shared.
func (d documentsAdapter) Share(ctx context.Context, v folder.Viewer, r documents.ShareRequest) (documents.Document, error) {
	doc, err := d.svc.Share(ctx, v.Subject, r)
	if err != nil {
		return doc, err
	}
	if err := d.issueCredential(ctx, doc); err != nil {
		d.log.Error("shared document's credential not issued", "err", err)
	}
	return doc, nil
}

// Revoke revokes the credential first, then the document: a document
// whose revocation is shown never has a credential still in force.
func (d documentsAdapter) Revoke(ctx context.Context, subject, csv string) error {
	switch c, err := d.store.DocumentCredentialOf(ctx, subject, csv); {
	case errors.Is(err, store.ErrNoCredential):
	case err != nil:
		return err
	default:
		if err := d.vc.Revoke(ctx, c.StatusIndex); err != nil {
			return err
		}
	}
	_, err := d.svc.Revoke(ctx, subject, csv)
	return err
}

func (d documentsAdapter) Verify(ctx context.Context, csv string) (documents.Document, error) {
	return d.svc.Verify(ctx, csv)
}
