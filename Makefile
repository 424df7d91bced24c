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
export CHECKPOINT_DISABLE := 1
# The pinned Node 22 LTS (package.json) runs the cdktf CLI and the jsii kernel.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
CDKTF := node_modules/.bin/cdktf

.PHONY: help install synth test unit scan bench review deploy diff tfc-bootstrap clean

help: ## List the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install: node_modules/.synced .venv/.synced $(CHECKOV_DIR)/.venv/.synced ## Install pipenv, the locked Python packages, the pinned cdktf CLI and checkov

# Order-only on node_modules: warming jsii's cache below runs the pinned Node.
.venv/.synced: Pipfile.lock | node_modules/.synced
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

# The app itself (what `cdktf synth` runs, see cdktf.json): the CLI would add seconds of
# environment probing (terraform, python, pip, pipenv versions) and nothing the output needs.
synth: .venv/.synced node_modules/.synced ## Synthesize $DEPLOYMENT_CONFIG (default config/default.yaml) into $CDKTF_OUTDIR (default cdktf.out)
	@$(VENV_PYTHON) -O main.py
	@echo "synthesized $${DEPLOYMENT_CONFIG:-config/default.yaml} into $${CDKTF_OUTDIR:-cdktf.out}"

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

bench: .venv/.synced ## Measure synth time and memory at 2, 10 and 40 regions against the plain import path
	$(VENV_PYTHON) tools/bench.py

review: .venv/.synced ## Summarize what this branch changes in the synthesized JSON (against $REVIEW_BASE, default origin/main)
	@bash tools/review-merge-base.sh

diff: .venv/.synced node_modules/.synced ## terraform plan of one stack: make diff STACK=region-us-central1
	$(CDKTF) diff $(STACK)

deploy: .venv/.synced node_modules/.synced ## Deploy every stack in dependency order (network, regions, global-frontend)
	$(CDKTF) deploy '*'

tfc-bootstrap: .venv/.synced ## Synthesize the Terraform Cloud workspaces for a tfc deployment into cdktf.out.bootstrap
	CDKTF_OUTDIR=cdktf.out.bootstrap $(VENV_PYTHON) tfc_bootstrap.py

clean: ## Remove synthesized output and caches (keeps state files)
	rm -rf cdktf.out cdktf.out.bootstrap .cdktf.out.staging .cdktf.out.bootstrap.staging .pytest_cache
	rm -f .cdktf.out.lock .cdktf.out.bootstrap.lock
