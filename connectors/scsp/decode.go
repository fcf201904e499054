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
// of what the
// SCSP messages use: structs of strings, integers, structs, pointers to
// structs and slices of structs, an XMLName with its namespace and name,
// and ",innerxml" bytes. A type with anything else (attributes, chardata,
// paths such as "a>b", embedded structs...) has no plan, and Payload.Decode
// hands it to encoding/xml. TestDecodeAsEncodingXML and FuzzDecode hold the
// two to the same values and the same verdicts.

type fieldKind uint8

const (
	fString fieldKind = iota
	fInt
	fStruct
	fPointer // to a struct
	fSlice   // of structs
)

type fieldPlan struct {
	index     int
	ns, local string
	kind      fieldKind
	sub       *typePlan // fStruct, fPointer, fSlice
}

type typePlan struct {
	xmlName       int // the XMLName field, or -1
	nameNS, name  string
	fields        []fieldPlan // in order: the first that matches an element takes it
	inner         int         // the ",innerxml" field, or -1
	unsupportedBy string      // why the type has no plan, "" if it has one
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
	p := &typePlan{xmlName: -1, inner: -1}
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
		var inner bool
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "", "omitempty":
			case "innerxml":
				inner = true
			default:
				return fail(f.Name + " is ," + o)
			}
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
		}
		if local == "" {
			local = f.Name
		}
		fp := fieldPlan{index: i, ns: ns, local: local}
		ft := f.Type
		if decodesItself(ft) {
			return fail(f.Name + " decodes itself")
		}
		switch {
		case ft.Kind() == reflect.String:
			fp.kind = fString
		case ft.Kind() == reflect.Int || ft.Kind() == reflect.Int64 || ft.Kind() == reflect.Int32:
			fp.kind = fInt
		case ft.Kind() == reflect.Struct && ft != nameType:
			fp.kind = fStruct
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && ft.Elem() != nameType:
			fp.kind, ft = fPointer, ft.Elem()
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && ft.Elem() != nameType:
			fp.kind, ft = fSlice, ft.Elem()
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
	for c := range d.children(i) {
		f := p.match(d, c)
		if f == nil {
			continue
		}
		fv := v.Field(f.index)
		switch f.kind {
		case fString:
			fv.SetString(d.ownText(c))
		case fInt:
			s := d.ownText(c)
			if s == "" {
				fv.SetInt(0)
				continue
			}
			x, err := strconv.ParseInt(strings.TrimSpace(s), 10, fv.Type().Bits())
			if err != nil {
				return err
			}
			fv.SetInt(x)
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
			if err := d.decodeStruct(c, fv.Index(k), f.sub); err != nil {
				fv.SetLen(k)
				return err
			}
		}
	}
	if p.inner >= 0 {
		v.Field(p.inner).SetBytes([]byte(d.src[n.in0:n.in1]))
	}
	return nil
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
