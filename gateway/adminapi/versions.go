package adminapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/obert-gov/obert/audit"
)

// KindRefused is the audit kind of a change the API refused: what was
// attempted and why, never the body.
const KindRefused = "admin.refused"

// Reasons of refusals, as recorded.
const (
	RefusedInvalid        = "invalid"
	RefusedLevel          = "level-not-allowed"
	RefusedAdministration = "administration-not-own"
	RefusedStale          = "stale-version"
	RefusedNoVersion      = "no-version"
)

// etag is a registration's entity tag: the catalogue version that last
// changed it.
func etag(reg Registration) string { return `"` + strconv.FormatInt(reg.Version, 10) + `"` }

func setETag(w http.ResponseWriter, reg Registration) { w.Header().Set("ETag", etag(reg)) }

// ifMatch reads the version a change is made against. A change must name
// it (428 without), and it must still be the current one (412 otherwise), so
// that two administrators' changes never silently overwrite each other.
func (a *API) ifMatch(w http.ResponseWriter, r *http.Request, admin string, cur Registration) (int64, bool) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		a.refused(r.Context(), admin, r.Method+" "+cur.ID, RefusedNoVersion)
		problem(w, http.StatusPreconditionRequired, "Version required",
			"Send If-Match with the ETag of the registration you are changing (as GET returns it). Nothing changed.", nil)
		return 0, false
	}
	if h != etag(cur) {
		a.refused(r.Context(), admin, r.Method+" "+cur.ID, RefusedStale)
		setETag(w, cur)
		problem(w, http.StatusPreconditionFailed, "Changed meanwhile",
			"The registration's current version is "+etag(cur)+", not "+h+"; read it again and send the change against it. Nothing changed.", nil)
		return 0, false
	}
	return cur.Version, true
}

// refused records a refused change; a refusal stands even if it cannot be
// recorded (the log says so).
func (a *API) refused(ctx context.Context, admin, what, reason string) {
	if err := a.cfg.Audit.Record(ctx, audit.Entry{Kind: KindRefused, Subject: "admin:" + admin, Requester: admin,
		Connector: what, Outcome: reason}); err != nil {
		a.cfg.Logger.Error("refused admin change not recorded", "admin", admin, "reason", reason, "err", err)
	}
}
