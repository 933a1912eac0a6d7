# Wijkwerf: the everyday commands. Only python3 is assumed; everything else lands in .venv.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv run test lint bench messages

help:
	@echo "make venv      create .venv from requirements.lock (reruns only when it or pyproject.toml changes)"
	@echo "make run       migrate, seed the demo data and serve on http://127.0.0.1:8000"
	@echo "make test      the whole suite: SQLite (with browser tests), then PostgreSQL when available"
	@echo "make lint      ruff and mypy"
	@echo "make bench     the benchmark"
	@echo "make messages  extract the texts and update the catalogs"

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	scripts/venv.sh $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e .
	touch $(STAMP)

run: venv
	$(BIN)/wijkwerf migrate
	$(BIN)/wijkwerf seed-demo
	$(BIN)/wijkwerf serve --host 127.0.0.1 --port 8000

# Extra pytest arguments for both phases: make test PYTEST_ARGS="-k signup -x"
test: venv
	scripts/test.sh $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check app tests
	$(BIN)/mypy app

bench: venv
	$(BIN)/python -m bench

# Extract the texts into app/locale/messages.pot and update the nl_BE and en catalogs.
messages: venv
	$(BIN)/python scripts/messages.py
