# Salesdesk: `make run` serves the app, `make test` runs the whole suite. Both set up first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
STAMP := $(VENV)/.installed

.PHONY: run test setup lint format test-sqlite test-postgres clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Salesdesk needs Python 3.11 ($(PYTHON) not found)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

setup: $(STAMP) node_modules/.package-lock.json

run: setup
	$(BIN)/salesdesk migrate --noinput
	$(BIN)/salesdesk collectstatic --noinput --verbosity 0
	$(BIN)/salesdesk demo --first-start
	$(BIN)/salesdesk serve

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup lint
	$(BIN)/salesdesk makemigrations --check --dry-run
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite:
	env -u DATABASE_URL $(BIN)/pytest

test-postgres:
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL=$(PG_URL) $(BIN)/pytest; \
	else \
		echo "PostgreSQL run skipped: nothing answers at $(PG_URL)."; \
	fi

clean:
	rm -rf $(VENV) node_modules var/static
