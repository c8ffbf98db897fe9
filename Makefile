# MCP Steward — developer entry points. Every target bootstraps ./.venv (Python 3.13) from the lock file.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements/dev.lock pyproject.toml | sha256sum | cut -c1-16)
PYTEST_ARGS ?=
BENCH ?=

.PHONY: dev test test-fast lint bench build validate deploy lock conformance-tools clean

$(STAMP): requirements/dev.lock pyproject.toml
	@PY=$$(scripts/find-python313.sh) || exit 1; \
	  if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then \
	    rm -rf $(VENV); echo "creating $(VENV) with $$PY"; $$PY -m venv $(VENV); fi
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	@UV_PYTHON_DOWNLOADS=never $(BIN)/uv pip sync --quiet --python $(BIN)/python requirements/dev.lock
	@UV_PYTHON_DOWNLOADS=never $(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

dev: $(STAMP)  ## run the local plane (docs/design.md section 7)
	$(BIN)/steward dev $(ARGS)

test: $(STAMP) conformance-tools  ## the whole suite: unit, contract, integration, end to end, infra, conformance
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(STAMP)  ## unit tests only
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)  ## every benchmark; BENCH=name (or BENCH="a b") runs only those, e.g. make bench BENCH=cli_startup
	$(BIN)/python -m bench $(BENCH)

conformance-tools:  ## Node 22 and the MCP conformance suite from the npm registry, cached in .tools/
	@scripts/install-conformance.sh

# SAM CLI pins a boto3 that conflicts with ours, so it lives in its own venv, stamped by its lock's hash.
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(shell sha256sum requirements/sam.lock | cut -c1-16)
# `sam build` looks for `python3.13` on PATH; .venv/bin has it. No Docker: the arm64 layer's wheels are
# downloaded for the target platform (manylinux aarch64) by aws-lambda-builders.
SAM_ENV := PATH="$(CURDIR)/$(BIN):$$PATH" SAM_CLI_TELEMETRY=0
# With --template-file, SAM looks for samconfig.toml beside the template (infra/): name ours explicitly.
SAM_CONFIG := --config-file $(CURDIR)/samconfig.toml $(if $(ENV),--config-env $(ENV),)

$(SAM_STAMP): requirements/sam.lock $(STAMP)
	@PY=$$(scripts/find-python313.sh) || exit 1; \
	  if [ ! -x $(SAM_VENV)/bin/python ] || ! $(SAM_VENV)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then \
	    rm -rf $(SAM_VENV); echo "creating $(SAM_VENV) with $$PY"; $$PY -m venv $(SAM_VENV); fi
	@UV_PYTHON_DOWNLOADS=never $(BIN)/uv pip sync --quiet --python $(SAM_VENV)/bin/python requirements/sam.lock
	@rm -f $(SAM_VENV)/.installed-*; touch $(SAM_STAMP)

# checkov pins versions of boto3 and others that conflict with ours and SAM CLI's: its own venv too.
CHECKOV_VENV := .tools/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha256sum requirements/checkov.lock | cut -c1-16)

$(CHECKOV_STAMP): requirements/checkov.lock $(STAMP)
	@PY=$$(scripts/find-python313.sh) || exit 1; \
	  if [ ! -x $(CHECKOV_VENV)/bin/python ] || ! $(CHECKOV_VENV)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then \
	    rm -rf $(CHECKOV_VENV); echo "creating $(CHECKOV_VENV) with $$PY"; $$PY -m venv $(CHECKOV_VENV); fi
	@UV_PYTHON_DOWNLOADS=never $(BIN)/uv pip sync --quiet --python $(CHECKOV_VENV)/bin/python requirements/checkov.lock
	@rm -f $(CHECKOV_VENV)/.installed-*; touch $(CHECKOV_STAMP)

build: $(STAMP) $(SAM_STAMP)  ## sam build (no Docker), the core layer's bytecode compiled; prints the artifacts' sizes
	$(SAM_ENV) $(SAM) build --template-file infra/template.yaml $(SAM_CONFIG)
	@# /opt is read-only in Lambda: without .pyc files each cold start compiles the layer's modules in memory.
	@# unchecked-hash pycs are never compared with their sources, which a published layer version cannot change.
	$(BIN)/python -m compileall -q -f --invalidation-mode unchecked-hash .aws-sam/build/CoreLayer/python
	@echo "artifact sizes (unzipped; Lambda allows 250 MB per function with its layers):"
	@du -shc .aws-sam/build/*/

validate: $(STAMP) $(SAM_STAMP) $(CHECKOV_STAMP)  ## sam validate --lint, cfn-lint with the serverless rules, checkov
	$(SAM_ENV) $(SAM) validate --lint --template-file infra/template.yaml $(SAM_CONFIG)
	$(SAM_VENV)/bin/cfn-lint  # .cfnlintrc: the template, informational findings, the serverless rules
	BC_SKIP_MAPPING=TRUE $(CHECKOV) --config-file .checkov.yaml --file infra/template.yaml  # .checkov.yaml: skips, each with its reason

deploy: build  ## sam deploy [ENV=prod] of the built template (samconfig.toml)
	$(SAM_ENV) $(SAM) deploy $(SAM_CONFIG)

lock:  ## re-resolve the pinned dependencies (needs uv and network)
	UV_PYTHON_DOWNLOADS=never uv pip compile pyproject.toml --extra dev --universal --generate-hashes \
	  --python $$(scripts/find-python313.sh) -o requirements/dev.lock
	UV_PYTHON_DOWNLOADS=never uv pip compile pyproject.toml --python-version 3.13 \
	  --python-platform aarch64-manylinux_2_28 --no-header -o layers/core/requirements.txt

clean:
	rm -rf $(VENV) .tools .aws-sam .steward .pytest_cache .mypy_cache .ruff_cache
