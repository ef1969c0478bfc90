# S2S: everything a developer or CI runs. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 is the Lambda runtime; use it when pyenv has it, else any python3 >= 3.11.
PYTHON ?= $(shell for c in "$$(pyenv prefix 3.13.0 2>/dev/null)/bin/python3" python3.13 python3.12 python3.11 python3; do \
	  if [ -x "$$c" ] || command -v "$$c" >/dev/null 2>&1; then \
	    if "$$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then echo "$$c"; break; fi; \
	  fi; done)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
SAM_STAMP := $(SAM_VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Some machines set PYTHONDONTWRITEBYTECODE: then every pytest worker and every local stack the
# tests start re-compiles (and re-rewrites the asserts of) every module it imports. Bytecode
# caches are gitignored, so let them be written.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help setup portal-assets run test test-fast lint format typecheck validate build bench fuzz openapi openapi-check lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python >= 3.11 found" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[local,dev]'
	@touch $@

$(SAM_STAMP):
	@test -n "$(PYTHON)" || { echo "No Python >= 3.11 found" >&2; exit 1; }
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q --upgrade pip
	$(SAM_VENV)/bin/python -m pip install -q aws-sam-cli
	@touch $@

# The portal's front end: GOV.UK Frontend's precompiled dist files (CSS, the JS module, fonts and
# images) copied from the pinned npm package into portal/, where the local stack and
# `s2s portal publish` serve them as they are. No bundler. axe-core stays in node_modules for the
# browser tests.
NPM_STAMP := node_modules/.installed
GOVUK_DIST := node_modules/govuk-frontend/dist/govuk
PORTAL_ASSETS := portal/govuk/govuk-frontend.min.js

$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js (apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

$(PORTAL_ASSETS): $(NPM_STAMP)
	rm -rf portal/govuk portal/assets
	mkdir -p portal/govuk
	cp $(GOVUK_DIST)/govuk-frontend.min.css $(GOVUK_DIST)/govuk-frontend.min.css.map portal/govuk/
	cp $(GOVUK_DIST)/govuk-frontend.min.js $(GOVUK_DIST)/govuk-frontend.min.js.map portal/govuk/
	cp -R $(GOVUK_DIST)/assets portal/assets
	@touch $@

portal-assets: $(PORTAL_ASSETS) ## npm ci and copy GOV.UK Frontend's dist assets into portal/

setup: $(STAMP) $(SAM_STAMP) $(PORTAL_ASSETS) ## create the virtual environments (app+tests, and aws-sam-cli on its own) and the portal's assets

run: $(STAMP) $(PORTAL_ASSETS) ## set up and run the whole service locally (s2s local serve)
	$(BIN)/s2s local serve

test: $(STAMP) $(SAM_STAMP) $(PORTAL_ASSETS) ## run the whole test suite (unit, functional, template, local stack)
	S2S_SAM=$(abspath $(SAM_VENV))/bin/sam $(BIN)/pytest -n 4 --dist worksteal -q

test-fast: $(STAMP) ## unit and functional tests only
	$(BIN)/pytest -q -m "unit or functional"

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP) ## mypy on the layer, functions and client
	$(BIN)/mypy

validate: $(SAM_STAMP) $(STAMP) ## sam validate --lint and cfn-lint
	$(SAM_VENV)/bin/sam validate --lint --region eu-west-2
	$(BIN)/cfn-lint template.yaml

build: $(SAM_STAMP) $(PORTAL_ASSETS) ## sam build (needs python3.13 on PATH) and the portal's assets
	PATH="$$(dirname $(PYTHON)):$$PATH" $(SAM_VENV)/bin/sam build

bench: $(STAMP) ## benchmarks, printed as ratios
	$(PY) -m bench

fuzz: $(STAMP) ## longer runs: Schemathesis on the local stack (200 examples per operation and role), zip differential harness (2000 archives per extractor), report recount (200 histories)
	S2S_FUZZ_EXAMPLES=200 $(BIN)/pytest -q -n 2 tests/fuzz
	S2S_ZIP_FUZZ_EXAMPLES=2000 $(BIN)/pytest -q -n 2 tests/functional/test_zip_differential.py
	S2S_REPORT_EXAMPLES=200 $(BIN)/pytest -q -n 2 tests/functional/reports/test_reports_history.py

openapi: $(STAMP) ## regenerate the committed OpenAPI document
	$(PY) -m s2s_cli.openapi --write

openapi-check: $(STAMP) ## fail when the committed OpenAPI document has drifted from the code
	$(PY) -m s2s_cli.openapi --check

lock: $(STAMP) ## resolve layers/requirements.in for the Lambda runtime into the locked layers/requirements.txt
	$(PY) scripts/lock_layer.py

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache node_modules portal/govuk portal/assets
