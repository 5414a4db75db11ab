PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck unit conformance docs serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check webhook tests
	$(BIN)/ruff format --check webhook tests

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

conformance: install
	$(BIN)/python ../shared/conformance/score.py ../shared/conformance/istio --cmd "$(CURDIR)/$(BIN)/meshwarden"

test: lint typecheck unit

docs: install
	$(BIN)/python -m webhook.docs docs/rules.md

serve: install
	$(BIN)/meshwarden serve --dev

clean:
	rm -rf $(VENV) build *.egg-info
