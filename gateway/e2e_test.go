package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestE2ECitizenJourney walks the foundation journey in a real Chromium at
// 360 px wide, in Catalan, with no script on the pages: every page is
// checked with axe-core for WCAG 2.1 AA and for horizontal overflow.
func TestE2ECitizenJourney(t *testing.T) {
	b := newBrowser(t)
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")

	b.open(d.URL + "/")
	b.check("home")
	b.submit(`a[href^="/lang/ca"]`)
	b.mustSee("Benvinguda a Obert")

	// Phase 1, anonymous: the questionnaire places the visitor.
	b.submit(`a.button[href="/questionnaire"]`)
	b.check("questionnaire")
	b.do(chromedp.SendKeys(chromedp.CSS(`#q-age`), "80"), chromedp.SendKeys(chromedp.CSS(`#q-household`), "1"),
		chromedp.SendKeys(chromedp.CSS(`#q-minors`), "0"), chromedp.SetValue(chromedp.CSS(`#q-work`), "retired"),
		chromedp.SendKeys(chromedp.CSS(`#q-income`), "700"))
	b.submit(`form[action="/questionnaire"] button`)
	b.mustSee("Una persona gran que viu sola", "Servei de teleassistència")
	b.check("profile")
	b.open(d.URL + "/")

	b.submit(`a.button[href^="/signin/idcat"]`)
	b.mustSee(c.Name)
	b.check("dev-idcat")
	b.submit(`button[value="` + c.DocNumber + `"]`)
	if loc := b.location(); !strings.HasSuffix(loc, "/folder") {
		t.Fatalf("after sign-in the browser is at %s", loc)
	}
	b.mustSee("La meva carpeta", c.Name)
	b.check("folder")

	b.open(d.URL + "/folder/consent")
	b.mustSee("padró")
	b.check("consent")
	for _, k := range []string{"census", "tax", "employment"} {
		b.do(chromedp.Click(chromedp.CSS(`input[name="grant"][value="` + k + `.aid-recommendation"]`)))
	}
	b.submit(`form[action="/folder/consent"] button[type="submit"]`)
	b.mustSee("Retirar")
	b.check("consent-granted")

	b.open(d.URL + "/folder")
	b.submit(`form[action="/folder/data"] button`)
	b.mustSee(c.Municipality)
	b.check("data")
	codes := map[string]bool{}
	for _, p := range d.Dev.Sim.Received() {
		codes[p.Atributos.CodigoCertificado] = true
	}
	if len(d.Dev.Sim.Received()) != 3 || !codes["PADRO_RESIDENT_CONVIVENTS"] || !codes["AEAT103I"] || !codes["TGSS_VIDA_LABORAL"] {
		t.Fatalf("simulator received %v, want one request per service", codes)
	}

	// My documents: a census certificate, then its public verification.
	b.open(d.URL + "/folder/documents")
	b.mustSee("Els meus documents")
	b.check("documents")
	b.submit(`form[action="/folder/documents"] input[value="census-certificate"] ~ button`)
	b.check("documents-issued")
	pdf, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(`a[href^="/folder/documents/"][href$="/pdf"]`), "href"))
	if err != nil || !pdf.Exists {
		t.Fatalf("no issued document: %v", err)
	}
	csv := strings.TrimSuffix(strings.TrimPrefix(pdf.Value, "/folder/documents/"), "/pdf")
	b.open(d.URL + "/verify?csv=" + csv)
	b.mustSee("Document vàlid", c.Municipality)
	b.check("verify")

	// Share two of its claims with the city council, then stop sharing.
	b.open(d.URL + "/folder/documents")
	share := `form[action="/folder/documents/` + csv + `/share"]`
	b.do(chromedp.Click(chromedp.CSS(`#doc-`+csv+` details summary`)),
		chromedp.Click(chromedp.CSS(share+` input[name="field"][value="municipality"]`)),
		chromedp.Click(chromedp.CSS(share+` input[name="field"][value="household_size"]`)),
		chromedp.SetValue(chromedp.CSS(share+` select[name="recipient"]`), "ajbcn"),
		chromedp.SendKeys(chromedp.CSS(share+` input[name="purpose"]`), "Ajut de menjador escolar"),
		chromedp.SetValue(chromedp.CSS(share+` input[name="until"]`), time.Now().AddDate(0, 0, 20).Format(time.DateOnly)))
	b.check("documents-share-form")
	b.submit(share + ` button[type="submit"]`)
	b.mustSee("Document compartit", "Ajuntament de Barcelona", "Ajut de menjador escolar")
	b.check("documents-shared")
	shared, err := url.Parse(b.location())
	if err != nil || shared.Query().Get("shared") == "" {
		t.Fatalf("after sharing at %s", b.location())
	}
	b.submit(`form[action="/folder/documents/` + shared.Query().Get("shared") + `/revoke"] button`)
	b.mustSee("Document revocat")
	b.check("documents-unshared")

	b.open(d.URL + "/folder/aids")
	b.mustSee("Servei de teleassistència")
	b.check("aids")
	status, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`#aid-teleassistance-title + p .status`)))
	if err != nil || status != "Us correspon" {
		t.Fatalf("tele-assistance status %q (%v), want eligible", status, err)
	}

	// Phase 3: consent to alerts, subscribe by e-mail (no quiet hours),
	// an administration publishes an aid, the e-mail arrives over SMTP in
	// the development mail box, and its link unsubscribes.
	b.open(d.URL + "/folder/consent")
	b.do(chromedp.Click(chromedp.CSS(`input[name="grant"][value="census.proactive-alerts"]`)))
	b.submit(`form[action="/folder/consent"] button[type="submit"]`)
	b.open(d.URL + "/folder")
	b.submit(`a[href="/folder/alerts"]`)
	b.check("alerts")
	b.do(chromedp.SetValue(chromedp.CSS(`#quiet_from`), ""), chromedp.SetValue(chromedp.CSS(`#quiet_to`), ""),
		chromedp.SendKeys(chromedp.CSS(`#email`), "avis@example.org"))
	b.submit(`button[name="channel"][value="email"]`)
	b.mustSee("Fet: us avisarem", "avis@example.org", "Encara no heu confirmat aquesta adreça")
	b.check("alerts-subscribed")
	// The address is confirmed from the link e-mailed to it.
	confirmation := d.Dev.Mail.Wait(1, 30*time.Second)
	if len(confirmation) != 1 {
		t.Fatalf("mail box: %d messages, want the confirmation", len(confirmation))
	}
	b.open(confirmLink.FindString(textOf(t, string(confirmation[0].Raw))))
	b.check("confirm")
	b.submit(`main form button`)
	b.mustSee("Adreça confirmada")
	idle(t, d)
	if s, p := call(t, adminClient(t, d, "sandbox-gencat"), http.MethodPost, d.URL+"/admin/v1/aids", alertTestAid("Una prova.")); s != http.StatusCreated {
		t.Fatalf("publish: %d %v", s, p)
	}
	mail := d.Dev.Mail.Wait(2, 30*time.Second)[1:]
	if len(mail) != 1 || mail[0].To[0] != "avis@example.org" {
		t.Fatalf("mail box: %d messages", len(mail))
	}
	b.open(d.URL + "/dev/mail")
	b.mustSee("Un ajut us pot correspondre: Ajut nou per a la gent gran")
	link := unsubscribeLink.FindString(textOf(t, string(mail[0].Raw)))
	b.open(link)
	b.check("unsubscribe")
	b.submit(`main form button`)
	b.mustSee("ja no rebreu avisos per correu electrònic")

	b.open(d.URL + "/folder/access")
	b.mustSee("Departament de Drets Socials", "Data de naixement", "Avís enviat")
	b.checkList("access") // paginated: "older entries" follows the last

	b.open(d.URL + "/folder/signins")
	b.mustSee("Les meves identificacions", "Sessions obertes", "aquesta sessió")
	b.check("signins")

	// My activity, first at a low level: the notifications are listed but
	// cannot be opened; the page offers to sign in again, at a higher level
	// the citizen steps up to, and comes back to accept one.
	b.open(d.URL + "/signin/idcat?return=/folder/activity")
	b.do(chromedp.Click(chromedp.CSS(`input[name="acr"][value="low"]`)))
	b.submit(`button[value="` + c.DocNumber + `"]`)
	b.mustSee("Les meves gestions", "Sol·licituds")
	b.check("activity-low")
	b.submit(`a[href^="/signin/idcat?loa=substantial"]`)
	b.do(chromedp.Click(chromedp.CSS(`input[name="acr"][value="substantial"]`)))
	b.submit(`button[value="` + c.DocNumber + `"]`)
	b.mustSee("Les meves gestions", "Sol·licituds", "Obriu-la com a tard")
	b.check("activity")
	b.submit(`form[action$="/accept"] button`)
	b.mustSee("Heu acceptat la notificació")
	b.check("activity-accepted")

	b.open(d.URL + "/privacy")
	b.check("privacy")
	b.open(d.URL + "/folder/nowhere")
	b.check("not-found")
}

// TestE2EClaveSignIn: Cl@ve in a real Chromium, in Spanish: our page posts
// the signed AuthnRequest (by script, with a button for browsers without
// it), the development Cl@ve's login page, its response posted back, the
// folder; then sign-out with single logout at the IdP.
func TestE2EClaveSignIn(t *testing.T) {
	b := newBrowser(t)
	d := startDev(t)
	c := d.citizenOf(t, "long-term-unemployed")

	b.open(d.URL + "/lang/es?return=/")
	b.submit(`a.button[href^="/signin/clave"]`)
	b.do(chromedp.WaitVisible(`button[value="` + c.DocNumber + `"]`))
	b.mustSee("Cl@ve de DESARROLLO", c.Name)
	b.check("dev-clave")
	b.do(chromedp.Click(chromedp.CSS(`input[name="loa"][value="high"]`)))
	b.do(chromedp.Click(chromedp.CSS(`button[value="` + c.DocNumber + `"]`)))
	b.waitFor("/folder")
	b.mustSee("Mi carpeta", c.Name, "identificación: alto")
	b.check("folder-clave")

	b.submit(`form[action="/signout"] button`)
	b.waitFor("/")
	b.mustSee("Identificarme con Cl@ve")
	b.open(d.URL + "/folder")
	if loc := b.location(); !strings.Contains(loc, "/?return=") {
		t.Fatalf("still signed in after sign-out: at %s", loc)
	}
}

// TestE2EConsentAndRights: in Chromium, in English: grant, see the grant
// and its receipt, withdraw, see everything held, object, erase the
// account; every page passes axe and fits 360 px.
func TestE2EConsentAndRights(t *testing.T) {
	b := newBrowser(t)
	d := startDev(t)
	c := d.citizenOf(t, "dependent-household")

	b.open(d.URL + "/lang/en?return=/")
	b.submit(`a.button[href^="/signin/idcat"]`)
	b.submit(`button[value="` + c.DocNumber + `"]`)
	b.open(d.URL + "/folder/consent")
	b.do(chromedp.Click(chromedp.CSS(`input[name="grant"][value="census.aid-recommendation"]`)))
	b.submit(`form[action="/folder/consent"] button[type="submit"]`)
	b.mustSee("Download the signed receipt", "Withdraw")
	b.check("consent-granted")
	b.submit(`form[action$="/withdraw"] button`)
	b.mustSee("Consent withdrawn. The data obtained with it has been deleted.", "Withdrawn or expired consents (1)")
	b.check("consent-withdrawn")

	b.open(d.URL + "/folder/rights")
	b.check("rights")
	b.submit(`form[action="/folder/objection"] button`)
	b.mustSee("You have objected")
	b.open(d.URL + "/folder/export")
	b.mustSee(c.DocNumber, "You have objected")
	b.check("export")

	b.open(d.URL + "/folder/rights")
	b.do(chromedp.Click(chromedp.CSS(`input[name="confirm"]`)))
	b.submit(`form[action="/folder/erase"] button`)
	b.mustSee("Your account and your data were deleted")
	b.check("erased")
	b.open(d.URL + "/folder")
	if loc := b.location(); !strings.Contains(loc, "/?return=") {
		t.Fatalf("the erased account still has a session: %s", loc)
	}
	b.open(d.URL + "/privacy")
	b.check("privacy")
}
