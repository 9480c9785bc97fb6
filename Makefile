# Wangge — the two set-up commands are `make demo` and `make test` (see README.md).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/wangge
WANGGE_TEST_POSTGRES ?= 1
DISTRICT ?= 110102
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo serve test test-sqlite test-postgres lint format bench bench-quick messages clean

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
	@{ command -v chromium >/dev/null && fc-list :lang=zh | grep -q .; } || { \
	  echo "installing Debian's chromium and a Chinese font for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }
	@touch $@

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

## demo: install, write the demo's own keys and production settings (var/demo.env, once), migrate
## SQLite, collect the static files, load the demo district (once), print logins and serve on
## http://127.0.0.1:$(PORT) as production runs (WANGGE_DEBUG off: branded error pages, static files
## from WhiteNoise) over plain HTTP, with the Huey consumer running beside the web server
DEMO_ENV := var/demo.env
demo: $(VENV)/.installed
	@$(PY) -m wangge.demo.env $(DEMO_ENV) --database var/wangge.sqlite3
	@set -a && . ./$(DEMO_ENV) && set +a && \
	  $(PY) manage.py migrate --noinput -v 0 && \
	  $(PY) manage.py collectstatic --noinput -v 0 && \
	  $(PY) manage.py demo_data --district $(DISTRICT) && \
	  $(PY) manage.py demo_logins --port $(PORT) && \
	  echo "Starting the task consumer (deadlines, notifications) beside the web server" && \
	  { $(PY) manage.py run_huey --quiet > var/huey.log 2>&1 & echo $$! > var/huey.pid; } && \
	  trap 'kill $$(cat var/huey.pid) 2>/dev/null; rm -f var/huey.pid' EXIT INT TERM && \
	  $(PY) manage.py runserver 127.0.0.1:$(PORT)

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

## lint: ruff, the import contracts (layers, no cycles: pyproject.toml), migrations, bandit and
## pip-audit. pip-audit needs PyPI's advisory database: when it
## cannot be reached the run says NOT AUDITED; PIP_AUDIT=require (CI) makes that an error,
## PIP_AUDIT=0 skips it. Accepted findings: PIP_AUDIT_IGNORE, each explained in docs/security.md.
PIP_AUDIT ?= warn
PIP_AUDIT_IGNORE ?=
lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	WANGGE_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run -v 0
	$(PY) -m bandit -q -r wangge -c pyproject.toml
	@if [ "$(PIP_AUDIT)" = "0" ]; then echo "pip-audit: skipped (PIP_AUDIT=0)"; exit 0; fi; \
	  log=$$(mktemp); \
	  $(PY) -m pip_audit --skip-editable --progress-spinner off \
	    $(foreach id,$(PIP_AUDIT_IGNORE),--ignore-vuln $(id)) >$$log 2>&1; rc=$$?; \
	  if [ $$rc -ne 0 ]; then cat $$log; rm -f $$log; echo "pip-audit: FAILED"; exit 1; fi; \
	  missed=$$(grep -c "could not be audited" $$log); \
	  if [ "$$missed" -gt 0 ]; then \
	    echo "pip-audit: NOT AUDITED: $$missed packages could not be checked (is PyPI reachable?)"; \
	    rm -f $$log; [ "$(PIP_AUDIT)" = "require" ] && exit 1; exit 0; \
	  fi; \
	  rm -f $$log; echo "pip-audit: no known vulnerabilities"

format: $(VENV)/.installed-dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

## bench: every benchmark of bench/ (≈ 10–15 min on a quiet machine; all but locate need PostgreSQL
## on 127.0.0.1:5432, pgbench comes with its server package or its rows are skipped); results go to
## var/bench/*.json, then bench/report.py rewrites the generated blocks of docs/performance.md
bench: $(VENV)/.installed-dev
	$(PY) bench/report.py

## bench-quick: the --quick variant of every benchmark (≤ 3 min on a quiet machine); renders the
## page to var/bench/performance.md and leaves docs/performance.md alone
bench-quick: $(VENV)/.installed-dev
	$(PY) bench/report.py --quick

## messages: refresh and compile the translation catalogues (needs Debian's gettext)
messages: $(VENV)/.installed-dev
	WANGGE_DEBUG=1 $(PY) manage.py makemessages -l zh_Hans -l en --ignore '.venv/*' --ignore 'var/*'
	WANGGE_DEBUG=1 $(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis .grimp_cache .import_linter_cache
