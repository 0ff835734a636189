# Two commands: `make run` (dashboard on the demo warehouse) and `make test` (the whole suite).
# Both install everything into .venv first; only Python 3.11, git and make are needed.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_DB := var/callboard.duckdb
PORT ?= 8501

.PHONY: run test install demo chromium lint bench clean

run: install $(DEMO_DB)
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: install chromium
	$(PY) -m ruff check .
	$(PY) -m pytest

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3-venv is missing; installing it with apt-get"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | sed '/is ignored: it is neither/d'
	@touch $@

$(DEMO_DB):
	$(PY) -m data.demo --db $(DEMO_DB)

demo: install
	$(PY) -m data.demo --db $(DEMO_DB) --rebuild

chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && apt-get install -y -qq chromium; }

lint: install
	$(PY) -m ruff check .

bench: install
	$(PY) bench/overview.py

clean:
	rm -rf $(VENV) $(DEMO_DB)
