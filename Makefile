# The README's two commands: `make demo` and `make test`. CI runs `make test`
# through .ci/run.

GO  ?= go
NPM ?= npm
# Flags for the demo, for example: make demo ARGS="-addr 127.0.0.1:9090 -token secret"
ARGS ?=

# npm writes node_modules/.package-lock.json on every install: it is our
# marker that web/node_modules matches web/package-lock.json.
WEB := web/node_modules/.package-lock.json

.PHONY: demo test vet fmt-check staticcheck bench web

## demo: install the web packages if needed, then run the demo shop and dashboard
demo: $(WEB)
	$(GO) run ./examples/demo $(ARGS)

## test: vet, gofmt check, staticcheck, and every test with the race detector (browser tests included)
test: $(WEB) vet fmt-check staticcheck
	$(GO) test -race -timeout 30m ./...

vet:
	$(GO) vet ./...

# staticcheck is pinned so that a new release cannot turn CI red on its own.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck:
	$(GO) run $(STATICCHECK) ./...

fmt-check:
	@files=$$(gofmt -l $$(find . -name '*.go' -not -path './web/*' -not -path './.git/*')); \
	if [ -n "$$files" ]; then echo "gofmt wants to change:"; echo "$$files"; exit 1; fi

## bench: the ingest benchmark on the corpus (internal/bench), then the Go benchmarks (each with its baseline), no tests
bench:
	$(GO) run ./internal/bench
	$(GO) test -run '^$$' -bench . -benchmem ./...

## web: install web/node_modules from web/package-lock.json
web: $(WEB)

$(WEB): web/package.json web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund
	@touch $@
