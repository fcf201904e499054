package adminapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// Usage reports, after X-Road's: how the data of an administration's own
// sources was used, counted by day, purpose, category, kind of entry,
// outcome and the source's state code. They say nothing of who: the counts
// are kept with the audit entries, in the same transaction, and hold no
// subject.

// UsageReader reads the usage counts of sources between two days
// (YYYY-MM-DD, both included).
type UsageReader interface {
	UsageOf(ctx context.Context, sources []string, from, to string) ([]UsageRow, error)
}

// UsageRow is one count.
type UsageRow struct {
	Day       string `json:"day"`
	Source    string `json:"source"`
	Requester string `json:"requester"`
	Purpose   string `json:"purpose"`
	Category  string `json:"category"`
	Kind      string `json:"kind"`    // exchange.outcome, exchange.intent (refused before asking) or facts.use
	Outcome   string `json:"outcome"` // ok, error or denied
	State     string `json:"state"`   // the source's state code (SCSP), or why it was refused
	Count     int64  `json:"count"`
}

// maxUsageDays bounds a report.
const maxUsageDays = 92

// usage answers GET /admin/v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD: the
// usage of the sources of the token's administration's connectors (by
// default, the last 30 days).
func (a *API) usage(w http.ResponseWriter, r *http.Request, admin string) {
	if a.cfg.Usage == nil {
		problem(w, http.StatusNotFound, "Not found", "Usage reports are not available here.", nil)
		return
	}
	today := a.cfg.Now().UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(0, 0, -29), today
	var errs []Problem
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := r.URL.Query().Get(d.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				errs = append(errs, Problem{Field: d.name, Detail: "a date YYYY-MM-DD"})
				continue
			}
			*d.dst = t
		}
	}
	if len(errs) == 0 && (to.Before(from) || to.Sub(from) > maxUsageDays*24*time.Hour) {
		errs = append(errs, Problem{Field: "to", Detail: "on or after from, at most 92 days later"})
	}
	if len(errs) > 0 {
		problem(w, http.StatusBadRequest, "Invalid period", "Correct the dates listed in errors.", errs)
		return
	}
	regs, err := a.cfg.Store.ListConnectors(r.Context(), admin)
	if err != nil {
		a.cfg.Logger.Error("usage: connectors", "err", err)
		problem(w, http.StatusServiceUnavailable, "Unavailable", "Try again later.", nil)
		return
	}
	var sources []string
	for _, reg := range regs {
		var spec Spec
		if json.Unmarshal(reg.Spec, &spec) == nil && spec.Source != "" && !slices.Contains(sources, spec.Source) {
			sources = append(sources, spec.Source)
		}
	}
	slices.Sort(sources)
	rows, err := a.cfg.Usage.UsageOf(r.Context(), sources, from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err != nil {
		a.cfg.Logger.Error("usage", "err", err)
		problem(w, http.StatusServiceUnavailable, "Unavailable", "Try again later.", nil)
		return
	}
	if rows == nil {
		rows = []UsageRow{}
	}
	if sources == nil {
		sources = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"administration": admin, "sources": sources,
		"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "usage": rows})
}
