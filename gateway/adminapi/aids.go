package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/obert-gov/obert/gateway/recommend"
)

// Audit kinds of aid publications.
const (
	KindAidPublish = "admin.aid.publish"
	KindAidUpdate  = "admin.aid.update"
	KindAidRetire  = "admin.aid.retire"
)

// Aids puts publications into effect in the recommender.
type Aids interface {
	// Check lists every problem of a publication (its tests are run).
	Check(ctx context.Context, p recommend.Publication) []string
	Publish(ctx context.Context, p recommend.Publication) error
	Retire(ctx context.Context, id string) error
	// Shipped reports whether id is an aid of Obert's own catalogue,
	// which the API cannot replace.
	Shipped(id string) bool
}

// WithAids enables /admin/v1/aids.
func (a *API) WithAids(store AidStore, aids Aids) {
	a.aidStore, a.aids = store, aids
	a.mux.Handle("POST /admin/v1/aids", a.auth(a.publishAid))
	a.mux.Handle("GET /admin/v1/aids", a.auth(a.listAids))
	a.mux.Handle("GET /admin/v1/aids/{id}", a.auth(a.getAid))
	a.mux.Handle("PUT /admin/v1/aids/{id}", a.auth(a.updateAid))
	a.mux.Handle("DELETE /admin/v1/aids/{id}", a.auth(a.retireAid))
}

type aidView struct {
	ID          string                `json:"id"`
	Owner       string                `json:"owner"`
	Active      bool                  `json:"active"`
	Publication recommend.Publication `json:"publication"`
}

func aidViewOf(r Registration) aidView {
	v := aidView{ID: r.ID, Owner: r.Owner, Active: r.Active}
	json.Unmarshal(r.Spec, &v.Publication)
	return v
}

func decodePublication(w http.ResponseWriter, r *http.Request) (recommend.Publication, bool) {
	var p recommend.Publication
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		problem(w, http.StatusBadRequest, "Not a publication", "The body is not an aid publication (aid, rule, tests): "+err.Error(), nil)
		return p, false
	}
	return p, true
}

// check answers every problem of p, or reports it is fit to publish.
func (a *API) checkAid(w http.ResponseWriter, r *http.Request, p recommend.Publication) bool {
	if a.aids.Shipped(p.Aid.ID) {
		problem(w, http.StatusConflict, "Reserved", "This id is an aid of Obert's own catalogue.", nil)
		return false
	}
	if ps := a.aids.Check(r.Context(), p); len(ps) > 0 {
		var errs []Problem
		for _, s := range ps {
			errs = append(errs, Problem{Field: "publication", Detail: s})
		}
		problem(w, http.StatusBadRequest, "Invalid publication", "Nothing was published; correct the problems listed in errors.", errs)
		return false
	}
	return true
}

func (a *API) recordAid(ctx context.Context, kind, admin, id string) error {
	return a.cfg.Audit.Record(ctx, auditEntry(kind, admin, id))
}

func (a *API) publishAid(w http.ResponseWriter, r *http.Request, admin string) {
	p, ok := decodePublication(w, r)
	if !ok || !a.checkAid(w, r, p) {
		return
	}
	spec, _ := json.Marshal(p)
	now := a.cfg.Now().UTC()
	reg := Registration{ID: p.Aid.ID, Owner: admin, Spec: spec, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := a.aidStore.CreateAid(r.Context(), reg); errors.Is(err, ErrExists) {
		problem(w, http.StatusConflict, "Exists", "An aid with this id exists; update it with PUT.", nil)
		return
	} else if err != nil {
		a.unavailable(w, err)
		return
	}
	if err := a.aids.Publish(r.Context(), p); err != nil {
		a.rollbackAid(r.Context(), reg)
		a.unavailable(w, err)
		return
	}
	if err := a.recordAid(r.Context(), KindAidPublish, admin, p.Aid.ID); err != nil {
		a.aids.Retire(r.Context(), p.Aid.ID)
		a.rollbackAid(r.Context(), reg)
		a.unavailable(w, err)
		return
	}
	w.Header().Set("Location", "/admin/v1/aids/"+p.Aid.ID)
	writeJSON(w, http.StatusCreated, aidViewOf(reg))
}

func (a *API) rollbackAid(ctx context.Context, reg Registration) {
	reg.Active, reg.UpdatedAt = false, a.cfg.Now().UTC()
	if err := a.aidStore.UpdateAid(ctx, reg); err != nil {
		a.cfg.Logger.Error("aid rollback failed", "aid", reg.ID, "err", err)
	}
}

func (a *API) listAids(w http.ResponseWriter, r *http.Request, admin string) {
	regs, err := a.aidStore.ListAids(r.Context(), admin)
	if err != nil {
		a.unavailable(w, err)
		return
	}
	out := []aidView{}
	for _, reg := range regs {
		out = append(out, aidViewOf(reg))
	}
	writeJSON(w, http.StatusOK, map[string]any{"aids": out})
}

func (a *API) ownAid(w http.ResponseWriter, r *http.Request, admin string) (Registration, bool) {
	reg, err := a.aidStore.GetAid(r.Context(), admin, r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		problem(w, http.StatusNotFound, "Not found", "You have published no aid with this id.", nil)
		return reg, false
	}
	if err != nil {
		a.unavailable(w, err)
		return reg, false
	}
	return reg, true
}

func (a *API) getAid(w http.ResponseWriter, r *http.Request, admin string) {
	if reg, ok := a.ownAid(w, r, admin); ok {
		writeJSON(w, http.StatusOK, aidViewOf(reg))
	}
}

func (a *API) updateAid(w http.ResponseWriter, r *http.Request, admin string) {
	old, ok := a.ownAid(w, r, admin)
	if !ok {
		return
	}
	p, ok := decodePublication(w, r)
	if !ok {
		return
	}
	if p.Aid.ID != old.ID {
		problem(w, http.StatusBadRequest, "Invalid publication", "The id in the body differs from the URL.", []Problem{{"aid.id", "must be " + old.ID}})
		return
	}
	if !a.checkAid(w, r, p) {
		return
	}
	spec, _ := json.Marshal(p)
	reg := old
	reg.Spec, reg.Active, reg.UpdatedAt = spec, true, a.cfg.Now().UTC()
	if err := a.aidStore.UpdateAid(r.Context(), reg); err != nil {
		a.unavailable(w, err)
		return
	}
	var prev recommend.Publication
	json.Unmarshal(old.Spec, &prev)
	undo := func() {
		a.aidStore.UpdateAid(r.Context(), old)
		if old.Active {
			a.aids.Publish(r.Context(), prev)
		} else {
			a.aids.Retire(r.Context(), old.ID)
		}
	}
	if err := a.aids.Publish(r.Context(), p); err != nil {
		undo()
		a.unavailable(w, err)
		return
	}
	if err := a.recordAid(r.Context(), KindAidUpdate, admin, p.Aid.ID); err != nil {
		undo()
		a.unavailable(w, err)
		return
	}
	writeJSON(w, http.StatusOK, aidViewOf(reg))
}

func (a *API) retireAid(w http.ResponseWriter, r *http.Request, admin string) {
	old, ok := a.ownAid(w, r, admin)
	if !ok {
		return
	}
	if !old.Active {
		writeJSON(w, http.StatusOK, aidViewOf(old))
		return
	}
	reg := old
	reg.Active, reg.UpdatedAt = false, a.cfg.Now().UTC()
	if err := a.aidStore.UpdateAid(r.Context(), reg); err != nil {
		a.unavailable(w, err)
		return
	}
	var prev recommend.Publication
	json.Unmarshal(old.Spec, &prev)
	if err := a.aids.Retire(r.Context(), old.ID); err != nil {
		a.aidStore.UpdateAid(r.Context(), old)
		a.unavailable(w, err)
		return
	}
	if err := a.recordAid(r.Context(), KindAidRetire, admin, old.ID); err != nil {
		a.aidStore.UpdateAid(r.Context(), old)
		a.aids.Publish(r.Context(), prev)
		a.unavailable(w, err)
		return
	}
	writeJSON(w, http.StatusOK, aidViewOf(reg))
}
