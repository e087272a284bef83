# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/effbench run

# everything (CI): real data, notebooks, browser, campaigns, MLflow, PostgreSQL. One pytest
# worker per core (pytest-xdist), a test module per worker: modules share fixtures and fixed
# ports, and every PostgreSQL database and MLflow workspace a test makes is its own.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile
test: $(STAMP)
	$(PYTEST)

# the unit tests on synthetic and small inputs (< 3 min): what to run while editing
test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

bench: $(STAMP)
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) effbench-data .pytest_cache .hypothesis mlruns mlartifacts
