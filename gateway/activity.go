package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"time"

	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/gateway/activity"
	"github.com/obert-gov/obert/gateway/folder"
)

// activityDeps are what the activity service is built from.
type activityDeps struct {
	root      []byte
	viaOberta string // the built-in sources answer there (the simulator in dev)
	signer    scsp.Signer
	certs     []*x509.Certificate // the sources' answers are signed with these
	store     activity.Store
	rec       recorder
}

// newActivity builds the citizens' activity service over the built-in
// sources, e-TRAM (applications) and e-NOTUM (notifications), both through
// Via Oberta, and its acknowledgement signer, an Ed25519 key derived from
// the root secret with its own label (a sibling of the consent receipts').
func newActivity(d activityDeps) (*activity.Service, *activity.AckSigner, error) {
	seed, err := hkdf.Key(sha256.New, d.root, nil, "obert notification acknowledgement key v1", ed25519.SeedSize)
	if err != nil {
		return nil, nil, err
	}
	signer, err := activity.NewAckSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return nil, nil, err
	}
	hc := scsp.NewHTTPClient(8 * time.Second)
	src := func(id, kind string) activity.Source {
		return activity.Source{ID: id, Kind: kind, Endpoint: d.viaOberta + "/activity/" + kind, HTTP: hc,
			Signer: d.signer, Certs: d.certs}
	}
	svc, err := activity.New(activity.Config{Sources: []activity.Source{src(builtinActivitySources[0], activity.Applications),
		src(builtinActivitySources[1], activity.Notifications)},
		Store: d.store, Audit: d.rec, Signer: signer, Requester: "obert", Timeout: 5 * time.Second})
	if err != nil {
		return nil, nil, err
	}
	return svc, signer, nil
}

// builtinActivitySources are Obert's own activity sources, e-TRAM
// (applications) and e-NOTUM (notifications), whose codes no registration
// may take.
var builtinActivitySources = []string{"etram", "enotum"}

// activityAdapter shows the activity service to the pages, as the
// signed-in citizen.
type activityAdapter struct{ svc *activity.Service }

func citizenOf(v folder.Viewer) activity.Citizen {
	return activity.Citizen{Subject: v.Subject, LoA: v.LoA, DocType: v.Citizen.Titular.DocType, DocNumber: v.Citizen.Titular.DocNumber}
}

func (a activityAdapter) Overview(ctx context.Context, v folder.Viewer) (activity.Overview, error) {
	return a.svc.Overview(ctx, citizenOf(v))
}

func (a activityAdapter) Decide(ctx context.Context, v folder.Viewer, source, id, decision string) (activity.Notification, error) {
	return a.svc.Decide(ctx, citizenOf(v), source, id, decision)
}

func (a activityAdapter) Acknowledgement(ctx context.Context, v folder.Viewer, source, id string) ([]byte, error) {
	return a.svc.Acknowledgement(ctx, v.Subject, source, id)
}
