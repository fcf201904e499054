package policy

import (
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// deniedBuiltins are built-ins that OPA does not mark non-deterministic but
// that reach outside the evaluation or leak what it sees: the network (every
// net.*, and request signing), the clock, randomness, identifiers, and
// output. Entries ending in "." deny a whole namespace.
var deniedBuiltins = []string{
	"http.send",
	"net.",
	"opa.runtime",
	"rand.",
	"uuid.",
	"time.now_ns",
	"trace",
	"print",
	"internal.print",
	"providers.aws.sign_req",
	// Verifying a certificate chain without a CurrentTime reads the clock.
	"crypto.x509.parse_and_verify_certificates",
	"crypto.x509.parse_and_verify_certificates_with_options",
	// These may fetch remote schemas or keys, or read the clock.
	"io.jwt.decode_verify",
	"json.match_schema",
	"json.verify_schema",
}

// PureCapabilities are OPA's capabilities restricted to pure built-ins: no
// network, clock, randomness, runtime or output, so a rule compiled with
// them computes only from its input. Rules that untrusted parties write
// (aid rules and their tests) are compiled with them. Each call returns a
// new value.
func PureCapabilities() *ast.Capabilities {
	c := ast.CapabilitiesForThisVersion()
	c.Builtins = slices.DeleteFunc(c.Builtins, func(b *ast.Builtin) bool {
		return b.Nondeterministic || denied(b.Name)
	})
	c.AllowNet = []string{}
	return c
}

// denied reports whether the built-in called name is kept out of
// PureCapabilities even though OPA does not mark it non-deterministic.
func denied(name string) bool {
	for _, d := range deniedBuiltins {
		if name == d || (strings.HasSuffix(d, ".") && strings.HasPrefix(name, d)) {
			return true
		}
	}
	return false
}
