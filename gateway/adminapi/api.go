// Package adminapi is the administrations' API: they register, inspect,
// update, test and deactivate the connectors through which Obert consults
// their data. Administrations authenticate with OAuth2 client credentials;
// their JWT access tokens are verified against the configured issuer, and
// each sees and changes only its own connectors. Every change is an audit
// entry. Errors are RFC 9457 problem details.
package adminapi

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/obert-gov/obert/connectors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/catalogue"
)

//go:embed openapi.json
var openapiFS embed.FS

// Audit kinds of the administrations' changes.
const (
	KindConnectorCreate     = "admin.connector.create"
	KindConnectorUpdate     = "admin.connector.update"
	KindConnectorDeactivate = "admin.connector.deactivate"
	KindConnectorTest       = "admin.connector.test"
)

// Runtime tries registrations against the running gateway. Putting them
// into effect is not the API's business: every replica follows the stored
// catalogue.
type Runtime interface {
	// TestCall asks the connector for the sandbox person, outside any
	// citizen's exchange, and reports whether a valid signed answer came.
	TestCall(ctx context.Context, s Spec) error
}

// Recorder commits audit entries.
type Recorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// TokenVerifier verifies an access token (go-oidc's IDTokenVerifier).
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (*oidc.IDToken, error)
}

// Config configures the API.
type Config struct {
	Store    Store
	Runtime  Runtime
	Audit    Recorder
	Verifier TokenVerifier
	Rules    func() Rules
	// Register names the administrations; a token's administration must
	// be in it, and it says which levels each may publish aids at.
	Register catalogue.Register
	// Sync brings this process to the catalogue's newest version.
	Sync func(context.Context) error
	// Usage reads the sources' usage counts (optional: without it
	// /admin/v1/usage answers 404).
	Usage  UsageReader
	Now    func() time.Time
	Logger *slog.Logger
}

// API is the administrations' API handler.
type API struct {
	cfg      Config
	mux      *http.ServeMux
	aidStore AidStore
	aids     Aids
}

// New returns the API; mount it at /admin/v1/.
func New(cfg Config) (*API, error) {
	if cfg.Store == nil || cfg.Runtime == nil || cfg.Audit == nil || cfg.Verifier == nil || cfg.Rules == nil || cfg.Sync == nil {
		return nil, errors.New("adminapi: store, runtime, audit, verifier, rules and sync are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &API{cfg: cfg, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /admin/v1/openapi.json", a.openapi)
	a.mux.Handle("POST /admin/v1/connectors", a.auth(a.create))
	a.mux.Handle("GET /admin/v1/connectors", a.auth(a.list))
	a.mux.Handle("GET /admin/v1/connectors/{id}", a.auth(a.get))
	a.mux.Handle("PUT /admin/v1/connectors/{id}", a.auth(a.update))
	a.mux.Handle("DELETE /admin/v1/connectors/{id}", a.auth(a.deactivate))
	a.mux.Handle("POST /admin/v1/connectors/{id}/test", a.auth(a.test))
	a.mux.Handle("GET /admin/v1/usage", a.auth(a.usage))
	a.mux.HandleFunc("/admin/v1/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusNotFound, "Not found", "No such resource in the administrations' API; see /admin/v1/openapi.json.", nil)
	})
	return a, nil
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// problem writes an RFC 9457 problem document, with the invalid fields.
func problem(w http.ResponseWriter, status int, title, detail string, errs []Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	doc := map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail}
	if len(errs) > 0 {
		doc["errors"] = errs
	}
	json.NewEncoder(w).Encode(doc)
}

// auth checks the bearer token and hands the administration to h.
func (a *API) auth(h func(w http.ResponseWriter, r *http.Request, admin string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="obert-admin"`)
			problem(w, http.StatusUnauthorized, "Unauthorized", "An OAuth2 access token (client credentials) is required.", nil)
			return
		}
		tok, err := a.cfg.Verifier.Verify(r.Context(), raw)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="obert-admin", error="invalid_token"`)
			problem(w, http.StatusUnauthorized, "Unauthorized", "The access token is not valid.", nil)
			return
		}
		var claims struct {
			Administration string `json:"administration"`
		}
		if err := tok.Claims(&claims); err != nil || !categoryRe.MatchString(strings.ReplaceAll(claims.Administration, "-", "_")) {
			problem(w, http.StatusForbidden, "Forbidden", "The token names no administration.", nil)
			return
		}
		if _, ok := a.cfg.Register.Get(claims.Administration); !ok {
			problem(w, http.StatusForbidden, "Forbidden", "The token's administration is not in Obert's register of administrations.", nil)
			return
		}
		h(w, r, claims.Administration)
	})
}

func (a *API) openapi(w http.ResponseWriter, _ *http.Request) {
	b, _ := openapiFS.ReadFile("openapi.json")
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// view is a registration as the API shows it.
type view struct {
	ID        string    `json:"id"`
	Owner     string    `json:"owner"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
	Spec      Spec      `json:"spec"`
}

func viewOf(r Registration) (view, error) {
	v := view{ID: r.ID, Owner: r.Owner, Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
	return v, json.Unmarshal(r.Spec, &v.Spec)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decode reads a registration strictly: unknown fields are errors.
func decode(w http.ResponseWriter, r *http.Request) (Spec, bool) {
	var s Spec
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			problem(w, http.StatusRequestEntityTooLarge, "Too large", "A registration is at most 64 KiB.", nil)
		} else {
			problem(w, http.StatusBadRequest, "Not a registration", "The body is not a connector registration: "+err.Error(), nil)
		}
		return Spec{}, false
	}
	return s, true
}

func (a *API) validate(w http.ResponseWriter, r *http.Request, admin string, s Spec) bool {
	if ps := s.Validate(a.cfg.Rules()); len(ps) > 0 {
		a.refused(r.Context(), admin, "connector "+s.ID, RefusedInvalid)
		problem(w, http.StatusBadRequest, "Invalid registration", "Nothing was registered; correct the fields listed in errors.", ps)
		return false
	}
	return true
}

// testCall runs the sandbox test call; a failure is answered here.
func (a *API) testCall(w http.ResponseWriter, r *http.Request, s Spec) bool {
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	if err := a.cfg.Runtime.TestCall(ctx, s); err != nil {
		a.cfg.Logger.Info("connector test call failed", "connector", s.ID, "err", err)
		problem(w, http.StatusUnprocessableEntity, "Test call failed",
			"The sandbox test call to the endpoint did not return a valid signed answer for the sandbox person: "+classify(err)+
				". Nothing was activated.", nil)
		return false
	}
	return true
}

// classify names a test-call failure without echoing what the source sent,
// with the SCSP state the source answered when it answered one.
func classify(err error) string {
	if code := connectors.StateOf(err); code != "" {
		return classifyText(err) + " (SCSP state " + code + ")"
	}
	return classifyText(err)
}

func classifyText(err error) string {
	msg := err.Error()
	for _, c := range []struct{ key, text string }{
		{"signature", "the answer's signature does not verify with the registered certificate"},
		{"circuit", "the source is failing repeatedly"},
		{"deadline", "no answer in time"},
		{"timeout", "no answer in time"},
		{"no record", "the source has no record of the sandbox person"},
		{"malformed", "the answer does not match the declared fields"},
		{"SOAP fault", "the source answered with a SOAP fault"},
		{"state", "the source refused the request"},
	} {
		if strings.Contains(strings.ToLower(msg), strings.ToLower(c.key)) {
			return c.text
		}
	}
	return "the source could not be reached or answered wrongly"
}

// recorder records a connector change with the outcome it is given.
func (a *API) recorder(kind, admin string, s Spec) func(context.Context, string) error {
	return func(ctx context.Context, outcome string) error { return a.record(ctx, kind, admin, s, outcome) }
}

func (a *API) record(ctx context.Context, kind, admin string, s Spec, outcome string) error {
	return a.cfg.Audit.Record(ctx, audit.Entry{Kind: kind, Subject: "admin:" + admin, Requester: admin, Source: s.Source,
		Connector: s.ID, Category: s.Category, Outcome: outcome})
}

func (a *API) create(w http.ResponseWriter, r *http.Request, admin string) {
	s, ok := decode(w, r)
	if !ok || !a.validate(w, r, admin, s) {
		return
	}
	if _, err := a.cfg.Store.GetConnector(r.Context(), admin, s.ID); err == nil {
		problem(w, http.StatusConflict, "Exists", "A connector with this id exists; update it with PUT.", nil)
		return
	}
	if a.inUse(r.Context(), w, admin, s) || !a.testCall(w, r, s) {
		return
	}
	spec, _ := json.Marshal(s)
	now := a.cfg.Now().UTC()
	reg := Registration{ID: s.ID, Owner: admin, Spec: spec, Active: true, CreatedAt: now, UpdatedAt: now}
	reg, ok = a.commit(w, r, a.recorder(KindConnectorCreate, admin, s), func(ctx context.Context) (Registration, error) {
		return a.cfg.Store.CreateConnector(ctx, reg)
	})
	if !ok {
		return
	}
	v, _ := viewOf(reg)
	w.Header().Set("Location", "/admin/v1/connectors/"+s.ID)
	writeJSON(w, http.StatusCreated, v)
}

// inUse refuses a category another active registration serves.
func (a *API) inUse(ctx context.Context, w http.ResponseWriter, admin string, s Spec) bool {
	all, err := a.cfg.Store.ListConnectors(ctx, "")
	if err != nil {
		a.unavailable(w, err)
		return true
	}
	for _, reg := range all {
		if !reg.Active || (reg.ID == s.ID && reg.Owner == admin) {
			continue
		}
		var other Spec
		if json.Unmarshal(reg.Spec, &other) != nil || other.Activity() != s.Activity() {
			continue
		}
		if s.Activity() && other.Source == s.Source {
			problem(w, http.StatusConflict, "Source taken", "Another active activity source is registered as "+s.Source+".", nil)
			return true
		}
		if !s.Activity() && other.Category == s.Category {
			problem(w, http.StatusConflict, "Category taken", "Another active connector serves category "+s.Category+".", nil)
			return true
		}
	}
	return false
}

// commit records a connector change in the audit log, then writes it as a
// new catalogue version, then brings this process to that version (the
// other replicas follow within seconds). Nothing changes unrecorded: if the
// entry cannot be committed the change is not made; if the change cannot be
// written after its entry, a second entry says it failed.
func (a *API) commit(w http.ResponseWriter, r *http.Request, record func(ctx context.Context, outcome string) error, write func(context.Context) (Registration, error)) (Registration, bool) {
	if err := record(r.Context(), "ok"); err != nil {
		a.unavailable(w, fmt.Errorf("audit: %w", err))
		return Registration{}, false
	}
	reg, err := write(r.Context())
	if err != nil {
		if rerr := record(r.Context(), "failed"); rerr != nil {
			a.cfg.Logger.Error("admin change failed and its failure could not be recorded", "err", rerr)
		}
		a.storeError(w, err)
		return Registration{}, false
	}
	a.follow(r.Context())
	setETag(w, reg)
	return reg, true
}

// follow applies the catalogue's newest version in this process at once, so
// that the administration's next request sees its change here; a failure
// is left to the follower, which tries again.
func (a *API) follow(ctx context.Context) {
	if err := a.cfg.Sync(ctx); err != nil {
		a.cfg.Logger.Error("catalogue not applied after a change; the follower will retry", "err", err)
	}
}

// storeError answers a failed write: a race lost to another request (the id
// taken, the registration changed) or the store being unavailable.
func (a *API) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrExists):
		problem(w, http.StatusConflict, "Exists", "This id is taken.", nil)
	case errors.Is(err, ErrStale):
		problem(w, http.StatusPreconditionFailed, "Changed meanwhile",
			"The registration changed since the version in If-Match; read it again (GET) and send the change against its new ETag. Nothing changed.", nil)
	case errors.Is(err, ErrNotFound):
		problem(w, http.StatusNotFound, "Not found", "No such registration of yours.", nil)
	default:
		a.unavailable(w, err)
	}
}

func (a *API) unavailable(w http.ResponseWriter, err error) {
	a.cfg.Logger.Error("admin API", "err", err)
	problem(w, http.StatusServiceUnavailable, "Unavailable", "The change could not be stored or recorded; nothing changed. Try again later.", nil)
}

func (a *API) list(w http.ResponseWriter, r *http.Request, admin string) {
	regs, err := a.cfg.Store.ListConnectors(r.Context(), admin)
	if err != nil {
		a.unavailable(w, err)
		return
	}
	out := []view{}
	for _, reg := range regs {
		v, err := viewOf(reg)
		if err != nil {
			a.unavailable(w, err)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"connectors": out})
}

func (a *API) own(w http.ResponseWriter, r *http.Request, admin string) (Registration, Spec, bool) {
	reg, err := a.cfg.Store.GetConnector(r.Context(), admin, r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		problem(w, http.StatusNotFound, "Not found", "You have no connector with this id.", nil)
		return Registration{}, Spec{}, false
	}
	if err != nil {
		a.unavailable(w, err)
		return Registration{}, Spec{}, false
	}
	var s Spec
	if err := json.Unmarshal(reg.Spec, &s); err != nil {
		a.unavailable(w, err)
		return Registration{}, Spec{}, false
	}
	return reg, s, true
}

func (a *API) get(w http.ResponseWriter, r *http.Request, admin string) {
	reg, _, ok := a.own(w, r, admin)
	if !ok {
		return
	}
	v, _ := viewOf(reg)
	setETag(w, reg)
	writeJSON(w, http.StatusOK, v)
}

func (a *API) update(w http.ResponseWriter, r *http.Request, admin string) {
	old, _, ok := a.own(w, r, admin)
	if !ok {
		return
	}
	ifVersion, ok := a.ifMatch(w, r, admin, old)
	if !ok {
		return
	}
	s, ok := decode(w, r)
	if !ok {
		return
	}
	if s.ID != old.ID {
		problem(w, http.StatusBadRequest, "Invalid registration", "The id in the body differs from the URL.", []Problem{{"id", "must be " + old.ID}})
		return
	}
	if !a.validate(w, r, admin, s) || a.inUse(r.Context(), w, admin, s) || !a.testCall(w, r, s) {
		return
	}
	spec, _ := json.Marshal(s)
	reg := old
	reg.Spec, reg.Active, reg.UpdatedAt = spec, true, a.cfg.Now().UTC()
	reg, ok = a.commit(w, r, a.recorder(KindConnectorUpdate, admin, s), func(ctx context.Context) (Registration, error) {
		return a.cfg.Store.UpdateConnector(ctx, reg, ifVersion)
	})
	if !ok {
		return
	}
	v, _ := viewOf(reg)
	writeJSON(w, http.StatusOK, v)
}

func (a *API) deactivate(w http.ResponseWriter, r *http.Request, admin string) {
	old, s, ok := a.own(w, r, admin)
	if !ok {
		return
	}
	ifVersion, ok := a.ifMatch(w, r, admin, old)
	if !ok {
		return
	}
	if !old.Active {
		v, _ := viewOf(old)
		setETag(w, old)
		writeJSON(w, http.StatusOK, v)
		return
	}
	reg := old
	reg.Active, reg.UpdatedAt = false, a.cfg.Now().UTC()
	reg, ok = a.commit(w, r, a.recorder(KindConnectorDeactivate, admin, s), func(ctx context.Context) (Registration, error) {
		return a.cfg.Store.UpdateConnector(ctx, reg, ifVersion)
	})
	if !ok {
		return
	}
	v, _ := viewOf(reg)
	writeJSON(w, http.StatusOK, v)
}

func (a *API) test(w http.ResponseWriter, r *http.Request, admin string) {
	_, s, ok := a.own(w, r, admin)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	err := a.cfg.Runtime.TestCall(ctx, s)
	outcome, result := "ok", map[string]any{"ok": true}
	if err != nil {
		outcome, result = "error", map[string]any{"ok": false, "detail": classify(err)}
	}
	if rerr := a.record(r.Context(), KindConnectorTest, admin, s, outcome); rerr != nil {
		a.unavailable(w, rerr)
		return
	}
	writeJSON(w, http.StatusOK, result)
}
