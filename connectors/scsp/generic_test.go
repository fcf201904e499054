package scsp

import (
	"errors"
	"testing"
)

func TestGenericService(t *testing.T) {
	svc, err := GenericService("GENCAT_DISCAPACITAT", "urn:test", []FieldSpec{
		{Name: "disability_degree", Element: "Grau", Type: "int"},
		{Name: "recognised", Element: "Reconeguda", Type: "bool"},
		{Name: "since", Element: "Data", Type: "date"},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := svc.Values([]byte(`<R xmlns="urn:test"><Grau>65</Grau><Reconeguda>true</Reconeguda><Data>2020-01-02</Data></R>`))
	if err != nil || v["disability_degree"] != 65 || v["recognised"] != true || v["since"] != "2020-01-02" {
		t.Fatalf("values %v %v", v, err)
	}
	for _, bad := range []string{
		`<R xmlns="urn:other"><Grau>65</Grau><Reconeguda>true</Reconeguda><Data>2020-01-02</Data></R>`,
		`<R xmlns="urn:test"><Grau>alt</Grau><Reconeguda>true</Reconeguda><Data>2020-01-02</Data></R>`,
		`<R xmlns="urn:test"><Reconeguda>true</Reconeguda><Data>2020-01-02</Data></R>`,
		`not xml`,
	} {
		if _, err := svc.Values([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	for _, specs := range [][]FieldSpec{
		nil,
		{{Name: "Bad Name", Element: "X", Type: "int"}},
		{{Name: "a", Element: "<x>", Type: "int"}},
		{{Name: "a", Element: "X", Type: "float"}},
		{{Name: "a", Element: "X", Type: "int"}, {Name: "a", Element: "Y", Type: "int"}},
	} {
		if _, err := GenericService("C", "", specs); err == nil {
			t.Errorf("accepted %+v", specs)
		}
	}
}
