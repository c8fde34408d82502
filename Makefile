# Salesdesk: `make run` serves the app, `make test` runs the whole suite. Both set up first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
STAMP := $(VENV)/.installed

.PHONY: run test setup lint format test-sqlite test-postgres clean chromium dovecot

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Salesdesk needs Python 3.11 ($(PYTHON) not found)."; exit 1; }
	$(PYTHON) -m venv $(VENV)

# pip's own chatter goes to a log that is shown only when the install fails.
$(STAMP): $(BIN)/python pyproject.toml
	@echo "Installing Python dependencies into $(VENV) (log: $(VENV)/pip.log)"
	@$(BIN)/pip install --upgrade pip > $(VENV)/pip.log 2>&1 && \
		$(BIN)/pip install -e '.[dev]' >> $(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
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

# Browser tests drive Debian's Chromium. Installed when missing and we may (root); otherwise
# the browser tests skip themselves with a one-line reason.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Chromium for the browser tests (apt-get install chromium)..."; \
			apt-get update -qq >/dev/null && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
			echo "Chromium could not be installed: browser tests will be skipped."; \
		else \
			echo "Chromium is missing and cannot be installed without root: browser tests will be skipped."; \
		fi; \
	fi

# The capture tests run a real IMAP server: Debian's Dovecot, started by a pytest fixture on a
# loopback port (never the system service). Installed when missing and we may (root); otherwise
# those tests skip themselves with a one-line reason.
dovecot:
	@if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Dovecot for the IMAP tests (apt-get install dovecot-imapd)..."; \
			apt-get update -qq >/dev/null && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null 2>&1 || \
			echo "Dovecot could not be installed: IMAP tests will be skipped."; \
		else \
			echo "Dovecot is missing and cannot be installed without root: IMAP tests will be skipped."; \
		fi; \
	fi

# The two databases' runs go side by side: each is one Python process, so on two cores the
# suite takes as long as the longer run instead of both. SQLite's output shows as it comes,
# PostgreSQL's when its run ends (meanwhile in var/test/postgres.log). Each run has its own var/.
test: setup lint chromium dovecot
	$(BIN)/salesdesk makemigrations --check --dry-run
	@mkdir -p var/test
	@$(MAKE) --no-print-directory test-postgres > var/test/postgres.log 2>&1 & postgres=$$!; \
		$(MAKE) --no-print-directory test-sqlite; sqlite=$$?; \
		wait $$postgres; status=$$?; cat var/test/postgres.log; \
		[ $$sqlite = 0 ] && [ $$status = 0 ]

test-sqlite:
	env -u DATABASE_URL SALESDESK_VAR_DIR=var/test/sqlite $(BIN)/pytest

test-postgres:
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL=$(PG_URL) SALESDESK_VAR_DIR=var/test/postgres $(BIN)/pytest; \
	else \
		echo "PostgreSQL run skipped: nothing answers at $(PG_URL)."; \
	fi

clean:
	rm -rf $(VENV) node_modules var/static
