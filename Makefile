# Two front-door commands (see README.md):
#   make run   -- set up .venv and run the main workflow on the built-in default config
#   make test  -- set up .venv, lint, and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= all
STAMP  := $(VENV)/.installed

.PHONY: venv run dry-run test lint fmt lock clean

venv: $(STAMP)

# Re-install only when the pins or the package metadata change.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: venv
	$(BIN)/snakemake --profile profiles/local --cores $(CORES)

dry-run: venv
	$(BIN)/snakemake --profile profiles/local -n

# Lint first (seconds), then the suite. The browser test needs Debian's chromium: installed
# when missing (root + apt), else it skips.
test: lint
	-.ci/install-chromium.sh
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Python by ruff (lint + format, configured in pyproject.toml), rules by snakemake and snakefmt.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules/

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile rules/

lock: venv
	$(BIN)/pip freeze --exclude-editable | grep -v '^candle' > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf results .snakemake
