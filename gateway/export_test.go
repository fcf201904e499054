package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestExportFollowsItsSchema: the JSON export is what
// docs/export-schema.json says — every key known and in snake_case, the
// required ones there, lists never null, no placeholder dates — and its
// note is in the citizen's language.
func TestExportFollowsItsSchema(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	u := consentAndFetch(t, d, c)
	// A withdrawn consent beside the one in force, an objection, a
	// document.
	u.grant(d.URL, "census.proactive-alerts")
	u.get(d.URL + "/folder/export.json")
	var before struct {
		Consents []struct{ ID, Purpose string } `json:"consents"`
	}
	json.Unmarshal([]byte(u.page), &before)
	for _, g := range before.Consents {
		if g.Purpose == "proactive-alerts" {
			u.get(d.URL + "/folder/consent")
			u.post(d.URL+"/folder/consent/"+g.ID+"/withdraw", url.Values{"csrf": {u.hidden("csrf")}})
		}
	}
	u.get(d.URL + "/folder/rights")
	u.post(d.URL+"/folder/objection", url.Values{"csrf": {u.hidden("csrf")}, "object": {"1"}})
	u.get(d.URL + "/folder/documents")
	u.post(d.URL+"/folder/documents", url.Values{"csrf": {u.hidden("csrf")}, "type": {"census-certificate"}})
	// A favourite, a life event and a changed layout.
	u.post(d.URL+"/folder/favourites", url.Values{"csrf": {u.hidden("csrf")}, "kind": {"aid"}, "ref": {"imv"}, "on": {"1"}})
	u.post(d.URL+"/folder/life", url.Values{"csrf": {u.hidden("csrf")}, "event": {"retiring"}, "on": {"1"}})
	u.post(d.URL+"/folder/layout", url.Values{"csrf": {u.hidden("csrf")}, "section": {"steps"}, "action": {"hide"}})

	u.get(d.URL + "/lang/ca?return=/folder/export.json")
	var doc any
	if err := json.Unmarshal([]byte(u.page), &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../docs/export-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	for _, p := range conforms(schema, doc, "$") {
		t.Error(p)
	}
	top := doc.(map[string]any)
	if top["language"] != "ca" || !strings.Contains(top["note"].(string), "Tot el que Obert té sobre vós") {
		t.Errorf("the note is not in the citizen's language: %v", top["note"])
	}
	if l, ok := top["folder_layout"].(map[string]any); !ok || fmt.Sprint(l["hidden"]) != "[steps]" {
		t.Errorf("folder_layout: %v", top["folder_layout"])
	}
	for name, want := range map[string]int{"consents": 2, "facts": 1, "objections": 1, "documents": 1, "favourites": 1, "life_events": 1} {
		if n := len(top[name].([]any)); n < want {
			t.Errorf("%s: %d, want at least %d", name, n, want)
		}
	}
	withdrawn := 0
	for _, g := range top["consents"].([]any) {
		if _, ok := g.(map[string]any)["withdrawn_at"]; ok {
			withdrawn++
		}
	}
	if withdrawn != 1 {
		t.Errorf("%d consents say when they were withdrawn, want the one withdrawn", withdrawn)
	}
}

var snake = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// conforms checks v against the parts of JSON Schema the export's schema
// uses, and that nothing is null and no key is other than snake_case.
func conforms(s map[string]any, v any, at string) []string {
	var ps []string
	bad := func(format string, a ...any) { ps = append(ps, at+": "+fmt.Sprintf(format, a...)) }
	if v == nil {
		bad("null")
		return ps
	}
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		bad("%v, want %v", v, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
		bad("%v not one of %v", v, e)
	}
	switch s["type"] {
	case "object":
		o, ok := v.(map[string]any)
		if !ok {
			bad("not an object")
			return ps
		}
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := o[r.(string)]; !ok {
				bad("%s is required", r)
			}
		}
		for k, x := range o {
			if !snake.MatchString(k) {
				bad("key %q is not snake_case", k)
			}
			if ps2, ok := props[k].(map[string]any); ok {
				ps = append(ps, conforms(ps2, x, at+"."+k)...)
			} else if s["additionalProperties"] == false {
				bad("key %q is not in the schema", k)
			} else if x == nil {
				bad("%s is null", k)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("not an array")
			return ps
		}
		items, _ := s["items"].(map[string]any)
		for i, x := range a {
			if items != nil {
				ps = append(ps, conforms(items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("not a string")
			return ps
		}
		if s["format"] == "date-time" {
			tm, err := time.Parse(time.RFC3339Nano, str)
			if err != nil || tm.Year() < 2000 {
				bad("%q is not a real date-time", str)
			}
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			bad("not an integer")
		}
	}
	return ps
}
