package gateway

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/obert-gov/obert/gateway/config"
	"github.com/obert-gov/obert/gateway/documents"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/folder"
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

// documentsAdapter gives the pages documents made only from facts the
// guard releases for aid-recommendation, each use recorded (the aids
// page's path).
type documentsAdapter struct {
	svc *documents.Service
	ex  *exchange.Exchanger
	log *slog.Logger
}

var _ folder.Documents = documentsAdapter{}

func (d documentsAdapter) facts(ctx context.Context, v folder.Viewer) (map[string]map[string]any, error) {
	facts, err := d.ex.Use(ctx, v.Citizen, "aid-recommendation")
	if err != nil {
		// Categories that failed are left out: no document is made from
		// data that was not released.
		d.log.Warn("some facts not used for documents", "err", err)
	}
	return facts, nil
}

func (d documentsAdapter) Available(ctx context.Context, v folder.Viewer) ([]documents.Type, error) {
	facts, err := d.facts(ctx, v)
	return documents.Available(facts), err
}

func (d documentsAdapter) Issued(ctx context.Context, subject string) ([]documents.Document, error) {
	return d.svc.Of(ctx, subject)
}

func (d documentsAdapter) Issue(ctx context.Context, v folder.Viewer, t documents.Type) (documents.Document, error) {
	facts, err := d.facts(ctx, v)
	if err != nil {
		return documents.Document{}, err
	}
	// Only the category this document is made from is passed on.
	facts = map[string]map[string]any{t.Category(): facts[t.Category()]}
	ti := v.Citizen.Titular
	name := strings.Join(strings.Fields(strings.Join([]string{ti.Name, ti.Surname1, ti.Surname2}, " ")), " ")
	return d.svc.Issue(ctx, v.Subject, documents.Holder{Name: name, Document: documents.MaskDocument(ti.DocNumber)}, t, facts)
}

func (d documentsAdapter) PDF(ctx context.Context, subject, csv, lang string) ([]byte, error) {
	doc, err := d.svc.Get(ctx, subject, csv)
	if err != nil {
		return nil, err
	}
	return d.svc.PDF(doc, lang)
}

func (d documentsAdapter) Revoke(ctx context.Context, subject, csv string) error {
	_, err := d.svc.Revoke(ctx, subject, csv)
	return err
}

func (d documentsAdapter) Verify(ctx context.Context, csv string) (documents.Document, error) {
	return d.svc.Verify(ctx, csv)
}
