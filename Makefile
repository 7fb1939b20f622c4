# modelyard — `make run` shows a live system, `make test` runs the whole suite.
# Both work on a fresh machine: they create .venv and install what they need.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# NannyML, test-only (tests/monitoring/test_nannyml.py compares estimated performance
# with its CBPE): its pins (plotly<6, lightgbm<4.6, FLAML) would move the stack under
# test, so it has a virtual environment of its own. It imports statsmodels undeclared.
NANNYML := .nannyml-venv
PYTEST_WORKERS ?= 2

.PHONY: run test lint typecheck bench clean system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# KServe's client, test-only: its pins (pandas<3) would downgrade the stack under test
	$(BIN)/pip install --quiet --no-deps 'kserve==0.21.*'
	# Ray Data and Ray Serve (--engine ray, serve --ray) and the Kubernetes schemas the
	# manifest tests validate against,
	# on top of the resolved stack: resolved together with it, pip backtracked for minutes
	$(BIN)/pip install --quiet 'ray[data,serve]>=2.40' 'kubernetes-validate>=1.30'
	touch $(STAMP)

$(NANNYML)/.installed:
	$(PYTHON) -m venv $(NANNYML)
	$(NANNYML)/bin/pip install --quiet 'nannyml==0.13.1' 'statsmodels>=0.14'
	touch $@

# Debian's PostgreSQL server for the store tests (the tests start a throwaway cluster).
system-deps:
	@bash scripts/system-deps.sh

run: $(STAMP)
	$(BIN)/python examples/payment_predictions/run.py

test: $(STAMP) $(NANNYML)/.installed system-deps
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	@bash scripts/bench-deps.sh
	$(BIN)/python benchmarks/registry.py
	$(BIN)/python benchmarks/server.py
	$(BIN)/python benchmarks/serving.py
	$(BIN)/python benchmarks/monitoring.py
	$(BIN)/python benchmarks/ray_data.py
	$(BIN)/python benchmarks/cli.py
	$(BIN)/python benchmarks/embedded.py
	$(BIN)/python benchmarks/hostile.py

clean:
	rm -rf $(VENV) $(NANNYML) .modelyard .pytest_cache .mypy_cache .ruff_cache
