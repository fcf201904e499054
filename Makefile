# Obert. The two commands: `make run` and `make test`.
#
# Everything the tests need is installed and started here, so that a fresh
# machine (and CI) needs nothing by hand: PostgreSQL is started when it is
# down, Chromium comes from Debian, axe-core and Lighthouse from npm,
# staticcheck from the Go module proxy.

SHELL       := /bin/bash
.SHELLFLAGS := -euo pipefail -c
GO          ?= go
CACHE       := $(CURDIR)/.cache
AXE_VERSION := 4.14.1
AXE         := $(CACHE)/npm/node_modules/axe-core/axe.min.js
# Google's Lighthouse (12.2.3 runs on Node 18.16 and later), pinned so that
# scores do not move with its releases; the stamp names the version, so
# changing it installs again.
LIGHTHOUSE_VERSION := 12.2.3
LIGHTHOUSE  := $(CACHE)/npm/node_modules/.bin/lighthouse
LIGHTHOUSE_STAMP := $(CACHE)/npm/.lighthouse-$(LIGHTHOUSE_VERSION)
# The OpenWallet Foundation's SD-JWT VC implementation, an independent
# verifier of Obert's credentials; 0.20.0 wants a pre-release npm lacks.
SDJWT_VERSION := 0.19.0
SDJWT       := $(CACHE)/npm/node_modules/@sd-jwt/crypto-nodejs/package.json
CHROMIUM    ?= /usr/bin/chromium
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
INTEROP     := $(CACHE)/interop
# Identity providers we did not write, run by the interop tests as separate
# processes: zitadel's example OpenID provider and crewjam/saml's example IdP.
ZITADEL_OP  := github.com/zitadel/oidc/v3/example/server@v3.52.0
CREWJAM_IDP := github.com/crewjam/saml/example/idp@v0.6.3
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
TEST_FLAGS  ?= -race -count=1 -timeout 15m
# Each fuzz target runs a number of executions rather than a duration: Go
# 1.26's fuzzing coordinator can fail a run that ends on a deadline with
# "context deadline exceeded" and no failing input (go.dev/issue/75804,
# fixed in Go 1.27), and a count has no deadline to race. The counts take
# about ten seconds each on two cores; FUZZTIME overrides them all (a count
# such as 5000000x, or a duration).
FUZZTIME    ?=
FUZZ_CLAVE  ?= 8000x
FUZZ_TILES  ?= 50000x
FUZZ_BUNDLE ?= 300000x
FUZZ_SCSP   ?= 40000x
FUZZ_C14N   ?= 150000x
FUZZ_XMLSCAN ?= 150000x
FUZZ_ENVBODY ?= 100000x
FUZZ_DECODE  ?= 100000x
FUZZ_DATA    ?= 60000x
FUZZ_GUARD   ?= 40000x
# Shrinking a large new XML input may otherwise take a minute of a short run.
FUZZMIN     ?= 2s

export OBERT_TEST_POSTGRES := $(PG_TEST_URL)
export OBERT_INTEROP_BIN   := $(INTEROP)/bin
export OBERT_REQUIRE_XMLSEC := 1
export OBERT_SDJWT_NODE_MODULES := $(CACHE)/npm/node_modules
export OBERT_REQUIRE_SDJWT := 1
export OBERT_REQUIRE_PDFSIG := 1
# SCSP requests are signed through the system's libcrypto (OpenSSL 3).
export OBERT_REQUIRE_LIBCRYPTO := 1
# Vault (BUSL-1.1) is built from the module proxy for tests only, never
# shipped; a cold build takes about 11 minutes, then it is cached.
VAULT_BIN   ?= $(HOME)/.cache/obert/bin/vault
export OBERT_VAULT_BIN     := $(VAULT_BIN)
export OBERT_REQUIRE_VAULT := 1

.PHONY: run build test unit e2e bench bench-once soak fuzz lint fmt migrate deps deps-pg deps-e2e deps-interop deps-xmlsec deps-vault deps-sdjwt deps-poppler clean help

help:
	@echo "make run     start Obert in development mode on http://127.0.0.1:8080"
	@echo "make test    run every test (SQLite, PostgreSQL, browser), installing what they need"
	@echo "make e2e     run only the browser tests (journeys and Lighthouse)"
	@echo "make bench   run the benchmarks"
	@echo "make bench-once  every benchmark once, small (-short): they still run"
	@echo "make soak    mixed citizen traffic on gatewayd for SOAKTIME (default 5m, at most 5m)"
	@echo "make fuzz    run every fuzz target (about 10s each; FUZZTIME=5000000x for longer)"
	@echo "make lint    gofmt, go vet and staticcheck"
	@echo "make build   build the commands into ./bin"
	@echo "make migrate apply migrations to OBERT_DATABASE_URL"

## run: development mode, SQLite under ./.data, dev sign-in and Via Oberta simulator.
run:
	$(GO) run ./cmd/gatewayd -mode dev

build:
	$(GO) build -trimpath -o bin/ ./cmd/...

## test: every test, on both databases and in a real browser. Lighthouse
## runs on its own once the rest is done: its performance score is timed on
## the machine's processors (Total Blocking Time, Speed Index), and beside
## the race-detecting suite on two cores it measured that suite's load, not
## the pages (0.91-0.94 for pages that score 0.98-1.00 alone). Then every
## fuzz target, and every benchmark once.
test: deps
	OBERT_E2E=1 OBERT_CHROMIUM=$(CHROMIUM) OBERT_AXE=$(AXE) OBERT_LIGHTHOUSE=$(LIGHTHOUSE) $(GO) test $(TEST_FLAGS) -skip '^TestLighthouse$$' ./...
	OBERT_E2E=1 OBERT_CHROMIUM=$(CHROMIUM) OBERT_AXE=$(AXE) OBERT_LIGHTHOUSE=$(LIGHTHOUSE) $(GO) test $(TEST_FLAGS) -run '^TestLighthouse$$' ./gateway/
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory bench-once

## fuzz: every fuzz target for its count of executions, or FUZZTIME each
## (FUZZTIME=5000000x for a long run), one after the other, since go test
## fuzzes one target at a time: the SAML response, the public log's tile
## paths, the citizen's proof bundle, the SCSP response, the exclusive
## canonicalisation against goxmldsig's, the strict XML reader against
## etree's, the Body a request signs against the tree that built it,
## decoding a payload, and a service's specific data, from scan's nodes
## against encoding/xml, and the guard's native decisions against OPA's.
## Each corpus is committed under its package's testdata/fuzz.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzClaveVerify$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_CLAVE)) -fuzzminimizetime $(FUZZMIN) ./gateway/signin/
	$(GO) test -run '^$$' -fuzz '^FuzzTilePath$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_TILES)) -fuzzminimizetime $(FUZZMIN) ./gateway/transparency/
	$(GO) test -run '^$$' -fuzz '^FuzzProofBundle$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_BUNDLE)) -fuzzminimizetime $(FUZZMIN) ./audit/
	$(GO) test -run '^$$' -fuzz '^FuzzSCSPParse$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_SCSP)) -fuzzminimizetime $(FUZZMIN) ./connectors/scsp/
	$(GO) test -run '^$$' -fuzz '^FuzzC14N$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_C14N)) -fuzzminimizetime $(FUZZMIN) ./connectors/scsp/
	$(GO) test -run '^$$' -fuzz '^FuzzXMLScan$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_XMLSCAN)) -fuzzminimizetime $(FUZZMIN) ./connectors/scsp/
	$(GO) test -run '^$$' -fuzz '^FuzzEnvelopeBody$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_ENVBODY)) -fuzzminimizetime $(FUZZMIN) ./connectors/scsp/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_DECODE)) -fuzzminimizetime $(FUZZMIN) ./connectors/scsp/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeData$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_DATA)) -fuzzminimizetime $(FUZZMIN) ./connectors/scsp/
	$(GO) test -run '^$$' -fuzz '^FuzzNativeGuard$$' -fuzztime $(or $(FUZZTIME),$(FUZZ_GUARD)) -fuzzminimizetime $(FUZZMIN) ./policy/

## unit: tests that need no browser (PostgreSQL still required).
unit: deps-pg deps-interop deps-xmlsec deps-vault deps-sdjwt deps-poppler
	$(GO) test $(TEST_FLAGS) ./...

e2e: deps
	OBERT_E2E=1 OBERT_CHROMIUM=$(CHROMIUM) OBERT_AXE=$(AXE) OBERT_LIGHTHOUSE=$(LIGHTHOUSE) $(GO) test -count=1 -run 'TestE2E|TestLighthouse' -v ./gateway/...

## soak: gatewayd under mixed citizen traffic at a fixed concurrency on
## loopback, reporting requests/s, errors, p99 and resident memory growth.
SOAKTIME    ?= 5m
soak:
	SOAKTIME=$(SOAKTIME) $(GO) test -count=1 -run '^$$' -bench '^BenchmarkSoak$$' -benchtime 1x -timeout 15m ./gateway/

bench: deps-pg
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -count=1 ./...

## bench-once: every benchmark once on small inputs (-short: the pipeline on
## SQLite only, a sweep of 2,000, a soak of 5 s), so that a benchmark that
## no longer runs fails make test rather than the next make bench. Their
## figures mean nothing here.
bench-once: deps-pg
	$(GO) test -p 1 -short -run '^$$' -bench . -benchtime 1x -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

migrate:
	$(GO) run ./cmd/gatewayctl migrate

deps: deps-pg deps-e2e deps-interop deps-xmlsec deps-vault deps-sdjwt deps-poppler

## deps-vault: a real Vault server for the integration tests (each test
## package starts its own dev server on a free loopback port).
deps-vault:
	@$(VAULT_BIN) version 2>/dev/null | grep -q '^Vault v1.21.4,' || .ci/vault-build.sh $(VAULT_BIN)

## deps-xmlsec: Debian's xmlsec1, the independent XML-DSig implementation the
## SCSP signature tests check ours against.
deps-xmlsec:
	@if ! command -v xmlsec1 >/dev/null; then \
		echo "installing Debian's xmlsec1"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get install -y -q xmlsec1 >/dev/null || { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q xmlsec1 >/dev/null; }; \
	fi
	@command -v xmlsec1 >/dev/null || { echo "xmlsec1 is missing" >&2; exit 1; }

## deps-poppler: Debian's poppler-utils, whose pdfsig and pdftotext check the
## signed documents citizens get.
deps-poppler:
	@if ! command -v pdfsig >/dev/null; then \
		echo "installing Debian's poppler-utils"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get install -y -q poppler-utils >/dev/null || { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q poppler-utils >/dev/null; }; \
	fi
	@command -v pdfsig >/dev/null || { echo "pdfsig is missing" >&2; exit 1; }

## deps-interop: the independent identity providers, built from the module proxy.
deps-interop: $(INTEROP)/bin/server $(INTEROP)/bin/idp

$(INTEROP)/bin/server:
	GOBIN=$(INTEROP)/bin $(GO) install $(ZITADEL_OP)

$(INTEROP)/bin/idp:
	GOBIN=$(INTEROP)/bin $(GO) install $(CREWJAM_IDP)

## deps-pg: the local PostgreSQL must answer; start it if it is down.
deps-pg:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		echo "PostgreSQL is down: starting it"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
		for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi
	@pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL at 127.0.0.1:5432 is not reachable: the PostgreSQL tests cannot run" >&2; exit 1; }

## deps-e2e: Debian's Chromium, axe-core and Lighthouse for the browser tests.
deps-e2e: $(AXE) $(LIGHTHOUSE_STAMP)
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing Debian's chromium"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get install -y -q chromium >/dev/null || { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; }; \
	fi
	@test -x $(CHROMIUM) || { echo "Chromium is missing at $(CHROMIUM)" >&2; exit 1; }

$(AXE):
	mkdir -p $(CACHE)/npm
	npm install --silent --no-audit --no-fund --prefix $(CACHE)/npm axe-core@$(AXE_VERSION)

$(LIGHTHOUSE_STAMP):
	mkdir -p $(CACHE)/npm
	npm install --silent --no-audit --no-fund --save-exact --prefix $(CACHE)/npm lighthouse@$(LIGHTHOUSE_VERSION)
	$(LIGHTHOUSE) --version | grep -qx '$(LIGHTHOUSE_VERSION)'
	touch $@

## deps-sdjwt: sd-jwt-js, the verifier gateway/credentials' interop test runs.
deps-sdjwt: $(SDJWT)

$(SDJWT):
	mkdir -p $(CACHE)/npm
	npm install --silent --no-audit --no-fund --prefix $(CACHE)/npm @sd-jwt/sd-jwt-vc@$(SDJWT_VERSION) @sd-jwt/crypto-nodejs@$(SDJWT_VERSION) @sd-jwt/jwt-status-list@$(SDJWT_VERSION)

clean:
	rm -rf bin .data/e2e
