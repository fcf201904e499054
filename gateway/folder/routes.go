package folder

import (
	"net/http"

	"github.com/obert-gov/obert/gateway/web"
)

func (h *Handler) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", h.homeShow)
	m.HandleFunc("GET /folder", h.folderShow)
	m.HandleFunc("GET /folder/consent", h.consentShow)
	m.HandleFunc("POST /folder/consent", h.consentGrant)
	m.HandleFunc("POST /folder/consent/{id}/withdraw", h.consentWithdraw)
	m.HandleFunc("GET /folder/consent/{id}/receipt", h.consentReceipt)
	m.HandleFunc("POST /folder/data", h.dataFetch)
	m.HandleFunc("GET /folder/aids", h.aidsShow)
	m.HandleFunc("POST /folder/aids/check", h.aidsCheck)
	m.HandleFunc("POST /folder/aids/whatif", h.aidsWhatIf)
	m.HandleFunc("GET /folder/access", h.accessShow)
	m.HandleFunc("GET /folder/access/{id}/proof", h.accessProof)
	m.HandleFunc("GET /folder/rights", h.rightsShow)
	m.HandleFunc("GET /folder/export", h.exportShow)
	m.HandleFunc("GET /folder/export.json", h.exportJSON)
	m.HandleFunc("POST /folder/objection", h.objection)
	m.HandleFunc("POST /folder/erase", h.erase)
	m.HandleFunc("GET /folder/signins", h.signinsShow)
	m.HandleFunc("POST /folder/signins/{id}/end", h.signinsEnd)
	m.HandleFunc("GET /folder/activity", h.activityShow)
	m.HandleFunc("POST /folder/activity/notice", h.activityNotice)
	m.HandleFunc("POST /folder/activity/{source}/{id}/{decision}", h.activityDecide)
	m.HandleFunc("GET /folder/activity/{source}/{id}/acknowledgement", h.activityAck)
	m.HandleFunc("GET /folder/alerts", h.alertsShow)
	m.HandleFunc("POST /folder/alerts", h.alertsSubscribe)
	m.HandleFunc("POST /folder/alerts/{channel}/delete", h.alertsRemove)
	m.HandleFunc("GET /folder/documents", h.documentsShow)
	m.HandleFunc("POST /folder/documents", h.documentsIssue)
	m.HandleFunc("GET /folder/documents/{csv}/pdf", h.documentsPDF)
	m.HandleFunc("GET /folder/documents/{csv}/credential", h.documentsCredential)
	m.HandleFunc("POST /folder/documents/{csv}/share", h.documentsShare)
	m.HandleFunc("POST /folder/documents/{csv}/revoke", h.documentsRevoke)
	m.HandleFunc("GET /verify", h.verifyShow)
	m.HandleFunc("GET /alerts/unsubscribe", h.unsubscribeLink)
	m.HandleFunc("POST /alerts/unsubscribe", h.unsubscribeLink)
	m.HandleFunc("GET /sw.js", serviceWorker)
	m.HandleFunc("GET /questionnaire", h.questionnaireShow)
	m.HandleFunc("POST /questionnaire", h.questionnaireAnswer)
	m.HandleFunc("GET /privacy", h.privacyShow)
	m.HandleFunc("GET /lang/{code}", web.SetLang(h.opts.SecureCookies))
	m.Handle("GET /static/", staticFiles())
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { h.Error(w, r, http.StatusNotFound, "error.not_found") })
	h.mux = m
}
