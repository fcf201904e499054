package scsp

import (
	"encoding"
	"encoding/xml"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Decoding a payload into the message types straight from the nodes scan
// reads, instead of through encoding/xml, which read the same bytes again
// byte by byte: a third of the time it took to check and read an answer.
// It does what xml.Unmarshal does with the same bytes, for the types made
// of what the SCSP messages and the services' specific data use: structs
// of strings, integers, booleans, structs, pointers to structs and slices
// of these, an XMLName with its namespace and name, attributes without a
// namespace, ",chardata" and ",innerxml" bytes. A type with anything else
// (namespaced attributes, paths such as "a>b", embedded structs...) has no
// plan, and Payload.Decode and decodeData hand it to encoding/xml.
// TestDecodeAsEncodingXML, FuzzDecode, TestDecodeDataAsEncodingXML and
// FuzzDecodeData hold the two to the same values and the same verdicts.

type fieldKind uint8

const (
	fString fieldKind = iota
	fInt
	fBool
	fStruct
	fPointer // to a struct
	fSlice   // of structs (sub) or of strings, integers or booleans (elem)
)

type fieldPlan struct {
	index     int
	ns, local string
	kind      fieldKind
	elem      fieldKind // fSlice of fString, fInt or fBool (sub nil)
	sub       *typePlan // fStruct, fPointer, fSlice of structs
}

type typePlan struct {
	xmlName       int // the XMLName field, or -1
	nameNS, name  string
	fields        []fieldPlan // in order: the first that matches an element takes it
	attrs         []fieldPlan // ",attr" fields, of fString, fInt or fBool
	chardata      int         // the ",chardata" field, or -1
	charKind      fieldKind
	inner         int    // the ",innerxml" field, or -1
	unsupportedBy string // why the type has no plan, "" if it has one
}

// simpleKind is the kind of a string, integer or boolean type.
func simpleKind(t reflect.Type) (fieldKind, bool) {
	switch t.Kind() {
	case reflect.String:
		return fString, true
	case reflect.Int, reflect.Int64, reflect.Int32:
		return fInt, true
	case reflect.Bool:
		return fBool, true
	}
	return 0, false
}

var plans sync.Map // reflect.Type → *typePlan

var nameType = reflect.TypeFor[xml.Name]()

// planOf is how to decode into struct type t; unsupportedBy is set when it
// cannot be, saying why.
func planOf(t reflect.Type) *typePlan {
	if p, ok := plans.Load(t); ok {
		return p.(*typePlan)
	}
	p := makePlan(t, map[reflect.Type]*typePlan{})
	plans.Store(t, p)
	return p
}

func makePlan(t reflect.Type, seen map[reflect.Type]*typePlan) *typePlan {
	if p, ok := seen[t]; ok {
		return p
	}
	p := &typePlan{xmlName: -1, inner: -1, chardata: -1}
	seen[t] = p
	fail := func(why string) *typePlan { p.unsupportedBy = t.String() + ": " + why; return p }
	if decodesItself(t) {
		return fail("decodes itself")
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return fail("embedded " + f.Name)
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("xml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		var inner, isAttr, chardata bool
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "", "omitempty":
			case "innerxml":
				inner = true
			case "attr":
				isAttr = true
			case "chardata":
				chardata = true
			default:
				return fail(f.Name + " is ," + o)
			}
		}
		if inner && (isAttr || chardata) || isAttr && chardata {
			return fail(f.Name + " has two kinds")
		}
		if strings.Contains(name, ">") {
			return fail(f.Name + " has a path")
		}
		ns, local, ok := strings.Cut(name, " ")
		if !ok {
			ns, local = "", name
		}
		switch {
		case f.Name == "XMLName":
			if f.Type != nameType || inner {
				return fail("XMLName is not an xml.Name")
			}
			p.xmlName, p.nameNS, p.name = i, ns, local
			continue
		case inner:
			if f.Type != reflect.TypeFor[[]byte]() || p.inner >= 0 {
				return fail(f.Name + ": innerxml into other than []byte")
			}
			p.inner = i
			continue
		case isAttr || chardata:
			k, ok := simpleKind(f.Type)
			if !ok || decodesItself(f.Type) {
				return fail(f.Name + ": attr or chardata into a " + f.Type.String())
			}
			if chardata {
				if p.chardata >= 0 {
					return fail(f.Name + ": chardata twice")
				}
				p.chardata, p.charKind = i, k
				continue
			}
			if ns != "" {
				return fail(f.Name + " is a namespaced attribute")
			}
			if local == "" {
				local = f.Name
			}
			p.attrs = append(p.attrs, fieldPlan{index: i, local: local, kind: k})
			continue
		}
		if local == "" {
			local = f.Name
		}
		fp := fieldPlan{index: i, ns: ns, local: local}
		ft := f.Type
		if decodesItself(ft) {
			return fail(f.Name + " decodes itself")
		}
		k, simple := simpleKind(ft)
		switch {
		case simple:
			fp.kind = k
		case ft.Kind() == reflect.Slice && ft != reflect.TypeFor[[]byte]():
			if k, ok := simpleKind(ft.Elem()); ok && !decodesItself(ft.Elem()) {
				fp.kind, fp.elem = fSlice, k
				p.fields = append(p.fields, fp)
				continue
			}
			if ft.Elem().Kind() != reflect.Struct || ft.Elem() == nameType {
				return fail(f.Name + " is a " + ft.String())
			}
			fp.kind, ft = fSlice, ft.Elem()
		case ft.Kind() == reflect.Struct && ft != nameType:
			fp.kind = fStruct
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && ft.Elem() != nameType:
			fp.kind, ft = fPointer, ft.Elem()
		default:
			return fail(f.Name + " is a " + ft.String())
		}
		if fp.kind >= fStruct {
			if _, ok := ft.FieldByName("XMLName"); ok && name == "" {
				return fail(f.Name + " takes its name from its type") // as encoding/xml does
			}
			fp.sub = makePlan(ft, seen)
			if fp.sub.unsupportedBy != "" {
				p.unsupportedBy = fp.sub.unsupportedBy
				return p
			}
		}
		p.fields = append(p.fields, fp)
	}
	return p
}

// decodesItself reports whether encoding/xml would hand values of t to
// their own methods.
func decodesItself(t reflect.Type) bool {
	for _, u := range []reflect.Type{reflect.TypeFor[xml.Unmarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]()} {
		if t.Implements(u) || reflect.PointerTo(t).Implements(u) {
			return true
		}
	}
	return false
}

// errNoPlan says a type is not one decodeInto knows.
var errNoPlan = errors.New("scsp: no plan for the type")

// decodeInto decodes element i of d into v (a pointer to a struct), as
// xml.Unmarshal would decode the same element.
func (d *xdoc) decodeInto(i int32, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return errNoPlan
	}
	p := planOf(rv.Elem().Type())
	if p.unsupportedBy != "" {
		return errNoPlan
	}
	return d.decodeStruct(i, rv.Elem(), p)
}

func (d *xdoc) decodeStruct(i int32, v reflect.Value, p *typePlan) error {
	n := &d.nodes[i]
	if p.xmlName >= 0 {
		ns := d.nsOf(i)
		if p.name != "" && p.name != n.local {
			return errors.New("expected element type <" + p.name + "> but have <" + n.local + ">")
		}
		if p.nameNS != "" && p.nameNS != ns {
			return errors.New("expected element <" + p.name + "> in name space " + p.nameNS + " but have " + ns)
		}
		v.Field(p.xmlName).Set(reflect.ValueOf(xml.Name{Space: ns, Local: n.local}))
	}
	// Every attribute goes into the fields of its name, whatever its
	// namespace (declarations included), in the order they come: the last
	// one of a name is what stays, as with encoding/xml.
	if len(p.attrs) > 0 {
		for _, a := range d.attrsOf(i) {
			for k := range p.attrs {
				if f := &p.attrs[k]; a.local == f.local {
					if err := setText(v.Field(f.index), f.kind, a.value); err != nil {
						return err
					}
				}
			}
		}
	}
	for c := range d.children(i) {
		f := p.match(d, c)
		if f == nil {
			continue
		}
		fv := v.Field(f.index)
		switch f.kind {
		case fString, fInt, fBool:
			if err := setText(fv, f.kind, d.ownText(c)); err != nil {
				return err
			}
		case fStruct:
			if err := d.decodeStruct(c, fv, f.sub); err != nil {
				return err
			}
		case fPointer:
			if fv.IsNil() {
				fv.Set(reflect.New(fv.Type().Elem()))
			}
			if err := d.decodeStruct(c, fv.Elem(), f.sub); err != nil {
				return err
			}
		case fSlice:
			k := fv.Len()
			fv.Set(reflect.Append(fv, reflect.New(fv.Type().Elem()).Elem()))
			var err error
			if f.sub == nil {
				err = setText(fv.Index(k), f.elem, d.ownText(c))
			} else {
				err = d.decodeStruct(c, fv.Index(k), f.sub)
			}
			if err != nil {
				fv.SetLen(k)
				return err
			}
		}
	}
	if p.chardata >= 0 {
		if err := setText(v.Field(p.chardata), p.charKind, d.ownText(i)); err != nil {
			return err
		}
	}
	if p.inner >= 0 {
		v.Field(p.inner).SetBytes([]byte(d.src[n.in0:n.in1]))
	}
	return nil
}

// setText sets v, of kind k, to s as encoding/xml does: nothing is the
// zero value, and numbers and booleans are read without the white space
// around them.
func setText(v reflect.Value, k fieldKind, s string) error {
	switch k {
	case fString:
		v.SetString(s)
	case fInt:
		if s == "" {
			v.SetInt(0)
			return nil
		}
		x, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return err
		}
		v.SetInt(x)
	case fBool:
		if s == "" {
			v.SetBool(false)
			return nil
		}
		x, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		v.SetBool(x)
	}
	return nil
}

// decodeData decodes a service's specific data, raw, into v (a pointer to
// a struct) as xml.Unmarshal does: from scan's nodes when raw is one
// element that scan reads, its elements' prefixes declared, and v's type
// has a plan; otherwise through encoding/xml.
func decodeData(raw []byte, v any) error {
	if d, err := scan(raw); err == nil {
		if root := d.root(); root >= 0 && d.prefixesDeclared(root) {
			if err := d.decodeInto(root, v); !errors.Is(err, errNoPlan) {
				return err
			}
		}
	}
	return xml.Unmarshal(raw, v)
}

// root is the document's element (its first: nothing before it is one),
// -1 if none.
func (d *xdoc) root() int32 {
	for i := range d.nodes {
		if d.nodes[i].kind == xElement {
			return int32(i)
		}
	}
	return -1
}

// prefixesDeclared reports whether every element from i on has a prefix
// that is declared where it is used (encoding/xml takes an undeclared one
// for the namespace, where nsOf finds none).
func (d *xdoc) prefixesDeclared(i int32) bool {
	for k := i; k < d.nodes[i].end; k++ {
		if n := &d.nodes[k]; n.kind == xElement && n.prefix != "" && d.uri(k, n.prefix) == "" {
			return false
		}
	}
	return true
}

// match is the first field element c goes into, nil for none.
func (p *typePlan) match(d *xdoc, c int32) *fieldPlan {
	local := d.nodes[c].local
	for k := range p.fields {
		if f := &p.fields[k]; f.local == local && (f.ns == "" || f.ns == d.nsOf(c)) {
			return f
		}
	}
	return nil
}

// ownText is the text directly inside element i, not inside its children.
func (d *xdoc) ownText(i int32) string {
	var one string
	var b []byte
	for c := i + 1; c < d.nodes[i].end; {
		switch n := &d.nodes[c]; {
		case n.kind == xElement:
			c = n.end
			continue
		case n.kind == xText && one == "" && b == nil:
			one = n.text
		case n.kind == xText:
			if b == nil {
				b = append(b, one...)
			}
			b = append(b, n.text...)
		}
		c++
	}
	if b != nil {
		return string(b)
	}
	return one
}
