# Orbit: the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup web-setup lint typecheck imports pytest web-test bench clean

run: setup ## Run Orbit: SQLite in ./.orbit, embedded worker, offline AI, on 127.0.0.1:8000
	$(BIN)/orbit serve

test: setup lint typecheck imports web-test pytest ## Every check: ruff, mypy, import-linter, pytest (SQLite + PostgreSQL), web (tsc + vitest)

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,openai,anthropic]'
	touch $(STAMP)

lint:
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

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
