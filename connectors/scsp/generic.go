package scsp

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// FieldSpec maps one element of a service's specific data to a canonical
// fact, for services an administration registers without code.
type FieldSpec struct {
	Name    string `json:"name"`    // canonical fact name, e.g. "disability_degree"
	Element string `json:"element"` // local name of the element in DatosEspecificos
	Type    string `json:"type"`    // "string", "int", "bool" or "date" (YYYY-MM-DD)
	// Labels name the field to citizens, by language (ca, es, en).
	Labels map[string]string `json:"labels,omitempty"`
}

var (
	factName    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	elementName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)
)

// Validate checks a field specification.
func (f FieldSpec) Validate() error {
	switch {
	case !factName.MatchString(f.Name):
		return fmt.Errorf("field name %q: lower case letters, digits and _", f.Name)
	case !elementName.MatchString(f.Element):
		return fmt.Errorf("field %s: element %q is not an XML name", f.Name, f.Element)
	}
	switch f.Type {
	case "string", "int", "bool", "date":
		return nil
	}
	return fmt.Errorf("field %s: type %q is not string, int, bool or date", f.Name, f.Type)
}

// GenericService is a service whose specific data is read by the field
// specifications: each field is the text of the first element with its
// local name under DatosEspecificos' root, in namespace ns when ns is set.
// A declared field that is missing or does not parse is a malformed answer.
func GenericService(code, ns string, fields []FieldSpec) (Service, error) {
	if strings.TrimSpace(code) == "" {
		return Service{}, fmt.Errorf("scsp: service code is required")
	}
	if len(fields) == 0 {
		return Service{}, fmt.Errorf("scsp: a service needs at least one field")
	}
	seen := map[string]bool{}
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		if err := f.Validate(); err != nil {
			return Service{}, fmt.Errorf("scsp: %w", err)
		}
		if seen[f.Name] {
			return Service{}, fmt.Errorf("scsp: field %s declared twice", f.Name)
		}
		seen[f.Name] = true
		names = append(names, f.Name)
	}
	return Service{Code: code, Fields: names, SchemaVersion: 1, Values: func(raw []byte) (map[string]any, error) {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
			return nil, fmt.Errorf("%w: specific data is not XML", ErrMalformed)
		}
		root := doc.Root()
		if ns != "" && root.NamespaceURI() != ns {
			return nil, fmt.Errorf("%w: specific data in namespace %q, want %q", ErrMalformed, root.NamespaceURI(), ns)
		}
		out := map[string]any{}
		for _, f := range fields {
			var el *etree.Element
			for _, c := range root.ChildElements() {
				if c.Tag == f.Element {
					el = c
					break
				}
			}
			if el == nil {
				return nil, fmt.Errorf("%w: no %s in the answer", ErrMalformed, f.Element)
			}
			text := strings.TrimSpace(el.Text())
			switch f.Type {
			case "string":
				out[f.Name] = text
			case "int":
				n, err := strconv.Atoi(text)
				if err != nil {
					return nil, fmt.Errorf("%w: %s is not an integer", ErrMalformed, f.Element)
				}
				out[f.Name] = n
			case "bool":
				b, err := strconv.ParseBool(text)
				if err != nil {
					return nil, fmt.Errorf("%w: %s is not a boolean", ErrMalformed, f.Element)
				}
				out[f.Name] = b
			case "date":
				if text != "" {
					if _, err := time.Parse(time.DateOnly, text); err != nil {
						return nil, fmt.Errorf("%w: %s is not a date", ErrMalformed, f.Element)
					}
				}
				out[f.Name] = text
			}
		}
		return out, nil
	}}, nil
}
