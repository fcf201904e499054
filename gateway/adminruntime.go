package gateway

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/activity"
	"github.com/obert-gov/obert/gateway/adminapi"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/policy"
)

// adminRuntime puts administrations' connector registrations into effect
// in this process (the connector in the exchange, its consent offers, its
// policy rules) as the catalogue's follower applies them, and tries a
// registration with a sandbox call before it is stored.
type adminRuntime struct {
	ex       *exchange.Exchanger
	consents *consent.Service
	guard    *policy.Guard
	signer   scsp.Signer
	signers  func(context.Context) (scsp.Signer, error) // from Vault, when configured
	purposes []string
	// bases are the legal basis each purpose runs on (see
	// adminapi.Rules.Bases): on a law, no consent is offered, and the
	// law is made to cover the category.
	bases    map[string]string
	tel      *telemetry
	activity *activity.Service
}

var _ adminapi.Runtime = adminRuntime{}

func (a adminRuntime) connector(s adminapi.Spec) (*scsp.Connector, error) {
	svc, err := s.Service()
	if err != nil {
		return nil, err
	}
	cert, err := s.Cert()
	if err != nil {
		return nil, err
	}
	return scsp.NewConnector(scsp.ConnectorConfig{ID: s.ID, Category: connectors.Category(s.Category), Source: s.Source, Service: svc,
		Client: &scsp.Client{Endpoint: s.Endpoint, HTTP: scsp.NewHTTPClient(8 * time.Second),
			Signer: a.signer, Signers: a.signers, Source: []*x509.Certificate{cert}},
		EmisorNIF: "Q0801175A", Emisor: "Consorci Administració Oberta de Catalunya"})
}

// activitySource is a registration of an activity source as the activity
// service reads it: named by its administration code.
func (a adminRuntime) activitySource(s adminapi.Spec) (activity.Source, error) {
	cert, err := s.Cert()
	if err != nil {
		return activity.Source{}, err
	}
	return activity.Source{ID: s.Source, Kind: s.Kind, Endpoint: s.Endpoint, HTTP: scsp.NewHTTPClient(8 * time.Second),
		Signer: a.signer, Certs: []*x509.Certificate{cert}}, nil
}

func (a adminRuntime) Activate(ctx context.Context, s adminapi.Spec) error {
	if s.Activity() {
		src, err := a.activitySource(s)
		if err != nil {
			return err
		}
		return a.activity.Put(src)
	}
	c, err := a.connector(s)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	for _, o := range s.Offers(Requester.ID) {
		if err := a.guard.AllowCategory(ctx, o.Purpose, s.Category, s.MinLoA, names); err != nil {
			return err
		}
		if law := a.law(o.Purpose); law != "" {
			// Nobody is asked: the law covers the category.
			a.consents.RemoveOffer(s.Category, o.Purpose)
			if err := a.guard.AllowLaw(ctx, law, s.Category); err != nil {
				return err
			}
			continue
		}
		if err := a.consents.PutOffer(o); err != nil {
			return err
		}
	}
	for _, p := range a.purposes {
		if !slices.Contains(s.Purposes, p) {
			a.consents.RemoveOffer(s.Category, p)
			a.guard.RemoveCategory(ctx, p, s.Category)
			if law := a.law(p); law != "" {
				a.guard.RemoveLaw(ctx, law, s.Category)
			}
		}
	}
	a.ex.Register(a.tel.connector(connectors.Resilient(c, ConnectorPolicy)))
	return nil
}

func (a adminRuntime) Deactivate(ctx context.Context, s adminapi.Spec) error {
	if s.Activity() {
		a.activity.Remove(s.Source)
		return nil
	}
	a.ex.Unregister(s.Category)
	for _, p := range a.purposes {
		a.consents.RemoveOffer(s.Category, p)
		if err := a.guard.RemoveCategory(ctx, p, s.Category); err != nil {
			return err
		}
		if law := a.law(p); law != "" {
			if err := a.guard.RemoveLaw(ctx, law, s.Category); err != nil {
				return err
			}
		}
	}
	return nil
}

// law is the law purpose runs on, or "" when it runs on consent.
func (a adminRuntime) law(purpose string) string {
	if b := a.bases[purpose]; b != "" && b != consent.BasisConsent {
		return b
	}
	return ""
}

// TestCall asks the endpoint for the sandbox person with a signed request
// that says what it is; no citizen's data is involved.
func (a adminRuntime) TestCall(ctx context.Context, s adminapi.Spec) error {
	if s.Activity() {
		src, err := a.activitySource(s)
		if err != nil {
			return err
		}
		sandbox := activity.Citizen{Subject: "sandbox", LoA: "low", DocType: s.Sandbox.DocType, DocNumber: s.Sandbox.DocNumber}
		if s.Kind == adminapi.KindApplications {
			_, err = src.Applications(ctx, sandbox)
		} else {
			_, err = src.Notifications(ctx, sandbox)
		}
		if err != nil {
			return fmt.Errorf("test call: %w", err)
		}
		return nil
	}
	c, err := a.connector(s)
	if err != nil {
		return err
	}
	svc, _ := s.Service()
	requester := Requester
	requester.Procedure = "OBERT-PROVA-CONNECTOR"
	requester.Officer = "Actuació administrativa automatitzada d'Obert, OBERT-PROVA-CONNECTOR (prova de connexió)"
	requester.CaseID = "OBERT-PROVA-CONNECTOR-" + s.ID
	_, err = c.Fetch(ctx, connectors.Request{RequestID: "TEST-" + rand.Text(), Category: connectors.Category(s.Category),
		Titular:   connectors.Titular{DocType: s.Sandbox.DocType, DocNumber: s.Sandbox.DocNumber},
		Requester: requester, Purpose: "Prova de connexió del connector " + s.ID + " (entorn de proves)",
		Consent: connectors.ConsentYes, Fields: svc.Fields})
	if err != nil {
		return fmt.Errorf("test call: %w", err)
	}
	return nil
}

// aidsAdapter checks administrations' aids against the recommender.
type aidsAdapter struct {
	rec     *recommend.Recommender
	ex      *exchange.Exchanger
	shipped map[string]bool
}

var _ adminapi.Aids = aidsAdapter{}

func (a aidsAdapter) Check(ctx context.Context, p recommend.Publication) []string {
	return a.rec.Check(ctx, p, a.ex.Categories(), func(ctx context.Context, mods map[string]string) (int, []string, error) {
		rep, err := policy.RunRegoTests(ctx, mods, nil)
		return rep.Passed, rep.Failures, err
	})
}

func (a aidsAdapter) Shipped(id string) bool { return a.shipped[id] }
