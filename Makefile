# Backorders - every entry point. Each target installs what it needs itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python 3.12 (the Lambda runtime in template.yaml): pyenv's if present, else one on PATH.
PYTHON312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12.*/bin/python3.12) $(shell command -v python3.12 2>/dev/null))
TOOLS     := .tools
UV        := $(TOOLS)/bin/uv
VENV      := .venv
BIN       := $(VENV)/bin
export UV_PYTHON := $(PYTHON312)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
# Tests, benchmarks and the local cloud never talk to AWS: they get dummy credentials
# (environment keys win over any profile), so a real login is never used. `make deploy` is
# left with whatever credentials the shell has.
LOCAL_TARGETS := run test unit integration e2e bench soak
$(LOCAL_TARGETS): export AWS_ACCESS_KEY_ID = testing
$(LOCAL_TARGETS): export AWS_SECRET_ACCESS_KEY = testing

.PHONY: help setup run test lint typecheck unit integration e2e check-template checkov bench soak deploy clean

help:
	@echo "make run     start the local cloud with a demo catalogue (Ctrl-C stops it)"
	@echo "make test    lint, type-check, all tests and the template checks"
	@echo "make bench   benchmarks, written to docs/benchmarks.md"
	@echo "make deploy  sam build + sam deploy --guided (needs AWS credentials)"

$(UV):
	@test -n "$(PYTHON312)" || { echo "Python 3.12 is required (pyenv install 3.12 or your package manager)"; exit 1; }
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv

$(BIN)/python: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	@touch $(BIN)/python

setup: $(BIN)/python

run: setup
	PYTHONPATH=infra:layers/shared $(BIN)/python -m localcloud $(ARGS)

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

test: lint typecheck check-template checkov
	$(BIN)/pytest -n 2 tests --ignore=tests/simulation
	# the simulation owns moto's process-wide state: its own run, not mixed with the session-wide mock
	$(BIN)/pytest -n 2 tests/simulation

bench: setup
	PYTHONPATH=.:infra:layers/shared $(BIN)/python -m tests.benchmarks $(ARGS)

soak: setup
	$(BIN)/pytest -n $(or $(JOBS),2) tests/simulation -m soak --seeds=$(or $(SEEDS),200) $(if $(SEED),--seed=$(SEED)) $(if $(STEPS),--steps=$(STEPS))

deploy: setup
	$(BIN)/sam build --template template.yaml --config-file infra/samconfig.toml
	$(BIN)/sam deploy --guided --config-file infra/samconfig.toml

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache .localcloud
