package folder

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/documents"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/web"
)

// Documents issues the citizen's certificates from their consented data,
// lets them download and revoke them, and lets anyone verify one by its
// code.
type Documents interface {
	// Available lists the documents the citizen's released facts allow.
	Available(ctx context.Context, v Viewer) ([]documents.Type, error)
	// Issued lists the citizen's documents, newest first.
	Issued(ctx context.Context, subject string) ([]documents.Document, error)
	// Issue issues a document of type t; documents.ErrNoData when the
	// facts it needs are not available.
	Issue(ctx context.Context, v Viewer, t documents.Type) (documents.Document, error)
	// PDF is the citizen's own document as a signed PDF in lang.
	PDF(ctx context.Context, subject, csv, lang string) ([]byte, error)
	// Credential is the citizen's own document as an SD-JWT VC
	// (application/dc+sd-jwt), every claim selectively disclosable.
	Credential(ctx context.Context, subject, csv string) ([]byte, error)
	Revoke(ctx context.Context, subject, csv string) error
	// Verify looks a code up for anyone (see documents.Service.Verify).
	Verify(ctx context.Context, csv string) (documents.Document, error)
	// Share makes a document of some fields of one of the citizen's, for a
	// recipient administration (see documents.Service.Share).
	Share(ctx context.Context, v Viewer, r documents.ShareRequest) (documents.Document, error)
	// Ask fetches the data a document of its own purpose is made from,
	// for that purpose (documents.Type.OwnPurpose).
	Ask(ctx context.Context, v Viewer, t documents.Type) exchange.Result
}

type documentView struct {
	CSV, TypeKey, Issued, ValidUntil, StateKey string
	Revoked, Expired, Highlight                bool
	Fields                                     []factView
	// A document made to be shared: with whom, for what, from which, and
	// how often it was verified.
	Recipient, Purpose, From string
	Verified                 int
	// A document that may be shared: its fields to choose from, and the
	// last day a share of it may last.
	Shareable []option
	MaxUntil  string
}

func (h *Handler) documentView(lang string, d documents.Document, now time.Time) documentView {
	dv := documentView{CSV: d.CSV, TypeKey: "documents.type." + string(d.Type), Issued: dateIn(lang, d.IssuedAt),
		ValidUntil: dateIn(lang, d.ValidUntil), StateKey: "documents.state.valid"}
	switch {
	case d.Revoked():
		dv.Revoked, dv.StateKey = true, "documents.state.revoked"
	case !now.Before(d.ValidUntil):
		dv.Expired, dv.StateKey = true, "documents.state.expired"
	}
	c := h.deps.Catalogue
	dv.Fields = append(dv.Fields, factView{c.T(lang, "documents.holder"), d.Holder.Name},
		factView{c.T(lang, "documents.holder_document"), d.Holder.Document})
	for _, f := range d.Fields {
		dv.Fields = append(dv.Fields, factView{h.named(lang, "field.", f.Name), documents.Value(f.Value, lang, c.T)})
	}
	if d.Share != nil {
		dv.Recipient, dv.Purpose, dv.From = h.administrationName(lang, d.Share.Recipient), d.Share.Purpose, d.Share.From
	} else if !dv.Revoked && !dv.Expired {
		for _, f := range d.Fields {
			dv.Shareable = append(dv.Shareable, option{f.Name, h.named(lang, "field.", f.Name), false})
		}
		dv.MaxUntil = d.ValidUntil.In(madrid).Format(time.DateOnly)
	}
	return dv
}

// administrationName is an administration of the register, by name.
func (h *Handler) administrationName(lang, id string) string {
	for _, a := range h.opts.Administrations {
		if a.ID == id {
			return a.Name[lang]
		}
	}
	return id
}

// ReauthWithin is how recent a sign-in must be to share a document.
const ReauthWithin = 10 * time.Minute

// documentsShare handles POST /folder/documents/{csv}/share: some fields of
// one of the citizen's documents, for an administration of the register,
// for a purpose, until a date.
func (h *Handler) documentsShare(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	if h.deps.Documents == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	// Sharing a document with an administration asks for a recent
	// sign-in: a session left open on a shared computer shares nothing.
	if h.opts.Now().Sub(v.SignedInAt) > ReauthWithin {
		loa := v.LoA
		if loa == "low" {
			loa = "substantial"
		}
		h.render(w, r, http.StatusForbidden, "error", "error.title", map[string]string{"MessageKey": "documents.reauth",
			"Action": StepUp(v, loa, "/folder/documents#doc-"+r.PathValue("csv")), "ActionKey": "documents.reauth_button"})
		return
	}
	recipient := r.PostFormValue("recipient")
	known := false
	for _, a := range h.opts.Administrations {
		known = known || a.ID == recipient
	}
	until, err := time.ParseInLocation(time.DateOnly, r.PostFormValue("until"), madrid)
	if !known || err != nil {
		h.Error(w, r, http.StatusBadRequest, "error.share_bad")
		return
	}
	// The share lasts to the end of the day the citizen chose.
	until = until.AddDate(0, 0, 1).Add(-time.Second)
	d, err := h.deps.Documents.Share(r.Context(), v, documents.ShareRequest{From: r.PathValue("csv"), Fields: r.PostForm["field"],
		Recipient: recipient, Purpose: r.PostFormValue("purpose"), Until: until})
	switch {
	case errors.Is(err, documents.ErrNotFound):
		h.Error(w, r, http.StatusNotFound, "error.document_not_found")
	case errors.Is(err, documents.ErrShareFields), errors.Is(err, documents.ErrShareUntil), errors.Is(err, documents.ErrSharePurpose),
		errors.Is(err, documents.ErrShareOfShare), errors.Is(err, documents.ErrRevoked), errors.Is(err, documents.ErrExpired):
		h.Error(w, r, http.StatusBadRequest, "error.share_bad")
	case err != nil:
		h.deps.Logger.Error("share document", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
	default:
		http.Redirect(w, r, "/folder/documents?shared="+d.CSV+"#doc-"+d.CSV, http.StatusSeeOther)
	}
}

func (h *Handler) documentsShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	if h.deps.Documents == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	avail, err := h.deps.Documents.Available(r.Context(), v)
	if err != nil {
		h.deps.Logger.Warn("some facts not used for documents", "err", err)
	}
	issued, err := h.deps.Documents.Issued(r.Context(), v.Subject)
	if err != nil {
		h.deps.Logger.Error("documents", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	favs, err := h.deps.Personal.Favourites(r.Context(), v.Subject)
	if err != nil {
		h.unavailable(w, r, "favourites", err)
		return
	}
	lang, now := web.Lang(r), h.opts.Now()
	type offer struct {
		Type, TypeKey, AboutKey, Title string
		Favourite                      bool
	}
	var offers []offer
	for _, t := range avail {
		offers = append(offers, offer{Type: string(t), TypeKey: "documents.type." + string(t), AboutKey: "documents.about." + string(t),
			Title: h.deps.Catalogue.T(lang, "documents.type."+string(t)), Favourite: isFavourite(favs, FavouriteDocument, string(t))})
	}
	// Documents made from data asked for them alone: the consent is given,
	// the data asked and the document issued in one step, the consent's
	// text shown beside the button.
	type ask struct {
		Type, TypeKey, AboutKey string
		Text                    consent.OfferText
		Version                 string
	}
	var asks []ask
	for _, t := range documents.Types {
		if !t.OwnPurpose() || slices.Contains(avail, t) {
			continue
		}
		if o, ok := h.offerOf(t.Category(), t.Purpose()); ok {
			asks = append(asks, ask{Type: string(t), TypeKey: "documents.type." + string(t), AboutKey: "documents.about." + string(t),
				Text: o.Texts[lang], Version: o.TextVersion})
		}
	}
	// How often each of the citizen's documents was verified: the
	// verifications are entries of their own log.
	verified := map[string]int{}
	if entries, err := h.deps.AccessLog.EntriesOf(r.Context(), v.Subject, audit.Filter{}); err == nil {
		for _, e := range entries {
			if e.Kind == documents.KindVerify {
				verified[e.RequestID]++
			}
		}
	}
	var views, shares []documentView
	for _, d := range issued {
		dv := h.documentView(lang, d, now)
		dv.Highlight = d.CSV == r.URL.Query().Get("issued") || d.CSV == r.URL.Query().Get("shared")
		dv.Verified = verified[d.CSV]
		if d.Share != nil {
			shares = append(shares, dv)
		} else {
			views = append(views, dv)
		}
	}
	var admins []option
	for _, a := range h.opts.Administrations {
		admins = append(admins, option{a.ID, a.Name[lang], false})
	}
	status := ""
	switch {
	case r.URL.Query().Has("issued"):
		status = "documents.issued_done"
	case r.URL.Query().Has("revoked"):
		status = "documents.revoked_done"
	case r.URL.Query().Has("shared"):
		status = "documents.shared_done"
	}
	h.render(w, r, http.StatusOK, "documents", "documents.title", map[string]any{"Offers": offers, "Asks": asks, "Issued": views, "Shares": shares,
		"Administrations": admins, "Today": now.In(madrid).Format(time.DateOnly), "Status": status,
		"Checked": h.checkedNoteSaying(lang, r.URL.Query(), "documents.asked"), "StepUp": h.stepUpFor(v, r, "/folder/documents")})
}

func (h *Handler) documentsIssue(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	if h.deps.Documents == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	t := documents.Type(r.PostFormValue("type"))
	if !t.Valid() {
		h.Error(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if r.PostFormValue("version") != "" && !h.askForDocument(w, r, v, t) {
		return
	}
	d, err := h.deps.Documents.Issue(r.Context(), v, t)
	switch {
	case errors.Is(err, documents.ErrNoData):
		h.Error(w, r, http.StatusConflict, "error.document_no_data")
	case err != nil:
		h.deps.Logger.Error("issue document", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
	default:
		http.Redirect(w, r, "/folder/documents?issued="+d.CSV+"#doc-"+d.CSV, http.StatusSeeOther)
	}
}

// askForDocument gives the consent of a document of its own purpose, whose text
// the citizen saw beside the button, and asks for its data; false when it
// answered the request itself (the data did not come, and the page says
// why).
func (h *Handler) askForDocument(w http.ResponseWriter, r *http.Request, v Viewer, t documents.Type) bool {
	o, known := h.offerOf(t.Category(), t.Purpose())
	if !t.OwnPurpose() || !known || r.PostFormValue("version") != o.TextVersion {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_consent")
		return false
	}
	if !h.grantOnce(w, r, v, o) {
		return false
	}
	res := h.deps.Documents.Ask(r.Context(), v, t)
	if res.Status != exchange.StatusOK {
		http.Redirect(w, r, "/folder/documents?checked="+url.QueryEscape(t.Category())+"&status="+url.QueryEscape(string(res.Status))+
			"&reason="+url.QueryEscape(res.Reason)+"#asks", http.StatusSeeOther)
		return false
	}
	return true
}

func (h *Handler) documentsPDF(w http.ResponseWriter, r *http.Request) {
	h.documentFile(w, r, "application/pdf", ".pdf", func(ctx context.Context, subject, csv string) ([]byte, error) {
		return h.deps.Documents.PDF(ctx, subject, csv, web.Lang(r))
	})
}

// documentsCredential handles GET /folder/documents/{csv}/credential: the
// document as a verifiable credential for the citizen's wallet.
func (h *Handler) documentsCredential(w http.ResponseWriter, r *http.Request) {
	h.documentFile(w, r, "application/dc+sd-jwt", ".sd-jwt", func(ctx context.Context, subject, csv string) ([]byte, error) {
		return h.deps.Documents.Credential(ctx, subject, csv)
	})
}

// documentFile downloads one of the citizen's own documents in one form
// (the signed PDF, the credential): anyone else's is not found.
func (h *Handler) documentFile(w http.ResponseWriter, r *http.Request, mediaType, ext string,
	get func(ctx context.Context, subject, csv string) ([]byte, error)) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	if h.deps.Documents == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	csv := r.PathValue("csv")
	b, err := get(r.Context(), v.Subject, csv)
	switch {
	case errors.Is(err, documents.ErrNotFound):
		h.Error(w, r, http.StatusNotFound, "error.document_not_found")
	case err != nil:
		h.deps.Logger.Error("document download", "type", mediaType, "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
	default:
		w.Header().Set("Content-Type", mediaType)
		w.Header().Set("Content-Disposition", `attachment; filename="obert-`+csv+ext+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	}
}

func (h *Handler) documentsRevoke(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	if h.deps.Documents == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	err := h.deps.Documents.Revoke(r.Context(), v.Subject, r.PathValue("csv"))
	switch {
	case errors.Is(err, documents.ErrNotFound):
		h.Error(w, r, http.StatusNotFound, "error.document_not_found")
	case errors.Is(err, documents.ErrAlreadyRevoked):
		h.Error(w, r, http.StatusConflict, "error.document_already_revoked")
	case err != nil:
		h.deps.Logger.Error("revoke document", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
	default:
		http.Redirect(w, r, "/folder/documents?revoked=1", http.StatusSeeOther)
	}
}

// verifyShow is the public verification page: anyone with a document's
// code sees what it says while it is in force, and why not otherwise.
func (h *Handler) verifyShow(w http.ResponseWriter, r *http.Request) {
	if h.deps.Documents == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	code := r.URL.Query().Get("csv")
	data := map[string]any{"Code": code}
	if code == "" {
		// The form, empty.
		h.render(w, r, http.StatusOK, "verify", "verify.title", data)
		return
	}
	d, err := h.deps.Documents.Verify(r.Context(), code)
	status := http.StatusOK
	switch {
	case errors.Is(err, documents.ErrMalformed):
		status, data["MessageKey"] = http.StatusBadRequest, "verify.malformed"
	case errors.Is(err, documents.ErrNotFound):
		status, data["MessageKey"] = http.StatusNotFound, "verify.unknown"
	case errors.Is(err, documents.ErrRevoked):
		status, data["MessageKey"] = http.StatusGone, "verify.revoked"
	case errors.Is(err, documents.ErrExpired):
		status, data["MessageKey"] = http.StatusGone, "verify.expired"
	case err != nil:
		h.deps.Logger.Error("verify document", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	default:
		data["Document"] = h.documentView(web.Lang(r), d, h.opts.Now())
		data["Issuer"] = h.opts.Controller.Name
	}
	if status == http.StatusGone {
		// What it was, without what it said.
		dv := h.documentView(web.Lang(r), d, h.opts.Now())
		dv.Fields = nil
		data["Gone"] = dv
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.render(w, r, status, "verify", "verify.title", data)
}
