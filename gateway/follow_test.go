package gateway

import (
	"encoding/json"
	"testing"

	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/adminapi"
)

// TestRegistrationsCannotRenameTheRegister: a registration whose source is
// an administration of the register does not rename it on citizens' pages.
func TestRegistrationsCannotRenameTheRegister(t *testing.T) {
	reg, err := catalogue.Administrations()
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(adminapi.Spec{Kind: adminapi.KindNotifications, Source: "age",
		Texts: map[string]consent.OfferText{"en": {Source: "Someone else"}}})
	names := registeredNames(reg, []adminapi.Registration{{ID: "x", Spec: spec}})
	if got := names["en"]["org.age"]; got != "Government of Spain" {
		t.Fatalf("org.age is %q", got)
	}
}
