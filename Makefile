# Switchboard — the two commands a new machine needs are `make run` and `make test`.
SHELL := /bin/bash
GO := $(shell scripts/ensure-go.sh)
BIN := bin/switchboard
space := $(subst ,, )
export GOFLAGS ?= -buildvcs=false

.PHONY: run test build bench vet fmt-check deps run-deps models test-containers test-faults

build:
	$(GO) build -o $(BIN) ./cmd/switchboard

# Installs what serve needs when missing (PostgreSQL and the media libraries as root, ONNX
# Runtime and libvosk under .deps/), trains redaction's name and address tagger into
# ./data/pii-tagger.bin (about two seconds) and the knowledge base's paraphrase encoder into
# ./data/paraphrase.bin the first time (about a minute and a half on two cores, from
# WordNet and the shared data found beside the checkout; none found: lexical), then serves on :8080 with an embedded PostgreSQL
# under ./data/pg and an in-process Redis. Nothing is fetched when it is already there,
# so it starts offline, and a failed install or fetch never stops it: what is missing
# stays off and `switchboard doctor` says so.
run: run-deps build
	@./$(BIN) kb train --if-missing || echo "run: no paraphrase encoder; the knowledge base answers lexically (see switchboard doctor)"
	@./$(BIN) pii train --if-missing >/dev/null || echo "run: no name and address tagger; redaction finds names and addresses by their cues alone (see switchboard doctor)"
	@scripts/fetch-sentiment-data.sh >/dev/null; ./$(BIN) quality train --if-missing || echo "run: no sentiment model; quality inspection uses its rules alone (see switchboard doctor)"
	./$(BIN) serve

# Vet, format check and every test against real PostgreSQL and Redis (the
# running ones, or private instances the test helper starts). The concurrent packages
# run under the race detector, the rest without it; both runs always go, and either
# failing fails the target. The server tests (gateway, tickets, cmd/switchboard) also
# fail when a goroutine outlives them (goleak).
RACE_PKGS := gateway tickets models asr kb
test: deps fmt-check vet
	@status=0; \
	$(GO) test -count=1 -timeout 25m -race $(addsuffix /...,$(addprefix ./,$(RACE_PKGS))) || status=1; \
	$(GO) test -count=1 -timeout 25m $$($(GO) list ./... | grep -vE '/switchboard/($(subst $(space),|,$(RACE_PKGS)))(/|$$)') || status=1; \
	(cd deploy && $(GO) test -count=1 ./...) || status=1; \
	exit $$status

# What serve needs: the PostgreSQL server binaries and the media libraries (as root, when
# missing), and ONNX Runtime's and Vosk's shared libraries under .deps/ (from the npm
# registry, when missing). Never fails: serve and `switchboard doctor` report what is off.
run-deps:
	@scripts/install-test-deps.sh --run || echo "deps: some packages serve uses are missing (see switchboard doctor)"
	@scripts/fetch-onnxruntime.sh >/dev/null || echo "deps: no ONNX Runtime; the ONNX stages stay off (see switchboard doctor)"
	@scripts/fetch-vosk.sh >/dev/null || echo "deps: no libvosk; the Vosk engine stays off (see switchboard doctor)"

# Everything run-deps installs, plus what only the tests need: redis-server, the speech
# tools, Chromium with Node.js and a CJK font (as root, when missing), and playwright-core
# for the browser tests (web/e2e, from the npm registry).
deps: run-deps
	@scripts/install-test-deps.sh
	@scripts/fetch-e2e.sh || echo "deps: no playwright-core; the browser tests of the web pages skip (fail with CI=true)"
	@scripts/fetch-sentiment-data.sh >/dev/null || echo "deps: no English sentiment sentences; nlp/sentiment's tests fetch them or skip (fail with CI=true)"

# The container images and the compose stack, built and run for real with podman (as CI
# does after `make test`): installs podman, runc, podman-compose and debootstrap when
# missing (as root), makes local stand-ins for the base images (no registry is needed;
# kept between runs), builds deploy/Dockerfile's slim and full images, runs them
# read-only, starts PostgreSQL, Redis and two replicas with podman-compose (a customer's
# message on one replica reaches an agent's WebSocket on the other) and the Deployment
# with podman play kube (as the chart renders it). About 4 minutes the first time here
# (stand-ins 1 min 12 s, cold image builds 2 min 20 s), then under a minute.
test-containers:
	@scripts/install-container-deps.sh
	cd deploy && SWITCHBOARD_CONTAINER_TEST=1 $(GO) test -count=1 -timeout 45m -v -run 'TestContainers|TestComposeFile' .

# The fault scenarios of issue 20 (docs/benchmarks.md, "Faults"): 3 serve replicas as
# processes on one PostgreSQL and one Redis under load, a fault each (none, kill -9,
# SIGTERM, PostgreSQL restarted, a read standby stopped, Redis stopped, a Redis Cluster
# master killed, a model swap and an FAQ update, the Telegram API down for 10 minutes, a
# 10-minute soak at 300 turns/s), then the invariant checker; each logs its row of the
# table. Not part of `make test`. SWITCHBOARD_FAULT_SECONDS sets the load's length
# (default 30), SWITCHBOARD_SOAK_DURATION the soak's (default 10m),
# SWITCHBOARD_FAULT_CHANNEL_DOWN the outage's (default 10m).
test-faults: deps
	SWITCHBOARD_FAULT_TEST=1 $(GO) test -count=1 -timeout 60m -v -run '^TestFault' ./cmd/switchboard/

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$($(dir $(GO))gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench: build
	./$(BIN) bench routing --json

# ResNet50 (torchvision architecture, random weights) exported to ONNX with Debian's
# PyTorch into the model repository: ./data/models/resnet50/1, or MODELS_DIR=…
# Installs python3-torch/python3-torchvision first when missing (as root). Then the
# knowledge base's paraphrase encoder, as `make run` does.
models: build
	@scripts/make-models.sh
	./$(BIN) kb train --if-missing
	./$(BIN) pii train --if-missing
	@scripts/fetch-sentiment-data.sh >/dev/null; ./$(BIN) quality train --if-missing || echo "run: no sentiment model; quality inspection uses its rules alone (see switchboard doctor)"

# Every fuzz target (found by grep, so new ones join) for FUZZTIME each, one after
# another; prints the total fuzz time and the crashes (any crash fails). A crash's input
# is kept under the package's testdata/fuzz/, which `go test` replays from then on.
# FUZZ=regexp picks targets; FUZZPARALLEL=n sets the workers per target.
FUZZTIME ?= 20s
FUZZ ?= .
.PHONY: fuzz
fuzz:
	@GO=$(GO) FUZZTIME=$(FUZZTIME) FUZZ='$(FUZZ)' FUZZPARALLEL=$(FUZZPARALLEL) scripts/fuzz.sh
