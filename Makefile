# Metascope: the two set-up commands of the README are `make demo` and `make test`.
export PATH := $(PATH):/usr/local/go/bin

GO ?= go
BIN := bin/metascope
DEMO_WORKSPACE ?= $(HOME)/.metascope/demo

.PHONY: setup build demo test bench vet

setup:
	@bash scripts/setup-debian.sh

build: setup
	$(GO) build -o $(BIN) .

# Opens the workstation on a demo workspace of phantom cases (made on first run).
demo: build
	$(BIN) demo --workspace $(DEMO_WORKSPACE)

# The whole test suite, GUI smoke test included (under a virtual X server).
test:
	@bash scripts/setup-debian.sh --test
	$(GO) vet ./... early.init/langenv
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	xvfb-run -a -s "-screen 0 1600x1000x24" $(GO) test -timeout 30m ./... early.init/langenv

# Benchmarks of the hot paths (short runs; see the README for the figures).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...
