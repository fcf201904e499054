package credentials_test

import (
	"testing"

	"github.com/obert-gov/obert/gateway/credentials"
	"github.com/obert-gov/obert/gateway/credentials/credentialstest"
)

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	credentialstest.RunStore(t, func(*testing.T) credentials.Store { return credentials.NewMemoryStore() })
}
