# My Care Record. `make run` and `make test` do all their own set-up on a fresh Debian machine.
export GOTOOLCHAIN := local
export CGO_ENABLED := 1
GO      ?= go
TAGS    := -tags sqlite_fts5
BIN     := bin/portal
PKGS     = $(shell $(GO) list $(TAGS) ./... | grep -v '/e2e$$')

.PHONY: run build deps tools test fmt-check vet templ-check unit e2e bench load generate clean screenshots

run: build
	./$(BIN) serve --demo --db data/portal.db

build: deps
	$(GO) build $(TAGS) -o $(BIN) ./cmd/portal

## deps: Go modules, and the npm packages the portal serves (nhsuk-frontend) and tests with (axe-core).
deps: static/node_modules/.installed e2e/fhirserver/node_modules/.installed
	$(GO) mod download

static/node_modules/.installed: static/package.json static/package-lock.json
	@command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	cd static && npm ci --no-audit --no-fund
	touch $@

## The real FHIR server the sync tests run against (Medplum's FHIR router, test only).
e2e/fhirserver/node_modules/.installed: e2e/fhirserver/package.json e2e/fhirserver/package-lock.json
	@command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	cd e2e/fhirserver && npm ci --no-audit --no-fund
	touch $@

## tools: Chromium for the end-to-end tests.
tools:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

test: deps tools fmt-check vet templ-check unit e2e

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './static/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: deps
	$(GO) vet $(TAGS) ./...

## templ-check fails when the committed _templ.go files are not what `templ generate` makes.
templ-check:
	$(GO) tool templ generate -include-version=false -check -path views

generate:
	$(GO) tool templ generate -include-version=false -path views

unit: deps
	$(GO) test $(TAGS) -count=1 $(PKGS)

e2e: deps tools
	$(GO) test $(TAGS) -count=1 -v ./e2e/

## screenshots: the README's pictures, taken by the browser tests.
screenshots: deps tools
	SCREENSHOTS_DIR=$(CURDIR)/e2e/screenshots $(GO) test $(TAGS) -count=1 -run TestScreenshots ./e2e/

bench: deps
	$(GO) test $(TAGS) -run '^$$' -bench . -benchmem -v $(PKGS)

## load: the real binary under 200 signed-in sessions on a 10,000-person population (see README).
load: build
	PORTAL_LOAD=1 PORTAL_BIN=$(CURDIR)/$(BIN) $(GO) test $(TAGS) -count=1 -timeout 30m -v -run TestLoad ./e2e/load/

clean:
	rm -rf bin data
