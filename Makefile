# Two commands on a fresh machine:
#   make run    set up .venv and run the registry on 127.0.0.1:8080 (SQLite + ./var)
#   make test   set up .venv and run every check and test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.custody-installed
DATA_DIR ?= var
# Where `make run` listens: HOST=... PORT=... on the command line, or CUSTODY_HOST/CUSTODY_PORT.
CUSTODY_HOST ?= 127.0.0.1
CUSTODY_PORT ?= 8080
HOST ?= $(CUSTODY_HOST)
PORT ?= $(CUSTODY_PORT)
# `make run` seeds the demo namespace on an empty registry (docs/demo.md); CUSTODY_DEMO=0: never.
CUSTODY_DEMO ?= 1

.PHONY: run run-cluster test lint typecheck imports pytest browser interop-tools bench venv clean web-assets web-assets-optional

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the lock or the project metadata changes.
$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

# exec: the server replaces the recipe's shell, so the SIGTERM that make forwards to its
# child (and Ctrl-C) reaches the server itself instead of leaving it running.
run: $(STAMP) web-assets-optional
	CUSTODY_DATA_DIR=$(DATA_DIR) $(BIN)/custody db upgrade
	CUSTODY_DATA_DIR=$(DATA_DIR) CUSTODY_DEMO=$(CUSTODY_DEMO) exec $(BIN)/custody serve --host $(HOST) --port $(PORT)

# SeaweedFS + PostgreSQL (CUSTODY_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/
# custody_cluster, created if missing) + two replicas on 127.0.0.1:8081 and :8082; data in
# $(DATA_DIR)/cluster. Ctrl-C stops them all (scripts/run_cluster.py --help for the options).
run-cluster: $(STAMP)
	exec $(BIN)/python scripts/run_cluster.py --dir $(DATA_DIR)/cluster

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

# The browser tests (tests/registry/web/) drive Debian's Chromium through Playwright; its
# own browser download (`playwright install`) is never used. Installed here when missing.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
browser:
	@test -x $(CHROMIUM) || { \
	  echo "installing chromium for the browser tests (apt-get install chromium)"; \
	  apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
	    || { apt-get update >/dev/null 2>&1 && \
	         apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } || true; \
	}
	@test -x $(CHROMIUM) || { echo "make: no chromium at $(CHROMIUM) and apt-get could not \
	install it (it needs root and Debian's apt): install chromium, or set CHROMIUM=/path" >&2; \
	exit 1; }

# The interop tests (tests/interop/test_skopeo*.py) run Debian's skopeo, the containers/image
# client, against a live registry. Installed here when missing.
SKOPEO ?= skopeo
export SKOPEO
interop-tools:
	@command -v $(SKOPEO) >/dev/null || { \
	  echo "installing skopeo for the interop tests (apt-get install skopeo)"; \
	  apt-get install -y --no-install-recommends skopeo >/dev/null 2>&1 \
	    || { apt-get update >/dev/null 2>&1 && \
	         apt-get install -y --no-install-recommends skopeo >/dev/null 2>&1; } || true; \
	}
	@command -v $(SKOPEO) >/dev/null || { echo "make: no skopeo ($(SKOPEO)) and apt-get could not \
	install it (it needs root and Debian's apt): install skopeo, or set SKOPEO=/path" >&2; \
	exit 1; }

# The verify page's C2PA reader (@contentauth/c2pa-web, pinned by registry/web/frontend/
# package-lock.json): `npm ci --ignore-scripts` when the lock changed, then its ES modules and
# WebAssembly are copied to registry/web/static/vendor/c2pa/ (git-ignored). `make run` works
# without npm (the page then says C2PA reading is unavailable); the tests need it.
web-assets: $(STAMP)
	@command -v npm >/dev/null || { \
	  echo "installing npm for the verify page's C2PA reader (apt-get install npm)"; \
	  apt-get install -y --no-install-recommends npm >/dev/null 2>&1 \
	    || { apt-get update >/dev/null 2>&1 && \
	         apt-get install -y --no-install-recommends npm >/dev/null 2>&1; } || true; \
	}
	$(BIN)/python scripts/web_assets.py

web-assets-optional: $(STAMP)
	$(BIN)/python scripts/web_assets.py --optional

pytest: $(STAMP) browser interop-tools web-assets
	$(BIN)/pytest --durations=25

test: lint typecheck imports pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
	rm -rf registry/web/frontend/node_modules registry/web/static/vendor
