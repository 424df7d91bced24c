# The verbs of this project. `make help` lists them; README.md explains them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
PIPENV := $(PYTHON) -m pipenv
PIPENV_VERSION := 2026.10.3
VENV_PYTHON := .venv/bin/python
CHECKOV_DIR := tools/checkov
THREE_REGIONS := config/examples/three-regions.yaml

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export PIPENV_IGNORE_VIRTUALENVS := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CHECKPOINT_DISABLE := 1

.PHONY: help install synth test unit scan bench review deploy diff tfc-bootstrap clean

help: ## List the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install: .venv/.synced node_modules/.synced $(CHECKOV_DIR)/.venv/.synced ## Install pipenv, the locked Python packages, the pinned cdktf CLI and checkov

.venv/.synced: Pipfile.lock
	@$(PIPENV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "pipenv==$(PIPENV_VERSION)"
	$(PIPENV) sync --dev
	@# cdktf.json runs the app with python -O: give it its bytecode, and let jsii index the provider once.
	$(VENV_PYTHON) -O -m compileall -q -j 0 .venv/lib >/dev/null
	$(VENV_PYTHON) -c 'from constructs_lib.provider_import import warm_jsii_cache; exit(not warm_jsii_cache())'
	@touch $@

node_modules/.synced: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(CHECKOV_DIR)/.venv/.synced: $(CHECKOV_DIR)/Pipfile.lock .venv/.synced
	cd $(CHECKOV_DIR) && $(PIPENV) sync
	@touch $@

synth: .venv/.synced node_modules/.synced ## Synthesize $DEPLOYMENT_CONFIG (default config/default.yaml) into cdktf.out with the pinned cdktf CLI
	npx --no-install cdktf synth

test: install ## Run the whole test suite and the security scan (what CI runs)
	$(VENV_PYTHON) -m pytest
	$(MAKE) --no-print-directory scan

unit: .venv/.synced ## Run the tests only (no install of the CLI or checkov)
	$(VENV_PYTHON) -m pytest

scan: .venv/.synced $(CHECKOV_DIR)/.venv/.synced ## Checkov on the synthesized default and three-region deployments
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	for config in config/default.yaml $(THREE_REGIONS); do \
	  echo "== checkov: $$config"; \
	  DEPLOYMENT_CONFIG=$$config CDKTF_OUTDIR=$$out/$$(basename $$config .yaml) $(VENV_PYTHON) main.py && \
	  $(VENV_PYTHON) tools/security_scan.py $$out/$$(basename $$config .yaml) || exit 1; \
	done

TS_BASELINE := tools/ts-baseline

bench: .venv/.synced node_modules/.synced $(TS_BASELINE)/dist/main.js ## Synth time and memory at 2, 10, 40 regions vs the plain path and TypeScript (ARGS='--quick'); writes bench.out/
	$(VENV_PYTHON) tools/bench.py $(ARGS)

$(TS_BASELINE)/node_modules/.synced: $(TS_BASELINE)/package-lock.json
	cd $(TS_BASELINE) && npm ci --no-audit --no-fund
	@touch $@

$(TS_BASELINE)/dist/main.js: $(TS_BASELINE)/node_modules/.synced $(TS_BASELINE)/src/main.ts $(TS_BASELINE)/tsconfig.json
	cd $(TS_BASELINE) && npx --no-install tsc -p .

review: .venv/.synced ## Summarize what this branch changes in the synthesized JSON (against $REVIEW_BASE, default origin/main)
	@bash tools/review-merge-base.sh

diff: .venv/.synced node_modules/.synced ## terraform plan of one stack: make diff STACK=region-us-central1
	npx --no-install cdktf diff $(STACK)

deploy: .venv/.synced node_modules/.synced ## Deploy every stack in dependency order (network, regions, global-frontend)
	npx --no-install cdktf deploy '*'

tfc-bootstrap: .venv/.synced ## Synthesize the Terraform Cloud workspaces for a tfc deployment into cdktf.out.bootstrap
	CDKTF_OUTDIR=cdktf.out.bootstrap $(VENV_PYTHON) tfc_bootstrap.py

clean: ## Remove synthesized output and caches (keeps state files)
	rm -rf cdktf.out cdktf.out.bootstrap .cdktf.out.staging .cdktf.out.bootstrap.staging .pytest_cache bench.out
