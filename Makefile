# Tracer's build and test entry points. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
GOBIN := $(shell $(GO) env GOPATH)/bin
STATICCHECK := $(GOBIN)/staticcheck
PKGS := ./...

.PHONY: all build test deps lint vet fmt-check unit race bench fuzz clean

all: build

build:
	$(GO) build -o bin/tracer ./cmd/tracer

## test: everything CI checks: formatting, vet, staticcheck, the race-enabled
## test suite with the real ClickHouse server and chdb required.
test: deps fmt-check vet lint race

## deps: install what the tests need when it is missing (idempotent).
deps:
	./scripts/test-deps.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

lint:
	$(STATICCHECK) $(PKGS)

# TRACER_REQUIRE_CLICKHOUSE makes ClickHouse tests fail instead of skip when
# the server or chdb is missing.
race:
	TRACER_REQUIRE_CLICKHOUSE=1 $(GO) test -race -count=1 -timeout 40m $(PKGS)

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
