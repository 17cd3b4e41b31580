# Everyday verbs. `make install` is idempotent: it (re)installs only when pyproject.toml or constraints.txt change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
# sam build needs python3.12 on PATH; pyenv provides it on this machine.
SAM_PYENV ?= 3.11.7:3.12.1

.PHONY: install browser run test test-fast reliability lint build bench clean

install: $(STAMP) browser

# Chromium and ChromeDriver from Debian for the inbox page's browser test (nothing to do once installed).
browser:
	@tools/install-browser

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,bench]"
	@touch $(STAMP)

run: install
	$(BIN)/scheduled-comms dev

# The full suite, as CI runs it, spread over the machine's cores (each worker has its own moto).
test: install
	$(BIN)/pytest -n auto --durations=25

# The everyday loop: everything but the tests marked slow (many rows, overlapping ticks, long fuzzing).
test-fast: install
	$(BIN)/pytest -n auto -m "not slow"

# The fault-injection suite at full size: 10,000 rows (CI runs it with 1,200).
reliability: install
	FAULT_TEST_ROWS=$${FAULT_TEST_ROWS:-10000} $(BIN)/pytest -m reliability

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p scheduled_comms -p scheduled_comms_cli -p scheduled_comms_local
	$(BIN)/mypy functions
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --region us-east-1

bench: install
	$(BIN)/python benchmarks/run.py

build: install
	PYENV_VERSION=$(SAM_PYENV) $(BIN)/sam build

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
