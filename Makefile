# Tracer's build and test entry points. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
STATICCHECK := $(GOBIN)/staticcheck
PKGS := ./...

.PHONY: all build test deps lint vet fmt-check unit race bench fuzz clean ui demo

all: build

build: ui
	$(GO) build -o bin/tracer ./cmd/tracer

## ui: build the web UI into ui/dist (embedded by the next go build); npm ci
## only when package-lock.json changed. A failed build leaves ui/dist empty.
ui:
	@./scripts/ui-deps.sh
	@if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then \
	  echo "npm ci in ui/"; (cd ui && npm ci --no-audit --no-fund --loglevel=error); fi
	@# A failed build must not leave the previous build behind for the next
	@# go build or hand-run test to embed: empty ui/dist (but .gitkeep) first.
	@find ui/dist -mindepth 1 ! -name .gitkeep -delete
	cd ui && npm run --silent build

## demo: build bin/tracer with the UI, then run the all-in-one with the
## example services and traffic (Ctrl-C stops everything). The binary, not
## go run, so that Ctrl-C ends it with its own exit status.
demo: build
	./bin/tracer all-in-one --demo

## test: everything CI checks: formatting, vet, staticcheck, the UI build,
## the race-enabled test suite with the real ClickHouse server, chdb and the
## browser tests (Chromium) required.
test: deps fmt-check ui vet lint race

## deps: install what the tests need when it is missing (idempotent).
deps:
	./scripts/test-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

lint:
	$(STATICCHECK) $(PKGS)

# TRACER_REQUIRE_CLICKHOUSE, TRACER_REQUIRE_UI and TRACER_REQUIRE_OTELCOL make
# the ClickHouse, browser and OpenTelemetry Collector interop tests fail
# instead of skip when the server, chdb, Chromium, the UI build or the
# Collector with Kafka (scripts/otelcol-kafka.sh, built by make deps) is missing.
race:
	TRACER_REQUIRE_CLICKHOUSE=1 TRACER_REQUIRE_UI=1 TRACER_REQUIRE_OTELCOL=1 \
	TRACER_OTELCOL_KAFKA=$$(TOOLS=$(GOBIN) ./scripts/otelcol-kafka.sh) $(GO) test -race -count=1 -timeout 40m $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## fuzz: run every fuzz target for FUZZTIME each (the seed corpora already
## run in `make test`).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
