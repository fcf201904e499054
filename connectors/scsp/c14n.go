package scsp

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Exclusive XML Canonicalization 1.0 (https://www.w3.org/TR/xml-exc-c14n/),
// without comments and with no inclusive prefixes: the one transform SCSP
// signatures use, for the Body and for SignedInfo. Written in one pass over
// the nodes scan reads, with the namespaces in scope on a stack: goxmldsig's
// canonicaliser copied the tree and two maps of namespaces per element:
// a third of the bytes BenchmarkFanOut allocated (gateway and simulator
// together). A test holds the two equal (an etree tree converted by
// fromEtree) on every message this package writes or reads, and a fuzz
// target on arbitrary XML, except where
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
	d        *xdoc
	out      []byte
	scope    []binding // in scope, innermost last
	rendered []binding // declared in the output, innermost last
	left     int       // elements still allowed
}

// c14n appends to out the exclusive canonical form of element i, read in
// the context of the namespaces its ancestors declare.
func (d *xdoc) c14n(out []byte, i int32) ([]byte, error) {
	c := c14n{d: d, out: out, left: maxC14NElements}
	var chainBuf [16]int32
	chain := chainBuf[:0]
	for p := d.nodes[i].parent; p >= 0; p = d.nodes[p].parent {
		chain = append(chain, p)
	}
	for k := len(chain) - 1; k >= 0; k-- {
		if err := c.declare(chain[k]); err != nil {
			return nil, err
		}
	}
	if err := c.element(i); err != nil {
		return nil, err
	}
	return c.out, nil
}

// declare puts element i's namespace declarations in scope.
func (c *c14n) declare(i int32) error {
	for _, a := range c.d.attrsOf(i) {
		switch {
		case a.prefix == "xmlns":
			if a.local == "xmlns" || (a.local == "xml" && a.value != nsXML) || (a.value == nsXML && a.local != "xml") || a.value == nsXMLNS {
				return fmt.Errorf("%w: reserved namespace declared: xmlns:%s", ErrMalformed, a.local)
			}
			if a.value == "" {
				return fmt.Errorf("%w: prefix %s undeclared (XML 1.0 namespaces)", ErrMalformed, a.local)
			}
			c.scope = append(c.scope, binding{a.local, a.value})
		case a.prefix == "" && a.local == "xmlns":
			if a.value == nsXMLNS || a.value == nsXML {
				return fmt.Errorf("%w: reserved namespace as the default", ErrMalformed)
			}
			c.scope = append(c.scope, binding{"", a.value})
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
	a   xattr
}

func (c *c14n) element(i int32) error {
	if c.left--; c.left < 0 {
		return fmt.Errorf("%w: more than %d elements to canonicalise", ErrMalformed, maxC14NElements)
	}
	scopeMark, renderedMark := len(c.scope), len(c.rendered)
	defer func() { c.scope, c.rendered = c.scope[:scopeMark], c.rendered[:renderedMark] }()
	if err := c.declare(i); err != nil {
		return err
	}
	if err := c.startTag(i); err != nil {
		return err
	}
	el := &c.d.nodes[i]
	for k := i + 1; k < el.end; {
		switch t := &c.d.nodes[k]; t.kind {
		case xElement:
			if err := c.element(k); err != nil {
				return err
			}
			k = t.end
			continue
		case xText:
			c.out = appendEscaped(c.out, t.text, false)
		case xPI:
			c.out = append(c.out, "<?"...)
			c.out = append(c.out, t.local...)
			if t.text != "" {
				c.out = append(c.out, ' ')
				c.out = append(c.out, t.text...)
			}
			c.out = append(c.out, "?>"...)
		default:
			return fmt.Errorf("%w: a directive inside an element", ErrMalformed)
		}
		k++
	}
	c.out = append(c.out, "</"...)
	c.out = appendQName(c.out, el.prefix, el.local)
	c.out = append(c.out, '>')
	return nil
}

// startTag appends element i's start tag: its name, the namespace
// declarations it visibly utilises that are not in effect in the output
// yet (which it puts in c.rendered), and its attributes in canonical
// order. It is apart from element, which recurses, so that its buffers
// are on the stack once, not once a level: in the goroutine of each
// exchange, they made the stack grow, and be copied, as an answer was
// verified.
func (c *c14n) startTag(i int32) error {
	el := &c.d.nodes[i]
	// The namespaces the element visibly utilises: its own prefix and its
	// attributes' ("xml" is never declared).
	var used [8]string
	utilised := append(used[:0], el.prefix)
	var attrBuf [8]attr
	attrs := attrBuf[:0]
	for _, a := range c.d.attrsOf(i) {
		if a.prefix == "xmlns" || (a.prefix == "" && a.local == "xmlns") {
			continue
		}
		uri := ""
		if a.prefix != "" {
			var ok bool
			if a.prefix == "xml" {
				uri, ok = nsXML, true
			} else {
				uri, ok = lookup(c.scope, a.prefix)
			}
			if !ok {
				return fmt.Errorf("%w: undeclared namespace prefix %q", ErrMalformed, a.prefix)
			}
			if !slices.Contains(utilised, a.prefix) {
				utilised = append(utilised, a.prefix)
			}
		}
		attrs = append(attrs, attr{uri, a})
	}
	// Attributes sort by namespace URI (none first), then local name; two
	// with the same expanded name make the document not well-formed.
	slices.SortFunc(attrs, func(x, y attr) int {
		return cmp.Or(strings.Compare(x.uri, y.uri), strings.Compare(x.a.local, y.a.local))
	})
	for k := 1; k < len(attrs); k++ {
		if attrs[k].uri == attrs[k-1].uri && attrs[k].a.local == attrs[k-1].a.local {
			return fmt.Errorf("%w: attribute %s repeated", ErrMalformed, qname(attrs[k].a.prefix, attrs[k].a.local))
		}
	}
	// Declarations sort by prefix, the default one first.
	slices.Sort(utilised)
	c.out = append(c.out, '<')
	c.out = appendQName(c.out, el.prefix, el.local)
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
		c.out = appendQName(c.out, a.a.prefix, a.a.local)
		c.out = append(c.out, `="`...)
		c.out = appendEscaped(c.out, a.a.value, true)
		c.out = append(c.out, '"')
	}
	c.out = append(c.out, '>')
	return nil
}

// escapedText and escapedAttr are what canonical XML writes in text and
// in attribute values for each byte it escapes ("" for the others).
var escapedText, escapedAttr = func() (text, attr [256]string) {
	text['&'], text['<'], text['>'], text['\r'] = "&amp;", "&lt;", "&gt;", "&#xD;"
	attr['&'], attr['<'], attr['"'] = "&amp;", "&lt;", "&quot;"
	attr['\t'], attr['\n'], attr['\r'] = "&#x9;", "&#xA;", "&#xD;"
	return text, attr
}()

func appendQName(b []byte, prefix, local string) []byte {
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, ':')
	}
	return append(b, local...)
}

// appendEscaped escapes s as canonical XML does for an attribute value
// (attr) or for text: what needs no escaping is appended a run at a time.
func appendEscaped(b []byte, s string, attr bool) []byte {
	esc := &escapedText
	if attr {
		esc = &escapedAttr
	}
	for i := 0; i < len(s); i++ {
		j := i
		for j < len(s) && esc[s[j]] == "" {
			j++
		}
		b = append(b, s[i:j]...)
		if j == len(s) {
			break
		}
		b, i = append(b, esc[s[j]]...), j
	}
	return b
}
