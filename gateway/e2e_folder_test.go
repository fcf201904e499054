package gateway_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/obert-gov/obert/connectors/sim"
)

// TestE2EFolderMadeMine: in a real Chromium at 360 px, every page checked
// with axe and the budgets — a "maybe" aid decided in one step, a
// favourite, a life event, a what-if, and a consent withdrawn from an
// entry of the access log.
func TestE2EFolderMadeMine(t *testing.T) {
	b := newBrowser(t)
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")

	b.open(d.URL + "/lang/en?return=/")
	b.submit(`a.button[href^="/signin/idcat"]`)
	b.submit(`button[value="` + c.DocNumber + `"]`)
	b.open(d.URL + "/folder/consent")
	b.do(chromedp.Click(chromedp.CSS(`input[name="grant"][value="census.aid-recommendation"]`)))
	b.submit(`form[action="/folder/consent"] button[type="submit"]`)
	b.open(d.URL + "/folder")
	b.submit(`form[action="/folder/data"] button`)

	// A maybe, decided in one step: the card's button gives the tax
	// consent, fetches and comes back to the card.
	b.open(d.URL + "/folder/aids")
	b.mustSee("aids are yours and", "What would decide the ones that may be yours:")
	b.check("aids-census-only")
	// The status is the class of the aid's card or list item.
	status := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById("aid-`+id+`").className`))
		if err != nil {
			t.Fatalf("status of %s: %v", id, err)
		}
		return strings.Fields(s)[len(strings.Fields(s))-1]
	}
	if s := status("pobresa_energetica"); s != "maybe" {
		t.Fatalf("pobresa_energetica is %q with census data only", s)
	}
	b.submit(`#aid-pobresa_energetica form.ask button`)
	b.mustSee("We received your “Tax data” data.")
	if loc := b.location(); !strings.Contains(loc, "/folder/aids/pobresa_energetica?") {
		t.Errorf("the check returned to %s, not to the aid", loc)
	}
	if s := status("pobresa_energetica"); s == "maybe" {
		t.Fatal("pobresa_energetica is still a maybe after its data came")
	}
	b.check("aid-checked")
	b.open(d.URL + "/folder/aids")
	b.check("aids-checked")

	// A favourite, starred on its card and listed at the folder's home.
	b.submit(`#aid-teleassistance form.star button`)
	b.mustSee("In favourites (remove)")
	b.open(d.URL + "/folder")
	b.mustSee("My favourites", "Home tele-assistance")
	b.check("folder-favourites")

	// A life event, chosen and opened.
	b.open(d.URL + "/folder/life")
	b.check("life-events")
	b.submit(`form[action="/folder/life"] input[value="retiring"] ~ button`)
	b.mustSee("You marked this as yours.")
	b.open(d.URL + "/folder/life/retiring")
	b.mustSee("Retiring", "Apply for the retirement pension", "Working-life report")
	b.check("life-event")

	// What if: computed on the spot, said to be a simulation.
	b.open(d.URL + "/folder/aids")
	b.do(chromedp.SendKeys(chromedp.CSS(`#wi-income`), "4000"))
	b.submit(`form[action="/folder/aids/whatif"] button`)
	b.mustSee("A simulation, neither fetched nor kept", "a yearly income of €4,000")
	b.check("whatif")

	// Withdrawal from an entry of the access log.
	b.open(d.URL + "/folder/access")
	b.checkList("access")
	b.submit(`form[action$="/withdraw"] button`)
	b.mustSee("Consent withdrawn. The data obtained with it has been deleted.")
	if loc := b.location(); !strings.Contains(loc, "/folder/access") {
		t.Fatalf("withdrawal from the log went to %s", loc)
	}
	b.checkList("access-withdrawn")
}

// TestE2EProfiles: in Chromium at 360 px, with axe and the budgets, a
// person checks the register of representations, acts for their company
// (its folder, consents, data and log) and comes back; a public employee
// opens their staff profile.
func TestE2EProfiles(t *testing.T) {
	b := newBrowser(t)
	d := startDev(t)
	var rep, staff sim.Citizen
	for _, c := range d.Dev.Citizens {
		if len(c.Represents) > 0 && rep.DocNumber == "" {
			rep = c
		}
		if c.Employer != "" && staff.DocNumber == "" {
			staff = c
		}
	}
	company := rep.Represents[0].Company

	b.open(d.URL + "/lang/en?return=/")
	b.submit(`a.button[href^="/signin/idcat"]`)
	b.submit(`button[value="` + rep.DocNumber + `"]`)
	b.open(d.URL + "/folder/profile")
	b.check("profiles")
	b.submit(`form[action="/folder/profile/check"] button`)
	b.mustSee(company.Name)
	b.check("profiles-checked")
	b.submit(`form[action="/folder/profile"] input[value="` + company.NIF + `"] ~ button`)
	b.mustSee("Folder of "+company.Name, "You are acting for")
	b.check("company-folder")
	b.open(d.URL + "/folder/consent")
	b.mustSee("Consultations the law allows without your consent", "I object")
	b.check("company-consent")
	b.open(d.URL + "/folder")
	b.submit(`form[action="/folder/data"] button`)
	b.mustSee(company.Name)
	b.check("company-data")
	b.open(d.URL + "/folder/access")
	b.mustSee("On behalf of", "you, as its representative")
	b.checkList("company-access")
	b.open(d.URL + "/folder/aids")
	b.mustSee("You are acting for a company now")
	b.check("company-person-only")
	b.open(d.URL + "/folder/profile")
	b.submit(`form[action="/folder/profile"] input[value="person"] ~ button`)
	b.mustSee("My life events")
	b.submit(`form[action="/signout"] button`)

	b.open(d.URL + "/")
	b.submit(`a.button[href^="/signin/idcat"]`)
	b.submit(`button[value="` + staff.DocNumber + `"]`)
	b.open(d.URL + "/folder/profile")
	b.submit(`form[action="/folder/profile"] input[value="employee"] ~ button`)
	b.mustSee("My folder as public staff")
	b.check("staff-folder")
}

// TestE2EStepUp: in Chromium, a session at level low that meets data
// needing substantial is offered to sign in again at that level; the
// provider offers nothing lower; back in the folder the same action works.
func TestE2EStepUp(t *testing.T) {
	b := newBrowser(t)
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	b.open(d.URL + "/lang/en?return=/")
	b.submit(`a.button[href^="/signin/idcat"]`)
	b.do(chromedp.Click(chromedp.CSS(`input[name="acr"][value="low"]`)))
	b.submit(`button[value="` + c.DocNumber + `"]`)
	b.open(d.URL + "/folder/consent")
	b.do(chromedp.Click(chromedp.CSS(`input[name="grant"][value="census.aid-recommendation"]`)))
	b.submit(`form[action="/folder/consent"] button[type="submit"]`)
	b.open(d.URL + "/folder")
	b.submit(`form[action="/folder/data"] button`)
	b.mustSee("This consultation needs you to sign in with a higher level of assurance.")
	b.check("data-step-up")
	b.submit(`a.button[href^="/signin/idcat?loa=substantial"]`)
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('input[name="acr"][value="low"]').length`)); err != nil || n != 0 {
		t.Fatalf("the provider still offers level low (%d, %v)", n, err)
	}
	b.submit(`button[value="` + c.DocNumber + `"]`)
	b.waitFor("/folder")
	b.submit(`form[action="/folder/data"] button`)
	b.mustSee(c.Municipality)
	b.check("data-after-step-up")
}
