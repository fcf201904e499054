package exchange_test

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/exchange"
)

// TestNewIDSortsByTime: ids are as long as before (an SCSP IdPeticion
// among them), unique, and one made in a later millisecond sorts after.
func TestNewIDSortsByTime(t *testing.T) {
	form := regexp.MustCompile(`^ex_[0-9A-V]{26}$`)
	seen := map[string]bool{}
	var ids []string
	for i := range 3000 {
		if i%1000 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		id := exchange.NewID()
		if !form.MatchString(id) {
			t.Fatalf("id %q is not of the form ex_ and 26 base32hex characters", id)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	// Across the sleeps, every id sorts after every one made before.
	for _, cut := range []int{1000, 2000} {
		if slices.Max(ids[:cut]) >= slices.Min(ids[cut:]) {
			t.Fatalf("an id made %d ids later sorts before an earlier one", cut)
		}
	}
	before, after := exchange.NewID(), ""
	time.Sleep(2 * time.Millisecond)
	after = exchange.NewID()
	if after <= before {
		t.Fatalf("%s made after %s sorts before it", after, before)
	}
}
