# Backorders - every entry point. Each target installs what it needs itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python 3.12 (the Lambda runtime in template.yaml): pyenv's if present, else one on PATH.
PYTHON312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12.*/bin/python3.12) $(shell command -v python3.12 2>/dev/null))
TOOLS     := .tools
UV        := $(TOOLS)/bin/uv
VENV      := .venv
BIN       := $(VENV)/bin
# `sam build` looks for `python3.12` on PATH only: it gets the directory of the one above first.
SAM       = PATH="$(abspath $(dir $(PYTHON312))):$$PATH" $(BIN)/sam
export UV_PYTHON := $(PYTHON312)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export SAM_CLI_TELEMETRY := 0
# Tests, benchmarks and the local cloud never talk to AWS: they get dummy credentials
# (environment keys win over any profile), so a real login is never used, and a region if
# the shell sets none (sam build and validate want one too). `make deploy` and
# `make apikey STACK=...` are left with the shell's credentials and region (or profile's).
LOCAL_TARGETS := run test unit integration e2e bench soak
$(LOCAL_TARGETS): export AWS_ACCESS_KEY_ID = testing
$(LOCAL_TARGETS): export AWS_SECRET_ACCESS_KEY = testing
$(LOCAL_TARGETS) build build-host check-template: export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help setup run test lint typecheck unit integration e2e check-template checkov build build-host requirements bench soak deploy apikey clean

help:
	@echo "make run     start the local cloud with a demo catalogue (Ctrl-C stops it)"
	@echo "make test    lint, type-check, all tests and the template checks"
	@echo "make bench   benchmarks, written to docs/benchmarks.md"
	@echo "make build   sam build for Lambda (arm64), precompiled, into $(BUILD_DIR)"
	@echo "make deploy  make build + sam deploy --guided (needs AWS credentials)"
	@echo "make apikey SHOP=name [STACK=name]   a shop's API key: the local cloud's, or a stack's on AWS"

$(UV):
	@test -n "$(PYTHON312)" || { echo "Python 3.12 is required (pyenv install 3.12 or your package manager)"; exit 1; }
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

$(BIN)/python: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	@touch $(BIN)/python

setup: $(BIN)/python

run: setup
	PYTHONPATH=infra:layers/shared $(BIN)/python -m localcloud --seed demo $(ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest tests/integration

e2e: setup
	$(BIN)/pytest tests/e2e

check-template: setup
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml

# checkov pins its own boto3: it runs in its own tool environment, never the project venv.
# Pinned so a new checkov release cannot add checks to CI unannounced (bump it on purpose).
# --skip-download: no call to the Prisma Cloud API (offline; no guideline links needed).
CHECKOV_VERSION ?= 3.3.30
checkov: $(UV)
	$(UV) tool run --quiet --from 'checkov==$(CHECKOV_VERSION)' checkov --quiet --compact --skip-download -f template.yaml --framework cloudformation

# ---------------------------------------------------------------- the Lambda build
# The layer installs layers/shared/requirements.txt, which is uv.lock's export (committed, so
# that a plain `sam build` builds the same; `make requirements` rewrites it, and the build and
# tests/unit/test_build.py refuse a stale one). Then every .py of the build is compiled with the
# runtime's Python: /opt and /var/task are read-only on Lambda, so bytecode that is not shipped
# is compiled again at every cold start. unchecked-hash: a deployed artifact's source never
# changes, so the bytecode is used without looking at the source (no mtime to go wrong).
BUILD_DIR   := .aws-sam/build
HOST_DIR    := .aws-sam/host
LOCK_EXPORT  = $(UV) export --frozen --no-dev --no-hashes --quiet
PRECOMPILE   = $(PYTHON312) -m compileall -q -j 0 --invalidation-mode unchecked-hash

requirements: $(UV)
	$(LOCK_EXPORT) > layers/shared/requirements.txt

define check_requirements
	@diff <($(LOCK_EXPORT) | grep -v '^ *#') <(grep -v '^ *#' layers/shared/requirements.txt) >/dev/null || \
		{ echo "layers/shared/requirements.txt is not uv.lock's export: run make requirements"; exit 1; }
endef

build: setup
	$(check_requirements)
	$(SAM) build --template template.yaml --config-file $(CURDIR)/infra/samconfig.toml
	$(PRECOMPILE) $(BUILD_DIR)

# The same build for this machine's architecture (the benchmark imports it; pydantic_core's
# aarch64 library does not load on x86_64): template.yaml with arm64 replaced, same lock,
# same post-processing.
HOST_ARCH := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
build-host: setup
	$(check_requirements)
	mkdir -p $(HOST_DIR)
	sed 's/arm64/$(HOST_ARCH)/g' template.yaml > $(HOST_DIR)/template.yaml
	$(SAM) build --template $(HOST_DIR)/template.yaml --base-dir . --build-dir $(HOST_DIR)/build \
		--cache-dir $(HOST_DIR)/cache --cached --parallel
	$(PRECOMPILE) $(HOST_DIR)/build

test: export BACKORDERS_BUILD = $(BUILD_DIR)
test: lint typecheck check-template checkov build
	$(BIN)/pytest -n 2 tests --ignore=tests/simulation
	# the simulation owns moto's process-wide state: its own run, not mixed with the session-wide mock
	$(BIN)/pytest -n 2 tests/simulation

bench: setup build build-host
	PYTHONPATH=.:infra:layers/shared $(BIN)/python -m tests.benchmarks $(ARGS)

soak: setup
	$(BIN)/pytest -n $(or $(JOBS),2) tests/simulation -m soak --seeds=$(or $(SEEDS),200) $(if $(SEED),--seed=$(SEED)) $(if $(STEPS),--steps=$(STEPS))

# sam reads a relative --config-file from the template's folder (.aws-sam/build): absolute paths.
deploy: build
	$(SAM) deploy --guided --template-file $(BUILD_DIR)/template.yaml --config-file $(CURDIR)/infra/samconfig.toml

# A shop's API key: against the running local cloud (`make run`; its state dir, STATE_DIR,
# holds moto's endpoint and the secret; dummy credentials), or with STACK against that deployed
# stack (the shell's credentials; the stack's ApiKeysSecretArn output). Prints the key once.
apikey: setup
	@test -n "$(SHOP)" || { echo "usage: make apikey SHOP=<shop> [STACK=<deployed stack name>]"; exit 2; }
	@PYTHONPATH=infra:layers/shared $(BIN)/python -m apikeys add --shop $(SHOP) \
		$(if $(STACK),--stack $(STACK),--local $(or $(STATE_DIR),.localcloud))

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache .localcloud
