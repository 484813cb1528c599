# cancuoc — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CANCUOC := $(BIN)/cancuoc
HOST ?= 127.0.0.1
PORT ?= 8000
# A developer machine runs with DEBUG on; production sets DEBUG=0 and SECRET_KEY.
export DEBUG ?= 1

.PHONY: run install messages migrate demo serve test test-fast e2e-deps lint typecheck bench clean

run: install e2e-deps migrate demo serve

# The virtual environment is rebuilt when the lock file changes.
$(BIN)/.installed: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed
	$(BIN)/python scripts/compile_messages.py

messages: install
	cd src/cancuoc && ../../$(CANCUOC) makemessages -l vi --ignore '*/migrations/*'
	$(BIN)/python scripts/compile_messages.py

migrate: install
	$(CANCUOC) migrate --noinput -v0

demo: migrate
	$(CANCUOC) demo --if-empty

# The task worker (imports, quality runs) runs beside the web server and stops with it.
serve:
	@echo "cancuoc is serving at http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	@$(CANCUOC) db_worker --queue-name '*' --no-reload -v0 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(CANCUOC) runserver $(HOST):$(PORT)

# Browser tests drive Debian's Chromium; PDFs need Pango (WeasyPrint) and a font with
# Vietnamese glyphs. Install what is missing (needs root or sudo).
SYSTEM_PACKAGES := chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0
e2e-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

test: install e2e-deps
	$(BIN)/pytest

test-fast: install
	$(BIN)/pytest -m "not e2e"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(CANCUOC) makemigrations --check --dry-run
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache
