package scsp

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// Exclusive XML Canonicalization 1.0 (https://www.w3.org/TR/xml-exc-c14n/),
// without comments and with no inclusive prefixes: the one transform SCSP
// signatures use, for the Body and for SignedInfo. Written in one pass over
// the tree with the namespaces in scope on a stack: goxmldsig's
// canonicaliser copied the tree and two maps of namespaces per element:
// a third of the bytes BenchmarkFanOut allocated (gateway and simulator
// together). A test holds the two equal on every message this package
// writes or reads, and a fuzz target on arbitrary XML, except where
// goxmldsig departs from the recommendation (TestC14NFollowsTheRecommendation)
// or accepts what is not namespace-well-formed XML (TestC14NStricter);
// xmlsec1 checks our signatures and we check its own (xmlsec_test.go).

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// maxC14NElements bounds the elements canonicalised in one call, as
// goxmldsig's traversal limit did: an SCSP message has a few dozen.
const maxC14NElements = 1000

// binding is a namespace prefix ("" for the default namespace) and its URI.
type binding struct{ prefix, uri string }

type c14n struct {
	out      []byte
	scope    []binding // in scope, innermost last
	rendered []binding // declared in the output, innermost last
	left     int       // elements still allowed
}

// excC14N returns the exclusive canonical form of el, read in the context
// of the namespaces its ancestors declare.
func excC14N(el *etree.Element) ([]byte, error) {
	c := c14n{out: make([]byte, 0, 4096), left: maxC14NElements}
	var chain []*etree.Element
	for p := el.Parent(); p != nil && p.Tag != ""; p = p.Parent() {
		chain = append(chain, p)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if err := c.declare(chain[i]); err != nil {
			return nil, err
		}
	}
	if err := c.element(el); err != nil {
		return nil, err
	}
	return c.out, nil
}

// declare puts el's namespace declarations in scope.
func (c *c14n) declare(el *etree.Element) error {
	for _, a := range el.Attr {
		switch {
		case a.Space == "xmlns":
			if a.Key == "xmlns" || (a.Key == "xml" && a.Value != nsXML) || (a.Value == nsXML && a.Key != "xml") || a.Value == nsXMLNS {
				return fmt.Errorf("%w: reserved namespace declared: xmlns:%s", ErrMalformed, a.Key)
			}
			if a.Value == "" {
				return fmt.Errorf("%w: prefix %s undeclared (XML 1.0 namespaces)", ErrMalformed, a.Key)
			}
			c.scope = append(c.scope, binding{a.Key, a.Value})
		case a.Space == "" && a.Key == "xmlns":
			if a.Value == nsXMLNS || a.Value == nsXML {
				return fmt.Errorf("%w: reserved namespace as the default", ErrMalformed)
			}
			c.scope = append(c.scope, binding{"", a.Value})
		}
	}
	return nil
}

// lookup is the URI prefix is bound to in scope; the default namespace is
// "" when none is declared.
func lookup(bs []binding, prefix string) (string, bool) {
	for i := len(bs) - 1; i >= 0; i-- {
		if bs[i].prefix == prefix {
			return bs[i].uri, true
		}
	}
	return "", prefix == ""
}

// attr is an attribute to render, with its namespace URI.
type attr struct {
	uri string
	a   etree.Attr
}

func (c *c14n) element(el *etree.Element) error {
	if c.left--; c.left < 0 {
		return fmt.Errorf("%w: more than %d elements to canonicalise", ErrMalformed, maxC14NElements)
	}
	scopeMark, renderedMark := len(c.scope), len(c.rendered)
	defer func() { c.scope, c.rendered = c.scope[:scopeMark], c.rendered[:renderedMark] }()
	if err := c.declare(el); err != nil {
		return err
	}
	// The namespaces the element visibly utilises: its own prefix and its
	// attributes' ("xml" is never declared).
	var used [8]string
	utilised := append(used[:0], el.Space)
	var attrBuf [8]attr
	attrs := attrBuf[:0]
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		uri := ""
		if a.Space != "" {
			var ok bool
			if a.Space == "xml" {
				uri, ok = nsXML, true
			} else {
				uri, ok = lookup(c.scope, a.Space)
			}
			if !ok {
				return fmt.Errorf("%w: undeclared namespace prefix %q", ErrMalformed, a.Space)
			}
			if !slices.Contains(utilised, a.Space) {
				utilised = append(utilised, a.Space)
			}
		}
		attrs = append(attrs, attr{uri, a})
	}
	// Attributes sort by namespace URI (none first), then local name; two
	// with the same expanded name make the document not well-formed.
	slices.SortFunc(attrs, func(x, y attr) int {
		return cmp.Or(strings.Compare(x.uri, y.uri), strings.Compare(x.a.Key, y.a.Key))
	})
	for i := 1; i < len(attrs); i++ {
		if attrs[i].uri == attrs[i-1].uri && attrs[i].a.Key == attrs[i-1].a.Key {
			return fmt.Errorf("%w: attribute %s repeated", ErrMalformed, attrs[i].a.FullKey())
		}
	}
	// Declarations sort by prefix, the default one first.
	slices.Sort(utilised)
	c.out = append(c.out, '<')
	c.out = appendQName(c.out, el.Space, el.Tag)
	for _, p := range utilised {
		if p == "xml" {
			continue
		}
		uri, ok := lookup(c.scope, p)
		if !ok {
			return fmt.Errorf("%w: undeclared namespace prefix %q", ErrMalformed, p)
		}
		if prev, _ := lookup(c.rendered, p); prev == uri {
			continue // already in effect in the output
		}
		c.rendered = append(c.rendered, binding{p, uri})
		if p == "" {
			c.out = append(c.out, ` xmlns="`...)
		} else {
			c.out = append(c.out, ` xmlns:`...)
			c.out = append(c.out, p...)
			c.out = append(c.out, `="`...)
		}
		c.out = appendEscaped(c.out, uri, true)
		c.out = append(c.out, '"')
	}
	for _, a := range attrs {
		c.out = append(c.out, ' ')
		c.out = appendQName(c.out, a.a.Space, a.a.Key)
		c.out = append(c.out, `="`...)
		c.out = appendEscaped(c.out, a.a.Value, true)
		c.out = append(c.out, '"')
	}
	c.out = append(c.out, '>')
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if err := c.element(t); err != nil {
				return err
			}
		case *etree.CharData: // text and CDATA alike
			c.out = appendEscaped(c.out, t.Data, false)
		case *etree.ProcInst:
			c.out = append(c.out, "<?"...)
			c.out = append(c.out, t.Target...)
			if t.Inst != "" {
				c.out = append(c.out, ' ')
				c.out = append(c.out, t.Inst...)
			}
			c.out = append(c.out, "?>"...)
		case *etree.Comment: // without comments
		default:
			return fmt.Errorf("%w: %T inside an element", ErrMalformed, t)
		}
	}
	c.out = append(c.out, "</"...)
	c.out = appendQName(c.out, el.Space, el.Tag)
	c.out = append(c.out, '>')
	return nil
}

func appendQName(b []byte, prefix, local string) []byte {
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, ':')
	}
	return append(b, local...)
}

// appendEscaped escapes s as canonical XML does for an attribute value
// (attr) or for text.
func appendEscaped(b []byte, s string, attr bool) []byte {
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '&':
			b = append(b, "&amp;"...)
		case ch == '<':
			b = append(b, "&lt;"...)
		case ch == '>' && !attr:
			b = append(b, "&gt;"...)
		case ch == '"' && attr:
			b = append(b, "&quot;"...)
		case ch == '\t' && attr:
			b = append(b, "&#x9;"...)
		case ch == '\n' && attr:
			b = append(b, "&#xA;"...)
		case ch == '\r':
			b = append(b, "&#xD;"...)
		default:
			b = append(b, ch)
		}
	}
	return b
}
