package store_test

import (
	"testing"

	"github.com/obert-gov/obert/gateway/activity"
	"github.com/obert-gov/obert/gateway/activity/activitytest"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

func TestActivityStore(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			activitytest.RunStore(t, func(t *testing.T) activity.Store { return b.Open(t) })
		})
	}
}
