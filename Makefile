# Parley: `make run` to try it, `make test` to check everything.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Test processes (pytest-xdist): each has its own server, Redis and Chromium.
TEST_WORKERS ?= 2

.PHONY: run test fuzz bench lint format clean system-deps

# The virtual environment, rebuilt when the project's dependencies change.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Parley needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test,dev]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/parley serve --host $(HOST) --port $(PORT)

# What the tests need from the operating system: Debian's Chromium for the browser tests,
# a real redis-server for the Redis store and multi-process tests, OpenSSL's `ts` as the
# local time-stamping authority, poppler's pdftoppm to look at a signed PDF's first page, and
# the Pango libraries WeasyPrint lays PDF evidence out with.
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	command -v jq >/dev/null || missing="$$missing jq"; \
	command -v fc-list >/dev/null && fc-list | grep -q . || missing="$$missing fonts-dejavu-core"; \
	command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	ldconfig -p | grep -q libpangoft2-1.0.so.0 || missing="$$missing libpangoft2-1.0-0"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "The tests need:$$missing. Install it first, then run make test again:"; \
			echo "  sudo apt-get install -y$$missing"; \
			exit 1; \
		fi; \
	fi

test: system-deps $(VENV)/.installed-test
	$(BIN)/pytest -n $(TEST_WORKERS)

# A long fuzzing run of both WebSockets and the HTTP API, Schemathesis against the OpenAPI
# description included (the tests marked `fuzz`, which `make test` runs with a fixed few
# examples each): thousands of new examples per test,
# each failure shrunk to the smallest input that still fails and kept in .hypothesis/,
# where the next run tries it first. Prints how many frames and requests it sent: about
# 140,000 frames (SQLite and Redis) and 44,000 requests, two hours here if nothing fails.
fuzz: system-deps $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -m fuzz --timeout=0

# Benchmarks against a bare websockets echo server (BENCHMARKS.md): about 13 minutes,
# results in bench/results/. Not part of `make test`: figures are measured, not asserted.
bench: system-deps $(VENV)/.installed-test
	$(BIN)/python bench/run.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench
	$(BIN)/mypy
	MYPYPATH=server:tests:bench $(BIN)/mypy --strict --follow-imports=silent bench

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix server tests bench
	$(BIN)/ruff format server tests bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
