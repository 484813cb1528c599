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

run: install migrate demo serve

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

serve:
	@echo "cancuoc is serving at http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(CANCUOC) runserver $(HOST):$(PORT)

# Browser tests drive Debian's Chromium; install it when missing (needs root or sudo).
e2e-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; fi; \
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
