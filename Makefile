# ansflow — see README.md. Every target that needs Docker or Kubernetes
# starts them itself (hack/deps.sh installs what is missing, as root).
GO      ?= go
BIN     ?= bin/ansflow
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/ansflow/ansflow/cmd.Version=$(VERSION)

.PHONY: all build install test test-unit vet fmt demo services services-down bench docs fuzz reliability

all: build

build: ## build bin/ansflow
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ansflow

install: ## install ansflow into $GOBIN
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/ansflow

test: ## the whole suite against real Docker, a real registry and a real control plane
	hack/test.sh

test-unit: ## the tests that need no services (integration tests skip locally)
	$(GO) test ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

fmt:
	gofmt -w $$(git ls-files '*.go')

demo: build ## the main job: apply examples/seed against the real services
	hack/demo.sh

services: ## start dockerd, the loopback registries and the test control plane
	hack/deps.sh
	hack/docker-up.sh
	hack/testenv/up.sh >/dev/null

services-down:
	-hack/testenv/down.sh
	-hack/docker-down.sh

bench: ## benchmark table (bench/README.md)
	bench/run.sh

docs: ## regenerate docs/reference from the schemas
	$(GO) generate ./...

reliability: ## the hostile probe: cases tried and breaks found per promise, largest input per limit (ANSFLOW_LONG=1: long run)
	GO=$(GO) hack/reliability.sh

fuzz: ## run every fuzz target for FUZZTIME each (default 1m)
	hack/fuzz.sh
