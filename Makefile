# Two commands: `make run` (dashboard on the demo warehouse) and `make test` (the whole suite).
# Both install into .venv first from pyproject.toml: `run` only what the dashboard needs, `test` every
# extra as well (Spark, tests and checks). Only Python 3.11, git and make are needed.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_DB := var/callboard.duckdb
PORT ?= 8501
# `make test` runs the tests in three pytest-xdist workers on two cores (with two, a third of the CPU sat
# idle while the browser tests waited on a served app), each file whole in one of them (its module
# fixtures, a served app or a Spark JVM, start once), the longest files first (tests/conftest.py).
PARALLEL ?= -n 3 --dist loadfile --no-loadscope-reorder
# Editable installs: the code stays where it is; pip reads the dependencies from pyproject.toml.
# --no-compile: pip would byte-compile every module of every package (pyspark's and the SDKs' included);
# Python compiles the few hundred a run imports when it first imports them. Measured from a fresh venv:
# `make test`'s install 55 -> 38 CPU-seconds, `make run`'s 42 -> 18 and 1,071 -> 924 MB.
PIP_INSTALL := $(PY) -m pip install --no-compile --quiet --disable-pip-version-check
# So Python keeps what it compiles: with PYTHONDONTWRITEBYTECODE set (some images set it), and nothing
# compiled at install, every process (each test worker, served app and CLI) would compile streamlit,
# pandas, polars and ibis again on import: about 3.7 s of CPU each here.
unexport PYTHONDONTWRITEBYTECODE
QUIET_PIP := 2>&1 | sed '/is ignored: it is neither/d'

.PHONY: run test install install-all demo chromium espeak lint bench clean

run: install espeak $(DEMO_DB)
	$(PY) -m streamlit run app.py --server.port $(PORT)

# ruff first (it takes a second); mypy beside pytest, niced so it takes only the CPU the tests leave idle
# (the browser tests mostly wait), its report printed after theirs. The target fails if either fails.
test: install-all chromium espeak
	$(PY) -m ruff check .
	@report=$$(mktemp); trap 'kill $$typing 2>/dev/null; rm -f $$report' EXIT; \
	nice -n 10 $(PY) -m mypy > $$report 2>&1 & typing=$$!; \
	echo "$(PY) -m pytest $(PARALLEL)   (and $(PY) -m mypy beside it)"; \
	$(PY) -m pytest $(PARALLEL); tests=$$?; \
	wait $$typing; typed=$$?; echo "$(PY) -m mypy"; cat $$report; \
	exit $$(( tests ? tests : typed ))

install: $(VENV)/.installed

install-all: $(VENV)/.installed-all

$(VENV)/bin/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3-venv is missing; installing it with apt-get"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP_INSTALL) -e . $(QUIET_PIP)
	@touch $@

$(VENV)/.installed-all: pyproject.toml | $(VENV)/bin/python
	$(PIP_INSTALL) -e '.[spark,llm,dev]' $(QUIET_PIP)
	@touch $@ $(VENV)/.installed

$(DEMO_DB):
	$(PY) -m data.demo --db $(DEMO_DB)

demo: install
	$(PY) -m data.demo --db $(DEMO_DB) --rebuild

chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && apt-get install -y -qq chromium; }

espeak:
	@command -v espeak-ng >/dev/null && command -v ffmpeg >/dev/null || { \
	  echo "Installing Debian's espeak-ng and ffmpeg for the demo's recordings"; \
	  apt-get update -qq && apt-get install -y -qq espeak-ng ffmpeg; }

lint: install-all
	$(PY) -m ruff check .

bench: install
	$(PY) bench/overview.py

clean:
	rm -rf $(VENV) $(DEMO_DB)
