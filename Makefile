# Orbit: the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup web-setup lint typecheck imports pytest web-test bench clean

run: setup web/dist/index.html ## Run Orbit: SQLite in ./.orbit, embedded worker, offline AI, on 127.0.0.1:8000
	$(BIN)/orbit serve

# The web pages served at / (built once; `cd web && npm run build` rebuilds them).
web/dist/index.html: | web-setup
	cd web && npm run --silent build

.PHONY: browser-setup
browser-setup: setup web-setup ## For tests/browser: Debian's Chromium, Playwright (PyPI) and a fresh web/dist
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)
	$(BIN)/python -c 'import playwright' 2>/dev/null || $(BIN)/python -m pip install --quiet 'playwright==1.65.2'
	cd web && npm run --silent build

test: setup lint typecheck imports web-test browser-setup pytest ## Every check: ruff, mypy, import-linter, web (tsc + vitest), pytest (SQLite + PostgreSQL, Chromium)

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,openai,anthropic]'
	touch $(STAMP)

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

web-setup: web/node_modules/.installed

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web-test: web-setup
	cd web && npm run --silent typecheck && npm test --silent

bench: setup ## Print the benchmark figures (see docs/benchmarks.md)
	scripts/ensure-postgres
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .orbit
