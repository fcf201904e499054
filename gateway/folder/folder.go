// Package folder serves the citizen's pages: home, the folder, consents,
// fetching data, recommended aids, the access log and the privacy record.
// Server-rendered, no JavaScript, in Catalan, Spanish and English. It
// declares the services it consumes; the gateway adapts the real ones.
package folder

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/documents"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/web"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed static
var staticFS embed.FS

// Viewer is the signed-in citizen as the pages see them, in the profile
// their session acts in. Acting for a company, Subject and Citizen are the
// company's (its consents, data and log); Self is always the person.
type Viewer struct {
	Subject    string
	Provider   string
	Name       string
	LoA        string
	CSRFSecret []byte
	Citizen    exchange.Citizen
	Self       exchange.Citizen
	Acting     Acting
	// Employer is the administration (the register's id) whose public
	// employee signed in, if the provider said so.
	Employer string
	// SignedInAt is when this session's sign-in happened.
	SignedInAt time.Time
}

// StepUp is the address that signs the viewer in again with the same
// provider at level loa, and comes back to ret: what a page offers when
// the session's level is below what an action needs.
func StepUp(v Viewer, loa, ret string) string {
	provider := v.Provider
	if provider != "clave" {
		provider = "idcat"
	}
	return "/signin/" + provider + "?loa=" + url.QueryEscape(loa) + "&return=" + url.QueryEscape(ret)
}

// nextLevel is the level above loa (high stays high).
func nextLevel(loa string) string {
	if loa == "low" {
		return "substantial"
	}
	return "high"
}

// Acting is the profile a session acts in.
type Acting struct {
	Kind string `json:"kind"` // ActingPerson, ActingCompany or ActingEmployee
	// The company represented, when acting for one.
	NIF     string `json:"nif,omitempty"`
	Company string `json:"company,omitempty"`
}

// Profiles.
const (
	ActingPerson   = ""
	ActingCompany  = "company"
	ActingEmployee = "employee"
)

// Sessions finds the signed-in citizen.
type Sessions interface {
	// Lookup returns the signed-in citizen, ErrSignedOut for a visitor
	// without a session, or another error when sessions cannot be read.
	Lookup(r *http.Request) (Viewer, error)
}

// ErrSignedOut is a visitor without a live session.
var ErrSignedOut = errors.New("folder: not signed in")

// Consents is the consent service as the pages use it.
type Consents interface {
	Offers() []consent.Offer
	List(ctx context.Context, subject string) ([]consent.Grant, error)
	Grant(ctx context.Context, subject, category, purpose, textVersion, lang string) (consent.Grant, error)
	// GrantLimited is Grant with the citizen's limits (how often the
	// source may be asked, how long the data may be kept).
	GrantLimited(ctx context.Context, subject, category, purpose, textVersion, lang string, l consent.Limits) (consent.Grant, error)
	Withdraw(ctx context.Context, subject, id string) (consent.Grant, error)
	// Pause and Resume pause a grant (it authorises nothing meanwhile) and
	// resume it.
	Pause(ctx context.Context, subject, id string) (consent.Grant, error)
	Resume(ctx context.Context, subject, id string) (consent.Grant, error)
	// Receipt is the signed receipt of the subject's grant id, as a file.
	Receipt(ctx context.Context, subject, id string) ([]byte, error)
}

// Rights serves the citizen's GDPR rights: access and portability
// (Export), erasure and objection. Each call is recorded in the audit log.
type Rights interface {
	Export(ctx context.Context, v Viewer) (Export, error)
	Erase(ctx context.Context, v Viewer) error
	Object(ctx context.Context, v Viewer, kind string, on bool) error
	Objections(ctx context.Context, subject string) (map[string]time.Time, error)
}

// ObjectionProfiling is the objection to proactive profiling (phase 3:
// alerts computed from the citizen's data without them asking).
const ObjectionProfiling = "proactive-profiling"

// Export is everything Obert holds about the citizen.
type Export struct {
	GeneratedAt time.Time            `json:"generated_at"`
	Identity    ExportIdentity       `json:"identity"`
	Consents    []consent.Grant      `json:"consents"`
	Facts       []exchange.HeldFacts `json:"facts"`
	Access      []audit.Entry        `json:"access_log"`
	Sessions    []ExportSession      `json:"sessions"`
	Objections  map[string]time.Time `json:"objections"`
	Alerts      []ExportSubscription `json:"alert_subscriptions"`
	Documents   []ExportDocument     `json:"documents"`
	Favourites  []ExportFavourite    `json:"favourites"`
	LifeEvents  []ExportLifeEvent    `json:"life_events"`
	Layout      *ExportLayout        `json:"folder_layout,omitempty"`
}

// ExportFavourite is one aid, procedure or document the citizen marked.
type ExportFavourite struct {
	Kind  string    `json:"kind"`
	Ref   string    `json:"ref"`
	Since time.Time `json:"since"`
}

// ExportLifeEvent is a life event the citizen said applies to them.
type ExportLifeEvent struct {
	Event string    `json:"event"`
	Since time.Time `json:"since"`
}

// ExportLayout is the order of the folder's sections and the hidden ones.
type ExportLayout struct {
	Sections  []string  `json:"sections"`
	Hidden    []string  `json:"hidden"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ExportDocument is a document issued to the citizen, with what it says.
type ExportDocument struct {
	Type       string            `json:"type"`
	Code       string            `json:"code"` // its CSV
	IssuedAt   time.Time         `json:"issued_at"`
	ValidUntil time.Time         `json:"valid_until"`
	RevokedAt  *time.Time        `json:"revoked_at,omitempty"`
	Fields     []documents.Field `json:"fields"`
}

// ExportSubscription is one channel the citizen receives alerts on.
type ExportSubscription struct {
	Channel   string    `json:"channel"`
	Target    string    `json:"target"` // the e-mail address, or the push service's host
	Language  string    `json:"language"`
	QuietFrom string    `json:"quiet_from,omitempty"`
	QuietTo   string    `json:"quiet_to,omitempty"`
	Since     time.Time `json:"since"`
}

// ExportIdentity is who the citizen signed in as.
type ExportIdentity struct {
	Provider  string `json:"provider"`
	DocType   string `json:"document_type"`
	DocNumber string `json:"document_number"`
	Name      string `json:"name"`
	Surname1  string `json:"surname1"`
	Surname2  string `json:"surname2,omitempty"`
	LoA       string `json:"level_of_assurance"`
	Subject   string `json:"pseudonym"`
}

// ExportSession is one open session.
type ExportSession struct {
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
}

// Exchanger fetches the citizen's data: every category they consented
// to, or one.
type Exchanger interface {
	FetchAll(ctx context.Context, v Viewer) []exchange.Result
	Fetch(ctx context.Context, v Viewer, category string) exchange.Result
}

// Recommender recommends aids from the citizen's consented data.
type Recommender interface {
	Recommend(ctx context.Context, v Viewer) ([]recommend.Result, error)
	// WhatIf lists the aids a simulated change of the citizen's situation
	// would change, computed from their facts and never stored.
	WhatIf(ctx context.Context, v Viewer, w recommend.WhatIf) ([]recommend.Change, error)
	// Aids is the catalogue of aids, valid or not.
	Aids() []recommend.Aid
}

// AccessLog is the read side of the audit log for one citizen.
type AccessLog interface {
	EntriesOf(ctx context.Context, subject string, f audit.Filter) ([]audit.StoredEntry, error)
	Bundle(ctx context.Context, subject, id string) (audit.Bundle, error)
}

// Deps are the services the pages use.
type Deps struct {
	Sessions      Sessions
	Consents      Consents
	Exchanger     Exchanger
	Recommender   Recommender
	AccessLog     AccessLog
	Rights        Rights
	Questionnaire Questionnaire
	Alerts        Alerts
	Signins       Signins
	Notices       Notices
	Activity      Activity  // the citizen's applications and notifications
	Documents     Documents // optional: without it the documents pages answer 404
	Personal      Personal  // favourites, life events, the folder's layout
	Profiles      Profiles  // acting for a company, as a public employee
	Catalogue     *web.Catalogue
	CSRF          *web.CSRF
	Logger        *slog.Logger
}

// Options shape the pages.
type Options struct {
	DevMode      bool
	ClaveEnabled bool
	// SecureCookies: the public URL is https (even when a proxy in front
	// terminates TLS and the requests arrive in clear).
	SecureCookies bool
	// Controller and Connectors feed the record of processing activities
	// (/privacy, GDPR Art. 30), with the consent offers.
	Controller consent.Controller
	Connectors []connectors.Description
	// Administrations are those a citizen may share documents with.
	Administrations []catalogue.Administration
	// Places are the counties and municipalities the questionnaire offers.
	Places catalogue.Places
	// LifeEvents are the life events the folder groups things by.
	LifeEvents []catalogue.LifeEvent
	// Purposes and Categories are the catalogue's: what runs on a law
	// rather than on consent is told, not asked.
	Purposes   []catalogue.Purpose
	Categories []catalogue.Category
	// Serves, if set, lists the categories a purpose may receive now,
	// those administrations registered included.
	Serves func(ctx context.Context, purpose string) []string
	Now    func() time.Time
}

// Handler serves the pages.
type Handler struct {
	deps  Deps
	opts  Options
	pages map[string]*template.Template
	mux   *http.ServeMux
}

var pageNames = []string{"home", "folder", "consent", "data", "aids", "access", "privacy", "error", "post", "rights", "export", "questionnaire", "profile", "alerts", "unsubscribe", "signins", "documents", "verify", "activity", "whatif", "life", "lifeevent", "aid", "profile_switch", "profile_home", "confirm"}

// New parses and checks every template, so a broken page or a missing
// translation stops the start.
func New(deps Deps, opts Options) (*Handler, error) {
	if deps.Catalogue == nil || deps.CSRF == nil || deps.Sessions == nil || deps.Rights == nil || deps.Alerts == nil || deps.Personal == nil ||
		deps.Profiles == nil {
		return nil, errors.New("folder: catalogue, CSRF, sessions, rights, alerts, personal and profiles are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{deps: deps, opts: opts, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{"t": deps.Catalogue.T, "askOf": askOf, "star": star, "arrange": arrange, "cardOf": cardOf}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templatesFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		h.pages[name] = t
	}
	h.routes()
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	inner := withMemo(r)
	h.mux.ServeHTTP(w, inner)
	r.Pattern = inner.Pattern // metrics label requests by the route that served them
}

// Memo lets the handlers in front of the pages share the pages' one session
// lookup for a request, through Current: the fetches' rate limit, keyed by
// citizen, looked the session up a second time.
func (h *Handler) Memo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { next.ServeHTTP(w, withMemo(r)) })
}

// Current returns r's signed-in viewer, looked up at most once per request
// under Memo or ServeHTTP.
func (h *Handler) Current(r *http.Request) (Viewer, bool) { return h.current(r) }

// withMemo is r with a memo for its session lookup, unless it has one.
func withMemo(r *http.Request) *http.Request {
	if _, ok := r.Context().Value(sessionKey{}).(*sessionMemo); ok {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), sessionKey{}, &sessionMemo{}))
}

type sessionKey struct{}

// sessionMemo holds a request's session lookup, which also refreshes the
// session in the store: a page asks for it when it checks access and again
// when it renders, and it must cost one lookup.
type sessionMemo struct {
	once sync.Once
	v    Viewer
	err  error
}

// current returns the signed-in viewer, looked up at most once per request
// that came through ServeHTTP (error pages other handlers render look it up
// directly).
func (h *Handler) current(r *http.Request) (Viewer, bool) {
	v, err := h.lookup(r)
	return v, err == nil
}

func (h *Handler) lookup(r *http.Request) (Viewer, error) {
	m, ok := r.Context().Value(sessionKey{}).(*sessionMemo)
	if !ok {
		return h.deps.Sessions.Lookup(r)
	}
	m.once.Do(func() { m.v, m.err = h.deps.Sessions.Lookup(r) })
	return m.v, m.err
}

// page is what every template receives.
type page struct {
	Lang, Title, Path, CSRF, Flash string
	Dev                            bool
	Viewer                         *Viewer
	Data                           any
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name, titleKey string, data any) {
	lang := web.Lang(r)
	p := page{Lang: lang, Title: h.deps.Catalogue.T(lang, titleKey), Path: r.URL.Path, Dev: h.opts.DevMode, Data: data,
		Flash: r.URL.Query().Get("done")}
	if key := "consent." + p.Flash; h.deps.Catalogue.Has(key) {
		p.Flash = h.deps.Catalogue.T(lang, key)
	} else {
		p.Flash = ""
	}
	var secret []byte
	if v, ok := h.current(r); ok {
		p.Viewer, secret = &v, v.CSRFSecret
		w.Header().Set("Cache-Control", "no-store")
	}
	p.CSRF = h.deps.CSRF.Token(w, r, secret)
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.deps.Logger.Error("render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Error renders the one error page for people.
func (h *Handler) Error(w http.ResponseWriter, r *http.Request, status int, msgKey string) {
	h.render(w, r, status, "error", "error.title", map[string]string{"MessageKey": msgKey})
}

// SignInFailed renders a sign-in failure (for the sign-in service): a
// specific message where the citizen can do something about it.
func (h *Handler) SignInFailed(w http.ResponseWriter, r *http.Request, status int, reason string) {
	switch reason {
	case "loa-too-low":
		h.Error(w, r, status, "error.signin_loa")
	case "audit-unavailable", "unavailable":
		h.Error(w, r, status, "error.unavailable")
	case "response-too-large":
		h.Error(w, r, status, "error.too_large")
	default:
		h.Error(w, r, status, "error.signin")
	}
}

// Post renders the page that carries a SAML message to the identity
// provider (HTTP-POST binding): a form a script submits at once, with its
// button for browsers without scripts.
func (h *Handler) Post(w http.ResponseWriter, r *http.Request, action string, fields [][2]string) {
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "post", "signin.post_title", map[string]any{"Action": action, "Fields": fields,
		"Title": "signin.post_title", "Text": "signin.post_text", "Button": "signin.post_button"})
}

// PostSignedOut is the page that carries a Cl@ve logout message on: the
// person has signed out, and it says so.
func (h *Handler) PostSignedOut(w http.ResponseWriter, r *http.Request, action string, fields [][2]string) {
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "post", "signin.signed_out_title", map[string]any{"Action": action, "Fields": fields,
		"Title": "signin.signed_out_title", "Text": "signin.signed_out_text", "Button": "signin.signed_out_button"})
}

// viewer returns the signed-in citizen or sends the visitor home.
func (h *Handler) viewer(w http.ResponseWriter, r *http.Request) (Viewer, bool) {
	v, err := h.lookup(r)
	if err != nil && !errors.Is(err, ErrSignedOut) {
		// The sessions cannot be read now: the citizen is still signed
		// in; nothing they sent was done, and they can send it again.
		w.Header().Set("Retry-After", "30")
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable_kept")
		return Viewer{}, false
	}
	ok := err == nil
	if !ok {
		// Back to the sign-in choice, and after it to where the citizen was.
		target := "/"
		if r.Method == http.MethodGet {
			target += "?return=" + url.QueryEscape(r.URL.Path)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	}
	return v, ok
}

// person is viewer for the parts of the folder that are a person's own
// (aids, life events, documents, activity, alerts, rights, sign-ins):
// acting for a company, the page says so and offers to switch back.
func (h *Handler) person(w http.ResponseWriter, r *http.Request) (Viewer, bool) {
	v, ok := h.viewer(w, r)
	if ok && v.Acting.Kind == ActingCompany {
		h.render(w, r, http.StatusForbidden, "error", "error.title", map[string]string{"MessageKey": "profile.person_only",
			"Action": "/folder/profile"})
		return Viewer{}, false
	}
	return v, ok
}

// form parses a POST form and checks its CSRF token; it answers the error
// itself and returns false when the request must stop.
func (h *Handler) form(w http.ResponseWriter, r *http.Request, v *Viewer) bool {
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.Error(w, r, http.StatusRequestEntityTooLarge, "error.too_large")
		} else {
			h.Error(w, r, http.StatusBadRequest, "error.bad_request")
		}
		return false
	}
	var secret []byte
	if v != nil {
		secret = v.CSRFSecret
	}
	if !h.deps.CSRF.Valid(r, secret) {
		h.Error(w, r, http.StatusForbidden, "error.csrf")
		return false
	}
	return true
}

func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}
