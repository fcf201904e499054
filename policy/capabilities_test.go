package policy

import (
	"context"
	"strings"
	"testing"
)

func TestPureCapabilities(t *testing.T) {
	t.Parallel()
	c := PureCapabilities()
	if c.AllowNet == nil || len(c.AllowNet) != 0 {
		t.Errorf("AllowNet = %v, want empty (no host)", c.AllowNet)
	}
	has := map[string]bool{}
	for _, b := range c.Builtins {
		has[b.Name] = true
		if b.Nondeterministic {
			t.Errorf("%s is non-deterministic", b.Name)
		}
	}
	for _, n := range []string{"http.send", "net.lookup_ip_addr", "net.cidr_contains", "opa.runtime", "rand.intn",
		"time.now_ns", "uuid.rfc4122", "uuid.parse", "trace", "print", "internal.print", "io.jwt.decode_verify",
		"crypto.x509.parse_and_verify_certificates", "json.match_schema", "providers.aws.sign_req"} {
		if has[n] {
			t.Errorf("%s is among the pure built-ins", n)
		}
	}
	// What the aid rules and the guard use stays.
	for _, n := range []string{"time.parse_ns", "time.diff", "substring", "count", "object.union", "object.get",
		"internal.member_2", "internal.test_case", "numbers.range", "walk"} {
		if !has[n] {
			t.Errorf("%s is missing", n)
		}
	}
}

// TestRegoTestsArePure: a test that calls an impure built-in does not
// compile, so it never runs.
func TestRegoTestsArePure(t *testing.T) {
	t.Parallel()
	for _, call := range []string{
		`http.send({"method": "GET", "url": "https://example.org/"})`,
		`net.lookup_ip_addr("example.org")`,
		`opa.runtime()`,
		`time.now_ns()`,
		`rand.intn("x", 10)`,
	} {
		mods := map[string]string{"x_test.rego": "package x_test\n\ntest_call if {\n\tx := " + call + "\n\tx\n}\n"}
		rep, err := RunRegoTests(context.Background(), mods, nil)
		name := call[:strings.Index(call, "(")]
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: passed %d, failures %v, err %v; want a compile error naming it", name, rep.Passed, rep.Failures, err)
		}
	}
}
