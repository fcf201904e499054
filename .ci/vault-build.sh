#!/usr/bin/env bash
# Builds HashiCorp Vault from the Go module proxy for the integration tests
# (a real dev server on loopback). Usage: vault-build.sh [OUTPUT_BINARY]
# (default: $OBERT_CACHE/bin/vault; OBERT_CACHE defaults to ~/.cache/obert).
# Idempotent: does nothing when the binary already reports the pinned version.
set -euo pipefail
VAULT_VERSION=v1.21.4
CACHE="${OBERT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/obert}"
BIN="${1:-$CACHE/bin/vault}"
if [ -x "$BIN" ] && "$BIN" version 2>/dev/null | grep -q "^Vault ${VAULT_VERSION},"; then
  echo "vault ${VAULT_VERSION} already at $BIN"; exit 0
fi
W="$CACHE/vaultbuild"
rm -rf "$W"; mkdir -p "$W" "$(dirname "$BIN")"; cd "$W"
export GOFLAGS=-buildvcs=false GOWORK=off
cat > main.go <<'EOF'
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() { os.Exit(command.Run(os.Args[1:])) }
EOF
cat > go.mod <<EOF
module vaultbuild

go 1.25.3

replace github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3

replace github.com/ma314smith/signedxml v1.1.1 => github.com/moov-io/signedxml v1.1.1
EOF
go get "github.com/hashicorp/vault@${VAULT_VERSION}"
go mod vendor -e
# vault v1.21.x ships a private ./sdk that differs from every published sdk tag; it is
# built here against sdk v0.21.0 (what its go.mod requires), which needs 3 call-site fixes.
V=vendor/github.com/hashicorp/vault
sed -i 's/ActivationFunc: iStore.activateDeduplication,/ActivationFunc: func(ctx context.Context, req *logical.Request, _ string) error { return iStore.activateDeduplication(ctx, req) },/' $V/vault/identity_store.go
sed -i 's/b.idStoreBackend.ActivationFunc(ctx, nil)/b.idStoreBackend.ActivationFunc(ctx, nil, "")/' $V/vault/logical_system_activation_flags.go
sed -i 's/restoredKeyName, err := b.lm.RestorePolicy(/restoredKeyName, err := keyName, b.lm.RestorePolicy(/' $V/builtin/logical/transit/path_restore.go
grep -q '_ string) error { return iStore.activateDeduplication' $V/vault/identity_store.go
grep -q 'ActivationFunc(ctx, nil, "")' $V/vault/logical_system_activation_flags.go
grep -q 'keyName, b.lm.RestorePolicy(' $V/builtin/logical/transit/path_restore.go
# -tags minimal: Vault's own minimal build (kv, transit, pki, ssh, approle, userpass, cert, jwt).
go build -mod=vendor -tags minimal -trimpath -ldflags='-s -w' -o "$BIN.tmp" .
mv "$BIN.tmp" "$BIN"
cd / && rm -rf "$W"
"$BIN" version
