// Package gateway is Obert's composition root: it builds every service
// eagerly from the configuration, fails fast on a bad policy, a missing key
// or an unreachable database, and routes HTTP to them. It is the only
// package that knows every other.
package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/adminapi"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/config"
	"github.com/obert-gov/obert/gateway/devidp"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/folder"
	"github.com/obert-gov/obert/gateway/keys"
	"github.com/obert-gov/obert/gateway/notify"
	"github.com/obert-gov/obert/gateway/ops"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/secrets"
	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/transparency"
	"github.com/obert-gov/obert/gateway/web"
	"github.com/obert-gov/obert/policy"
)

// Requester is the administration on whose behalf Obert consults data.
// Its requests are made by the automated action of each purpose, which
// they name with the body's NIF (the Generalitat's) as NifFuncionario.
var Requester = connectors.Requester{ID: "gencat-drets-socials", Name: "Departament de Drets Socials",
	Unit: "Obert", OfficerNIF: "S0811001G"}

// ConnectorPolicy protects every connector: a timeout per attempt, one
// retry of a transient failure with the same IdPeticion, a circuit breaker.
var ConnectorPolicy = connectors.Policy{Timeout: 3500 * time.Millisecond, Retries: 1, Backoff: 200 * time.Millisecond,
	BreakAfter: 5, OpenFor: 30 * time.Second}

// Controller is the controller named in consent receipts.
var Controller = consent.Controller{Name: Requester.Name + " (Generalitat de Catalunya)",
	Contact: "Delegat de protecció de dades del " + Requester.Name, Address: "Barcelona"}

// purposesOf tells the exchange how each of the catalogue's purposes
// travels in SCSP (and which one's facts it may reuse).
func purposesOf(snap catalogue.Snapshot) map[string]exchange.Purpose {
	out := map[string]exchange.Purpose{}
	for _, p := range snap.Purposes {
		retention, _ := time.ParseDuration(p.Retention) // the seed's check makes it a duration off consent
		out[p.ID] = exchange.Purpose{Finalidad: p.Finalidad, Procedure: p.Procedure, Reuses: p.Reuses, LegalBasis: p.LegalBasis,
			Retention: retention, AutomatedAction: p.AutomatedAction}
	}
	return out
}

// basesOf is the legal basis each of the catalogue's purposes runs on.
func basesOf(snap catalogue.Snapshot) map[string]string {
	out := map[string]string{}
	for _, p := range snap.Purposes {
		out[p.ID] = p.LegalBasis
		if out[p.ID] == "" {
			out[p.ID] = consent.BasisConsent
		}
	}
	return out
}

// legalBases are the bases a registered connector may declare: consent
// and the laws the catalogue's purposes run on.
func legalBases(snap catalogue.Snapshot) []string {
	out := []string{consent.BasisConsent}
	for _, b := range basesOf(snap) {
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	slices.Sort(out[1:])
	return out
}

// Limits are the request rates each client (by address) or citizen (for
// fetches) is allowed, in each replica.
var Limits = map[string]web.Rate{
	"signin":        {Every: 3 * time.Second, Burst: 20},
	"questionnaire": {Every: 2 * time.Second, Burst: 30},
	"fetch":         {Every: 6 * time.Second, Burst: 10},
	"public":        {Every: 20 * time.Millisecond, Burst: 1000},
	"admin":         {Every: 500 * time.Millisecond, Burst: 60},
	// Document codes are 100 bits, but a lookup is an audit entry: a few a
	// minute per address, with room for a clerk checking a pile.
	"verify": {Every: 10 * time.Second, Burst: 30},
}

// Gateway is a built gateway.
type Gateway struct {
	Handler http.Handler
	// Ops serves /metrics and the probes, for OBERT_OPS_ADDR.
	Ops         http.Handler
	Store       *store.Store
	Audit       *audit.Log
	Alerts      *alerts.Service
	VerifierKey string    // public key of the audit checkpoints
	Dev         *DevSetup // dev mode only
	closers     []func(context.Context) error
	vault       *secrets.Vault  // nil without OBERT_VAULT_ADDR
	notices     activityNotices // e-mails that a notification waits
	// signers reads the SCSP key from Vault for every connector (one cache
	// for all of them); nil without Vault.
	signers func(context.Context) (scsp.Signer, error)
}

// DevSetup describes the development providers started in-process.
type DevSetup struct {
	IdPURL   string
	ClaveURL string
	// AdminClients are the sandbox administrations of the admin API, with
	// their client secrets (generated at each start).
	AdminClients map[string]devidp.AdminClient
	SimURL       string
	Sim          *sim.Server
	Citizens     []sim.Citizen
	// Mail is the development mail box alerts are sent to (without
	// OBERT_SMTP_URL), listed at /dev/mail.
	Mail *notify.Sink
}

// New builds the gateway.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *Gateway, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The shipped catalogue, and every part that copies its facts agreeing
	// with it.
	snap, err := checkCatalogue()
	if err != nil {
		return nil, fmt.Errorf("gateway: the shipped catalogue's parts disagree: %w", err)
	}
	// g is what is being built; on failure nil is returned and what g
	// started is closed (the closers read g, not the result).
	g := &Gateway{}
	defer func() {
		if err != nil {
			g.Close(context.Background())
		}
	}()
	now := time.Now
	metrics := ops.NewMetrics()
	tel := newTelemetry(metrics.Registry, log)

	// Secrets: from the configuration, from Vault, or generated files in
	// dev mode only.
	secretHex, skey := cfg.SecretKey, cfg.AuditSigningKey
	if cfg.VaultAddr != "" {
		if g.vault, err = secrets.New(ctx, secrets.Config{Addr: cfg.VaultAddr, Token: cfg.VaultToken, TokenFile: cfg.VaultTokenFile,
			Wrap: tel.vaultTransport}); err != nil {
			return nil, err
		}
		keepCtx, stopKeeping := context.WithCancel(context.Background())
		go g.vault.KeepToken(keepCtx, time.Minute, func(err error) { log.Error("Vault token not kept", "err", err) })
		g.closers = append(g.closers, func(context.Context) error { stopKeeping(); return nil })
		if secretHex == "" {
			if secretHex, _, err = g.vault.Get(ctx, "gateway", "secret_key"); err != nil {
				return nil, fmt.Errorf("gateway: the root secret: %w", err)
			}
		}
		if skey == "" {
			if skey, _, err = g.vault.Get(ctx, "audit", "signing_key"); err != nil {
				return nil, fmt.Errorf("gateway: the audit signing key: %w", err)
			}
		}
	}
	if cfg.DevMode() {
		if secretHex == "" {
			if secretHex, err = devFile(filepath.Join(cfg.DataDir, "dev-secret.key"), newHexSecret); err != nil {
				return nil, fmt.Errorf("gateway: dev secret: %w", err)
			}
		}
		if skey == "" {
			if skey, err = devFile(filepath.Join(cfg.DataDir, "dev-audit-signing.key"), newNoteKey("obert-dev-audit")); err != nil {
				return nil, fmt.Errorf("gateway: dev audit key: %w", err)
			}
		}
	}
	root, err := hex.DecodeString(secretHex)
	if err != nil {
		return nil, fmt.Errorf("gateway: OBERT_SECRET_KEY must be hex: %w", err)
	}
	k, err := keys.New(root)
	if err != nil {
		return nil, fmt.Errorf("gateway: OBERT_SECRET_KEY: %w", err)
	}
	csrfKey, err := hkdf.Key(sha256.New, root, nil, "obert csrf key v1", 32)
	if err != nil {
		return nil, err
	}
	receiptSeed, err := hkdf.Key(sha256.New, root, nil, "obert consent receipt key v1", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	receipts, err := consent.NewReceiptSigner(ed25519.NewKeyFromSeed(receiptSeed))
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("gateway: OBERT_AUDIT_SIGNING_KEY: %w", err)
	}
	if g.VerifierKey, err = verifierKeyOf(skey); err != nil {
		return nil, fmt.Errorf("gateway: OBERT_AUDIT_SIGNING_KEY: %w", err)
	}

	// Storage.
	if g.Store, err = store.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	g.closers = append(g.closers, func(context.Context) error { return g.Store.Close() })
	if cfg.DevMode() {
		if _, err := g.Store.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	// Production never migrates by itself: an operator runs gatewayctl
	// migrate, and a replica refuses a schema it was not built for.
	if err := g.Store.CheckSchema(ctx); err != nil {
		return nil, err
	}

	// Audit log, policy, consent, recommender.
	if g.Audit, err = audit.New(audit.Config{Store: g.Store, Sealer: k, Signer: signer, Origin: cfg.AuditOrigin}); err != nil {
		return nil, err
	}
	g.closers = append(g.closers, g.Audit.Close)
	rec := recorder{log: g.Audit, t: tel}
	guard, err := policy.NewGuard(ctx)
	if err != nil {
		return nil, err
	}
	offers, err := consent.DefaultOffers()
	if err != nil {
		return nil, err
	}
	consents, err := consent.NewService(g.Store, offers)
	if err != nil {
		return nil, err
	}
	aidCatalogue, err := policy.AidCatalogue()
	if err != nil {
		return nil, err
	}
	aidRules, err := policy.AidModules()
	if err != nil {
		return nil, err
	}
	recommender, err := recommend.New(ctx, aidCatalogue, aidRules, now)
	if err != nil {
		return nil, err
	}
	shipped := map[string]bool{} // Obert's own aids, which no administration may replace
	for _, a := range recommender.Aids() {
		shipped[a.ID] = true
	}

	// SCSP credentials and the Via Oberta endpoint (or the dev simulator).
	g.signers = g.scspSigners(cfg.SCSPRSA)
	scspKey, scspCert, sourceCerts, viaOberta, err := g.viaOberta(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	scspSigner, err := scsp.NewSigner(scspKey, scspCert, cfg.SCSPRSA)
	if err != nil {
		return nil, fmt.Errorf("gateway: OBERT_SCSP_RSA=%s: %w", cfg.SCSPRSA, err)
	}
	log.Info("SCSP requests are signed", "rsa", scspSigner.RSA())
	// Facts: with Vault, sealed under data keys Transit wraps; without,
	// under the key derived from the root secret (the dev key file in dev).
	var factSealer exchange.Sealer = k
	if g.vault != nil {
		if factSealer, err = g.vault.NewEnvelope(ctx, "obert-facts", 24*time.Hour); err != nil {
			return nil, err
		}
	}
	// The catalogue's built-in categories over Via Oberta, each at its
	// service's path.
	var conns []connectors.Connector
	for _, c := range snap.Categories {
		svc, ok := builtinServices[connectors.Category(c.ID)]
		if !ok {
			return nil, fmt.Errorf("gateway: built-in category %s has no SCSP service in code", c.ID)
		}
		conn, err := scsp.NewConnector(scsp.ConnectorConfig{
			ID: c.ID + "-viaoberta", Category: connectors.Category(c.ID), Source: c.Source, Service: svc,
			Client: &scsp.Client{Endpoint: viaOberta + "/scsp/" + c.ID, HTTP: scsp.NewHTTPClient(8 * time.Second),
				Signer: scspSigner, Signers: g.signers, Source: sourceCerts},
			EmisorNIF: "Q0801175A", Emisor: "Consorci Administració Oberta de Catalunya",
		})
		if err != nil {
			return nil, err
		}
		// A slow or failing source costs at most two 3.5 s attempts, and
		// one that keeps failing is left alone for 30 s.
		conns = append(conns, tel.connector(connectors.Resilient(conn, ConnectorPolicy)))
	}
	// The catalogue administrations change at runtime is followed from the
	// database by every replica (built below, once the services it feeds
	// exist; nothing runs before then).
	facts := &alertingFacts{Store: g.Store, log: log}
	var follower *catalogue.Follower
	current := func(ctx context.Context) error { return follower.Sync(ctx) }
	// A fetch's first read gives the citizen's grants and the catalogue's
	// version together: the connectors are brought to it before deciding.
	start := func(ctx context.Context, subject, purpose string) (map[string]consent.Grant, error) {
		grants, v, err := g.Store.ActiveGrantsAndCatalogue(ctx, subject, purpose, time.Now())
		if err != nil {
			return nil, err
		}
		return grants, follower.SyncTo(ctx, v)
	}
	ex, err := exchange.New(exchange.Config{Connectors: conns, Consents: consents, Guard: measuredGuard{guard, tel},
		Audit: rec, Facts: facts, Sealer: factSealer, Requester: Requester, Purposes: purposesOf(snap), Deadline: 10 * time.Second,
		Start: start, Serves: guard.Categories, Objected: g.Store.ObjectedToPurpose})
	if err != nil {
		return nil, err
	}

	// Web: catalogue, CSRF, pages; sign-in.
	cat, err := web.LoadCatalogue()
	if err != nil {
		return nil, err
	}
	csrf, err := web.NewCSRF(csrfKey, cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	alertSvc, mailer, err := g.withAlerts(cfg, alertsDeps{root: root, sealer: k, consents: consents, ex: ex,
		recommender: recommender, rec: rec, cat: cat, refresh: current}, log)
	if err != nil {
		return nil, err
	}
	g.Alerts = alertSvc
	facts.alerts = alertSvc

	// Administrations' connectors and aids: the stored catalogue, applied
	// now and followed from then on; then the alert jobs start.
	purposes := slices.Sorted(maps.Keys(purposesOf(snap)))
	// The citizens' own dealings (applications, notifications): the
	// built-in sources, and those administrations register.
	act, acks, err := newActivity(activityDeps{root: root, viaOberta: viaOberta, signer: scspSigner, certs: sourceCerts,
		store: g.Store, rec: rec})
	if err != nil {
		return nil, err
	}
	rt := adminRuntime{ex: ex, consents: consents, guard: guard, signer: scspSigner, signers: g.signers, purposes: purposes, bases: basesOf(snap),
		tel: tel, activity: act}
	// E-mails that tell a citizen who asked that a notification waits.
	g.notices = activityNotices{store: g.Store, sealer: k, act: act, mailer: mailer, texts: cat.T,
		public: strings.TrimSuffix(cfg.PublicURL, "/"), holder: rand.Text(), log: log}
	noticesCtx, stopNotices := context.WithCancel(context.Background())
	go g.notices.loop(noticesCtx, 15*time.Minute)
	g.closers = append(g.closers, func(context.Context) error { stopNotices(); return nil })
	cr := &catalogueRuntime{store: g.Store, rt: rt, rec: recommender, alerts: alertSvc, cat: cat, register: snap.Administrations, log: log,
		conns: map[string]appliedConnector{}, aids: map[string]int64{}}
	follower = catalogue.NewFollower(g.Store, cr.apply, log)
	if err := follower.Sync(ctx); err != nil {
		return nil, fmt.Errorf("gateway: catalogue: %w", err)
	}
	followCtx, stopFollowing := context.WithCancel(context.Background())
	wake := make(chan struct{}, 1)
	go g.Store.ListenCatalogue(followCtx, wake)
	go follower.Run(followCtx, time.Second, wake)
	g.closers = append(g.closers, func(context.Context) error { stopFollowing(); return nil })
	metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "obert_sessions_live",
		Help: "Citizens' sessions in force, for every replica (-1 when the database does not answer)."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, err := g.Store.LiveSessions(ctx, time.Now(), signin.DefaultIdleTimeout, signin.DefaultMaxAge)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "obert_catalogue_version",
		Help: "The catalogue version in effect in this replica (it follows the database's within seconds)."},
		func() float64 { return float64(follower.Applied()) }))
	jobEvents, unsubscribe := alertSvc.Client().Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
	go tel.watchJobs(jobEvents)
	g.closers = append(g.closers, func(context.Context) error { unsubscribe(); return nil })
	if err := alertSvc.Start(context.Background()); err != nil {
		return nil, fmt.Errorf("gateway: alert jobs: %w", err)
	}
	g.closers = append(g.closers, alertSvc.Stop)
	u, err := url.Parse(cfg.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("gateway: OBERT_PUBLIC_URL: %w", err)
	}
	// The client's address: the peer's, or the one the trusted proxies
	// forward (rate limits, and the network prefix a sign-in shows).
	proxies, err := web.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	events := signinEvents{rec: rec, log: log}
	si, err := signin.New(signin.Config{Store: g.Store, Sealer: k, Subject: k.Subject, Events: events,
		PublicURL: cfg.PublicURL, SecureCookies: u.Scheme == "https", Logger: log, ClientIP: proxies.ClientIP})
	if err != nil {
		return nil, err
	}
	// The synthetic citizens the development providers offer.
	var offered []devidp.Citizen
	if cfg.DevIdP() || cfg.DevClave() {
		if g.Dev == nil {
			g.Dev = &DevSetup{}
		}
		if len(g.Dev.Citizens) == 0 {
			// An external Via Oberta (a simulator run on its own) with the
			// development providers: the same synthetic population it
			// serves, which the development mail box must not hide.
			g.Dev.Citizens = sim.NewPopulation(2026, cfg.DevPopulation, time.Now()).Citizens()
		}
		for _, c := range g.Dev.Citizens {
			label := c.Archetype
			if len(c.Represents) > 0 {
				label += fmt.Sprintf(" · represents %d", len(c.Represents))
			}
			if c.Employer != "" {
				label += " · staff of " + c.Employer
			}
			offered = append(offered, devidp.Citizen{DocType: c.DocType, DocNumber: c.DocNumber, Name: c.Name,
				Surname1: c.Surname1, Surname2: c.Surname2, BirthDate: c.BirthDate.Format(time.DateOnly), Label: label,
				Employer: c.Employer})
		}
	}
	var formOrigins []string
	if cfg.DevIdP() {
		g.Dev.AdminClients = map[string]devidp.AdminClient{
			"sandbox-gencat": {Secret: rand.Text(), Administration: "gencat-dsf"},
			"sandbox-ajbcn":  {Secret: rand.Text(), Administration: "ajbcn"},
		}
	}
	if origin, err := g.withIdCAT(ctx, cfg, si, offered); err != nil {
		return nil, err
	} else if origin != "" {
		formOrigins = append(formOrigins, origin)
	}
	if origin, err := g.withClave(ctx, cfg, si, offered); err != nil {
		return nil, err
	} else if origin != "" {
		formOrigins = append(formOrigins, origin)
	}

	sessions := sessionsAdapter{si}
	docs, err := newDocuments(cfg, factSealer, g.Store, rec, cat, log)
	if err != nil {
		return nil, err
	}
	vc, err := newCredentialIssuer(root, cfg.PublicURL, g.Store)
	if err != nil {
		return nil, err
	}
	places, err := catalogue.LoadPlaces()
	if err != nil {
		return nil, err
	}
	lifeEvents, err := catalogue.LoadLifeEvents()
	if err != nil {
		return nil, err
	}
	pages, err := folder.New(folder.Deps{
		Sessions: sessions, Consents: consentsAdapter{svc: consents, served: servedBy(ex), rec: rec, facts: g.Store, log: log, alerts: alertSvc,
			receipts: receipts, controller: Controller, policyURL: strings.TrimSuffix(cfg.PublicURL, "/") + "/privacy"},
		Exchanger: exchangerAdapter{ex: ex}, Alerts: alertSvc, Recommender: recommenderAdapter{ex: ex, rec: recommender, log: log},
		AccessLog: g.Audit, Catalogue: cat, CSRF: csrf, Logger: log,
		Rights:        rightsAdapter{store: g.Store, consents: consents, ex: ex, log: g.Audit, rec: rec, alerts: alertSvc, docs: docs, now: now},
		Questionnaire: questionnaireAdapter{rec: recommender, store: g.Store, now: now},
		Signins:       signinsAdapter{si},
		Notices:       g.notices,
		Activity:      activityAdapter{act},
		Documents:     documentsAdapter{svc: docs, ex: ex, vc: vc, store: g.Store, sealer: factSealer, log: log},
		Personal:      personalAdapter{store: g.Store, now: now},
		Profiles:      profilesAdapter{ex: ex, si: si, rec: rec, now: now},
	}, folder.Options{DevMode: cfg.DevMode(), ClaveEnabled: si.ClaveEnabled(), SecureCookies: u.Scheme == "https",
		Administrations: snap.Administrations.All(), Controller: Controller, Connectors: ex.Connectors(), Places: places, LifeEvents: lifeEvents,
		Purposes: snap.Purposes, Categories: snap.Categories, Serves: guard.Categories})
	if err != nil {
		return nil, err
	}
	si.SetPages(pages.SignInFailed, pages.Post)
	si.SetSignedOutPage(pages.PostSignedOut)

	// Retention: expired facts are deleted and the deletions audited.
	retCtx, stopRetention := context.WithCancel(context.Background())
	go g.retentionLoop(retCtx, 5*time.Minute, log)
	g.closers = append(g.closers, func(context.Context) error { stopRetention(); return nil })

	// The administrations' API.
	admin, err := g.adminAPI(ctx, cfg, snap, rt, aidsAdapter{rec: recommender, ex: ex, shipped: shipped}, rec, purposes, follower, log)
	if err != nil {
		return nil, err
	}

	// Routes.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", ops.Healthz)
	checks := []ops.Check{
		{Name: "database", Func: g.Store.Ping},
		{Name: "policy", Func: func(ctx context.Context) error {
			_, err := guard.Decide(ctx, policy.Input{Purpose: "readiness", Now: time.Now().Unix()})
			return err
		}},
		{Name: "audit", Func: g.Audit.Ready},
	}
	if g.vault != nil {
		checks = append(checks, ops.Check{Name: "vault", Func: g.vault.Ready})
	}
	readyz := ops.Readyz(loggedChecks(checks, log), 2*time.Second)
	mux.Handle("GET /readyz", readyz)
	// Metrics on the operations listener when there is one; the probes on
	// both, for whichever the orchestrator uses.
	opsMux := http.NewServeMux()
	opsMux.HandleFunc("GET /healthz", ops.Healthz)
	opsMux.Handle("GET /readyz", readyz)
	opsMux.Handle("GET /metrics", metrics.Handler())
	g.Ops = opsMux
	if cfg.OpsAddr == "" {
		mux.Handle("GET /metrics", metrics.Handler())
	}
	// Rate limits: by the client's address (as the trusted proxies say
	// it), and the fetches by citizen, so that many people behind one
	// address are not counted as one.
	limits := web.NewLimiter(Limits, nil)
	byIP := func(r *http.Request) string { return proxies.ClientIP(r).String() }
	tooMany := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/admin/") || strings.HasPrefix(r.URL.Path, "/log/") {
			web.Problem(w, http.StatusTooManyRequests, "Too many requests", "Slow down; try again after the time in Retry-After.")
			return
		}
		pages.Error(w, r, http.StatusTooManyRequests, "error.too_many")
	})
	limited := func(class string, key func(*http.Request) string, h http.Handler) http.Handler {
		return limits.Limit(class, key, tooMany, h)
	}
	mux.Handle("GET /signin/idcat", limited("signin", byIP, http.HandlerFunc(si.IdCATStart)))
	mux.Handle("GET /signin/idcat/callback", limited("signin", byIP, http.HandlerFunc(si.IdCATCallback)))
	mux.Handle("GET /signin/clave", limited("signin", byIP, http.HandlerFunc(si.ClaveStart)))
	mux.HandleFunc("GET /signin/clave/metadata", si.ClaveMetadata)
	mux.Handle("POST /signin/clave/acs", limited("signin", byIP, http.HandlerFunc(si.ClaveACS)))
	mux.HandleFunc("POST /signin/clave/slo", si.ClaveSLO)
	mux.HandleFunc("POST /signout", func(w http.ResponseWriter, r *http.Request) {
		var secret []byte
		if v, ok := sessions.Current(r); ok {
			secret = v.CSRFSecret
		}
		if r.ParseForm() != nil || !csrf.Valid(r, secret) {
			pages.Error(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		si.SignOut(w, r)
	})
	mux.Handle("/log/", limited("public", byIP, transparency.Handler(g.Audit, g.VerifierKey)))
	mux.Handle("/admin/v1/", limited("admin", byIP, admin))
	receiptKeys, _ := json.Marshal(receipts.PublicKeys())
	mux.HandleFunc("GET /consent/receipt-keys", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(receiptKeys)
	})
	// A receipt's status: whether it still states its grant as it is, or
	// which receipt superseded it (a withdrawal, a pause), signed.
	mux.Handle("GET /consent/receipts/{id}/status", limited("public", byIP, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		grantID, _, _ := strings.Cut(id, ".")
		g, err := consents.ByID(r.Context(), grantID)
		if errors.Is(err, consent.ErrNotFound) || len(id) > 120 {
			problemJSON(w, http.StatusNotFound, "Unknown receipt", "No consent receipt has this id.")
			return
		}
		if err != nil {
			problemJSON(w, http.StatusServiceUnavailable, "Unavailable", "Try again later.")
			return
		}
		st := consent.StatusOf(id, g, now())
		jws, err := receipts.SignStatus(st)
		if err != nil {
			problemJSON(w, http.StatusServiceUnavailable, "Unavailable", "Try again later.")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		json.NewEncoder(w).Encode(map[string]any{"status": st, "jws": jws})
	})))
	ackKeys, _ := json.Marshal(acks.PublicKeys())
	mux.HandleFunc("GET /activity/ack-keys", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(ackKeys)
	})
	if g.Dev != nil && g.Dev.Mail != nil {
		mux.HandleFunc("GET /dev/mail", devMailBox(g.Dev.Mail))
	}
	citizen := func(r *http.Request) string {
		if v, ok := pages.Current(r); ok {
			return "subject:" + v.Subject
		}
		return byIP(r)
	}
	mux.Handle("POST /questionnaire", limited("questionnaire", byIP, pages))
	mux.Handle("POST /folder/data", pages.Memo(limited("fetch", citizen, pages)))
	mux.Handle("GET /verify", limited("verify", byIP, pages))
	// The documents' credentials: the issuer's keys and the status list
	// their revocations are published in, for any verifier.
	mux.Handle("GET "+vc.MetadataPath(), vc.MetadataHandler())
	mux.Handle("GET "+vc.StatusListPath(), limited("public", byIP, vc.StatusListHandler()))
	mux.Handle("/", pages)
	tooLarge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/admin/") {
			web.Problem(w, http.StatusRequestEntityTooLarge, "Too large", "A request body is at most 64 KiB; nothing was changed.")
			return
		}
		pages.Error(w, r, http.StatusRequestEntityTooLarge, "error.too_large")
	})
	g.Handler = ops.AccessLog(log, metrics.Middleware(web.Secure(web.LimitBody(mux, 64<<10, tooLarge), formOrigins, u.Scheme == "https")))
	return g, nil
}

// adminAPI builds the administrations' API, verifying access tokens from
// the configured issuer (in dev, the development provider); without one it
// answers that it is not configured.
func (g *Gateway) adminAPI(ctx context.Context, cfg config.Config, snap catalogue.Snapshot, rt adminRuntime, aids aidsAdapter, rec recorder,
	purposes []string, follower *catalogue.Follower, log *slog.Logger) (http.Handler, error) {
	issuer := cfg.AdminIssuer
	if issuer == "" && cfg.DevIdP() && g.Dev != nil {
		issuer = g.Dev.IdPURL
	}
	if issuer == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			web.Problem(w, http.StatusNotFound, "Not configured", "The administrations' API needs OBERT_ADMIN_ISSUER.")
		}), nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, &http.Client{Timeout: 10 * time.Second}), issuer)
	if err != nil {
		return nil, fmt.Errorf("gateway: admin token issuer %s: %w", issuer, err)
	}
	verifier := p.VerifierContext(oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second}),
		&oidc.Config{ClientID: cfg.AdminAudience, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256, oidc.PS256}})
	var reserved []string // the built-in categories, which no administration may serve
	for _, c := range snap.Categories {
		reserved = append(reserved, c.ID)
	}
	dev := cfg.DevMode()
	api, err := adminapi.New(adminapi.Config{Store: g.Store, Runtime: rt, Audit: rec, Verifier: verifier, Logger: log,
		Register: snap.Administrations, Sync: follower.Sync, Usage: usageAdapter{g.Store},
		Rules: func() adminapi.Rules {
			return adminapi.Rules{Purposes: purposes, LegalBases: legalBases(snap), Bases: basesOf(snap),
				Reserved: reserved, ReservedSources: builtinActivitySources,
				Requester: Requester.ID, AllowPlainHTTP: dev, Now: time.Now()}
		}})
	if err != nil {
		return nil, err
	}
	api.WithAids(g.Store, aids)
	return api, nil
}

// withIdCAT enables IdCAT: the configured provider, or the development one
// started here. It returns the provider's origin, which forms may post to.
func (g *Gateway) withIdCAT(ctx context.Context, cfg config.Config, si *signin.Service, offered []devidp.Citizen) (string, error) {
	issuer, clientID, clientSecret := cfg.IdcatIssuer, cfg.IdcatClientID, cfg.IdcatSecret
	if cfg.DevIdP() {
		clientID, clientSecret = "obert-dev", rand.Text()
		idp, err := devidp.Start(ctx, cfg.DevIdPAddr, devidp.Config{Citizens: offered, ClientID: clientID,
			ClientSecret: clientSecret, RedirectURIs: []string{cfg.PublicURL + "/signin/idcat/callback"}, AdminClients: g.Dev.AdminClients,
			PostLogoutRedirectURIs: []string{strings.TrimSuffix(cfg.PublicURL, "/") + signin.SignedOutPath}})
		if err != nil {
			return "", err
		}
		g.closers = append(g.closers, idp.Close)
		issuer, g.Dev.IdPURL = idp.Issuer(), idp.Issuer()
	}
	if issuer == "" {
		return "", nil
	}
	if err := si.WithIdCAT(ctx, signin.IdCATConfig{Issuer: issuer, ClientID: clientID, ClientSecret: clientSecret}); err != nil {
		return "", err
	}
	iu, err := url.Parse(issuer)
	if err != nil {
		return "", err
	}
	return iu.Scheme + "://" + iu.Host, nil
}

// withClave enables Cl@ve: the configured IdP with our keys from files, or
// in dev the development IdP started here and keys generated on first start.
// It returns the IdP's origin, which our pages post AuthnRequests to.
func (g *Gateway) withClave(ctx context.Context, cfg config.Config, si *signin.Service, offered []devidp.Citizen) (string, error) {
	metadata := cfg.ClaveIdPMetadata
	if metadata == "" && !cfg.DevClave() {
		return "", nil
	}
	var sc signin.ClaveConfig
	var err error
	if cfg.DevClave() || cfg.ClaveKeyFile == "" {
		if !cfg.DevMode() {
			return "", errors.New("gateway: Cl@ve keys are required in prod")
		}
		if sc.SigningKey, sc.SigningCert, err = devKeyPair(filepath.Join(cfg.DataDir, "dev-clave-signing"), "Obert DEVELOPMENT Cl@ve signing"); err != nil {
			return "", err
		}
		if sc.EncryptionKey, sc.EncryptionCert, err = devKeyPair(filepath.Join(cfg.DataDir, "dev-clave-encryption"), "Obert DEVELOPMENT Cl@ve encryption"); err != nil {
			return "", err
		}
	} else {
		if sc.SigningKey, sc.SigningCert, err = keyPairFiles(cfg.ClaveKeyFile, cfg.ClaveCertFile); err != nil {
			return "", fmt.Errorf("gateway: OBERT_CLAVE_KEY_FILE: %w", err)
		}
		if sc.EncryptionKey, sc.EncryptionCert, err = keyPairFiles(cfg.ClaveEncKeyFile, cfg.ClaveEncCertFile); err != nil {
			return "", fmt.Errorf("gateway: OBERT_CLAVE_ENC_KEY_FILE: %w", err)
		}
	}
	if cfg.DevClave() {
		idp, err := devidp.StartClave(ctx, cfg.DevClaveAddr, devidp.ClaveConfig{Citizens: offered,
			SPMetadataURL: strings.TrimSuffix(cfg.PublicURL, "/") + "/signin/clave/metadata"})
		if err != nil {
			return "", err
		}
		g.closers = append(g.closers, idp.Close)
		metadata, g.Dev.ClaveURL = idp.MetadataURL(), idp.URL()
	}
	sc.IdPMetadata, sc.LoA = metadata, cfg.ClaveLoA
	if err := si.WithClave(ctx, sc); err != nil {
		return "", err
	}
	return si.ClaveIdPOrigin(ctx), nil
}

// viaOberta returns the SCSP signing credentials, the certificates answers
// must carry and the endpoint: from files in prod, or a generated key and the
// in-process simulator in dev.
func (g *Gateway) viaOberta(ctx context.Context, cfg config.Config, log *slog.Logger) (*rsa.PrivateKey, *x509.Certificate, []*x509.Certificate, string, error) {
	var vaultSigner scsp.Signer
	if g.vault != nil {
		s, err := g.signers(ctx)
		if err != nil {
			return nil, nil, nil, "", err
		}
		vaultSigner = s
	}
	if !cfg.DevSim() && g.vault != nil {
		src, err := readCert(cfg.ViaObertaCert)
		if err != nil {
			return nil, nil, nil, "", fmt.Errorf("gateway: OBERT_VIAOBERTA_CERT_FILE: %w", err)
		}
		return vaultSigner.Key, vaultSigner.Cert, []*x509.Certificate{src}, cfg.ViaObertaURL, nil
	}
	if !cfg.DevSim() {
		kb, err := os.ReadFile(cfg.SCSPKeyFile)
		if err != nil {
			return nil, nil, nil, "", fmt.Errorf("gateway: OBERT_SCSP_KEY_FILE: %w", err)
		}
		key, err := scsp.ParseKeyPEM(kb)
		if err != nil {
			return nil, nil, nil, "", fmt.Errorf("gateway: OBERT_SCSP_KEY_FILE: %w", err)
		}
		cert, err := readCert(cfg.SCSPCertFile)
		if err != nil {
			return nil, nil, nil, "", fmt.Errorf("gateway: OBERT_SCSP_CERT_FILE: %w", err)
		}
		src, err := readCert(cfg.ViaObertaCert)
		if err != nil {
			return nil, nil, nil, "", fmt.Errorf("gateway: OBERT_VIAOBERTA_CERT_FILE: %w", err)
		}
		return key, cert, []*x509.Certificate{src}, cfg.ViaObertaURL, nil
	}
	now := time.Now()
	key, cert, err := vaultSigner.Key, vaultSigner.Cert, error(nil)
	if key == nil {
		if key, cert, err = scsp.NewSelfSigned("Obert development gateway", now); err != nil {
			return nil, nil, nil, "", err
		}
	}
	simKey, simCert, err := scsp.NewSelfSigned("Via Oberta simulator", now)
	if err != nil {
		return nil, nil, nil, "", err
	}
	pop := sim.NewPopulation(2026, cfg.DevPopulation, now)
	seed, err := catalogue.Seed()
	if err != nil {
		return nil, nil, nil, "", err
	}
	running, err := sim.Start(ctx, cfg.SimAddr, sim.Config{Population: pop, Key: simKey, Cert: simCert,
		Trusted: []*x509.Certificate{cert}, HeaderFaults: true, Logger: log, Bases: seed.SCSPBases()})
	if err != nil {
		return nil, nil, nil, "", err
	}
	g.closers = append(g.closers, running.Close)
	g.Dev = &DevSetup{SimURL: running.URL, Sim: running.Server, Citizens: pop.Citizens()}
	return key, cert, []*x509.Certificate{simCert}, running.URL, nil
}

// scspSigners reads the SCSP signing key and certificate from Vault at
// each request (cached by the Vault client for a minute), so a rotation in
// Vault takes effect without a restart; nil without Vault.
func (g *Gateway) scspSigners(impl string) func(context.Context) (scsp.Signer, error) {
	if g.vault == nil {
		return nil
	}
	var mu sync.Mutex
	var cached scsp.Signer
	var version int
	return func(ctx context.Context) (scsp.Signer, error) {
		kp, kv, err := g.vault.Get(ctx, "scsp", "private_key")
		if err != nil {
			return scsp.Signer{}, err
		}
		mu.Lock()
		defer mu.Unlock()
		if cached.Key != nil && kv == version {
			return cached, nil
		}
		cp, _, err := g.vault.Get(ctx, "scsp", "certificate")
		if err != nil {
			return scsp.Signer{}, err
		}
		key, err := scsp.ParseKeyPEM([]byte(kp))
		if err != nil {
			return scsp.Signer{}, fmt.Errorf("gateway: SCSP key in Vault: %w", err)
		}
		cert, err := scsp.ParseCertPEM([]byte(cp))
		if err != nil {
			return scsp.Signer{}, fmt.Errorf("gateway: SCSP certificate in Vault: %w", err)
		}
		signer, err := scsp.NewSigner(key, cert, impl) // which checks that cert is key's
		if err != nil {
			return scsp.Signer{}, fmt.Errorf("gateway: SCSP key and certificate in Vault: %w", err)
		}
		cached, version = signer, kv
		return cached, nil
	}
}

// servedBy reports whether the exchange has a connector for a category,
// now: administrations register and deactivate connectors at runtime.
func servedBy(ex *exchange.Exchanger) func(string) bool {
	return func(category string) bool { return slices.Contains(ex.Categories(), category) }
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return scsp.ParseCertPEM(b)
}

// Close stops everything New started, newest first.
func (g *Gateway) Close(ctx context.Context) error {
	var errs []error
	for i := len(g.closers) - 1; i >= 0; i-- {
		errs = append(errs, g.closers[i](ctx))
	}
	g.closers = nil
	return errors.Join(errs...)
}

// problemJSON writes an RFC 9457 problem document.
func problemJSON(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}
