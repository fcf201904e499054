package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFolderMadeMine: the folder's home opens on the citizen's life events
// and favourites; a life event gathers its aids (with their status), data,
// documents and procedures; favourites are marked from where things are
// and listed at home; sections move and hide; all of it is the citizen's
// alone and goes with the account.
func TestFolderMadeMine(t *testing.T) {
	d := startDev(t)
	u := consentAndFetch(t, d, d.citizenOf(t, "single-parent"))
	order := func(titles ...string) {
		t.Helper()
		last := -1
		for _, s := range titles {
			i := strings.Index(u.page, ">"+s+"</h2>")
			if i < 0 || i < last {
				t.Fatalf("the folder's sections are not in the order %q:\n%s", titles, u.page)
			}
			last = i
		}
	}
	u.get(d.URL + "/folder")
	order("My life events", "My favourites", "What would you like to do?")
	u.mustSee("You have not chosen any life event yet.", "No favourites yet.")

	// A life event, chosen on the list and shown at home.
	u.get(d.URL + "/folder/life")
	if s := u.post(d.URL+"/folder/life", url.Values{"csrf": {u.hidden("csrf")}, "event": {"having-a-child"}, "on": {"1"}, "return": {"/folder/life"}}); s != http.StatusOK {
		t.Fatalf("choose a life event: %d", s)
	}
	u.mustSee("You marked this as yours.")
	u.get(d.URL + "/folder")
	u.mustSee("Having a child")
	u.get(d.URL + "/folder/life/having-a-child")
	u.mustSee("Child support supplement", "Census — you consented", "not consented: decide", "Census certificate (household)",
		"Register the birth at the Civil Registry")
	if !strings.Contains(u.page, `href="/folder/aids#aid-capi"`) {
		t.Error("the life event's aids do not link to their cards")
	}

	// Favourites from the aids page, a life event and the documents.
	u.get(d.URL + "/folder/aids")
	if s := u.post(d.URL+"/folder/favourites", url.Values{"csrf": {u.hidden("csrf")}, "kind": {"aid"}, "ref": {"capi"}, "on": {"1"},
		"return": {"/folder/aids#aid-capi"}}); s != http.StatusOK || !strings.HasSuffix(u.url, "/folder/aids") {
		t.Fatalf("favourite an aid: %d %s", s, u.url)
	}
	u.get(d.URL + "/folder/aids/capi")
	if !strings.Contains(cardOf(u.page, "capi"), "★") {
		t.Error("the aid's card does not show it is a favourite")
	}
	u.get(d.URL + "/folder/life/having-a-child")
	u.post(d.URL+"/folder/favourites", url.Values{"csrf": {u.hidden("csrf")}, "kind": {"procedure"}, "ref": {"register-birth"}, "on": {"1"},
		"return": {"/folder/life/having-a-child"}})
	for name, f := range map[string]url.Values{
		"an unknown kind":      {"kind": {"planet"}, "ref": {"mars"}, "on": {"1"}},
		"an aid nobody offers": {"kind": {"aid"}, "ref": {"no_such_aid"}, "on": {"1"}},
		"an unknown document":  {"kind": {"document"}, "ref": {"passport"}, "on": {"1"}},
		"neither on nor off":   {"kind": {"aid"}, "ref": {"capi"}, "on": {"maybe"}},
	} {
		f.Set("csrf", u.hidden("csrf"))
		if s := u.post(d.URL+"/folder/favourites", f); s != http.StatusBadRequest {
			t.Errorf("%s: %d", name, s)
		}
		u.get(d.URL + "/folder")
	}
	u.get(d.URL + "/folder")
	u.mustSee("Child support supplement", "Register the birth at the Civil Registry")

	// Sections move and hide, and come back.
	u.post(d.URL+"/folder/layout", url.Values{"csrf": {u.hidden("csrf")}, "section": {"favourites"}, "action": {"up"}})
	order("My favourites", "My life events", "What would you like to do?")
	u.post(d.URL+"/folder/layout", url.Values{"csrf": {u.hidden("csrf")}, "section": {"life-events"}, "action": {"hide"}})
	if strings.Contains(u.page, ">My life events</h2>") {
		t.Fatal("a hidden section is shown")
	}
	u.mustSee("Hidden sections:", "Show “My life events” again")
	if s := u.post(d.URL+"/folder/layout", url.Values{"csrf": {u.hidden("csrf")}, "section": {"settings"}, "action": {"hide"}}); s != http.StatusBadRequest {
		t.Errorf("an unknown section: %d", s)
	}
	u.get(d.URL + "/folder")
	u.post(d.URL+"/folder/layout", url.Values{"csrf": {u.hidden("csrf")}, "section": {"life-events"}, "action": {"show"}})
	order("My favourites", "My life events", "What would you like to do?")

	// Another citizen sees none of it.
	o := consentAndFetch(t, d, d.citizenOf(t, "older-alone"))
	o.get(d.URL + "/folder")
	o.mustSee("You have not chosen any life event yet.", "No favourites yet.")
}
