# Wangge — the two set-up commands are `make demo` and `make test` (see README.md).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/wangge
WANGGE_TEST_POSTGRES ?= 1
DISTRICT ?= 110102
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo serve test test-sqlite test-postgres lint format bench messages clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed: installing Debian's python3-venv"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv && \
	  $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev]'
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@touch $@

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

## demo: install, migrate SQLite, load the demo district (once), print logins, serve on 127.0.0.1:$(PORT)
## with the Huey consumer running beside the web server
demo: $(VENV)/.installed
	WANGGE_DEBUG=1 $(PY) manage.py migrate --noinput -v 0
	WANGGE_DEBUG=1 $(PY) manage.py demo_data --district $(DISTRICT)
	WANGGE_DEBUG=1 $(PY) manage.py demo_logins --port $(PORT)
	@echo "Starting the task consumer (deadlines, notifications) beside the web server"
	@WANGGE_DEBUG=1 $(PY) manage.py run_huey --quiet > var/huey.log 2>&1 & echo $$! > var/huey.pid; \
	  trap 'kill $$(cat var/huey.pid) 2>/dev/null; rm -f var/huey.pid' EXIT INT TERM; \
	  WANGGE_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

## test: install dev dependencies, lint, then the whole suite on SQLite and on PostgreSQL if it answers
test: $(VENV)/.installed-dev lint test-sqlite test-postgres

test-sqlite: $(VENV)/.installed-dev
	$(PY) -m pytest

test-postgres: $(VENV)/.installed-dev
	@if [ "$(WANGGE_TEST_POSTGRES)" = "0" ]; then \
	  echo "WANGGE_TEST_POSTGRES=0: skipping the PostgreSQL run"; \
	elif $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2).close()" 2>/dev/null; then \
	  echo "== the suite again on PostgreSQL ($(POSTGRES_URL))"; \
	  WANGGE_DATABASE_URL=$(POSTGRES_URL) $(PY) -m pytest; \
	else \
	  echo "PostgreSQL does not answer on 127.0.0.1:5432: skipping the PostgreSQL run"; \
	fi

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	WANGGE_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run -v 0

format: $(VENV)/.installed-dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

## bench: the benchmarks of bench/; figures go to docs/performance.md
bench: $(VENV)/.installed-dev
	WANGGE_DEBUG=1 $(PY) bench/locate.py

## messages: refresh and compile the translation catalogues (needs Debian's gettext)
messages: $(VENV)/.installed-dev
	WANGGE_DEBUG=1 $(PY) manage.py makemessages -l zh_Hans -l en --ignore '.venv/*' --ignore 'var/*'
	WANGGE_DEBUG=1 $(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
