# Two front-door commands (see README.md):
#   make run   -- set up .venv and run the main workflow on the built-in default config
#   make test  -- set up .venv, lint, and run the test suite
# make venv TF=cuda sets .venv up with the CUDA build of TensorFlow (NVIDIA GPUs, requirements-cuda.lock)
# instead of the CPU build (requirements.lock); later make commands keep the build the venv has, and
# make venv TF=cpu switches back (docs/clusters.md, "Getting a GPU TensorFlow").
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= all
TF     ?= $(if $(wildcard $(VENV)/.installed-cuda),cuda,cpu)

# Each build has its lock and its stamp; switching builds first uninstalls the other build's
# TensorFlow (both install the module tensorflow), found by the other stamp.
ifeq ($(TF),cpu)
LOCK        := requirements.lock
STAMP       := $(VENV)/.installed
OTHER_STAMP := $(VENV)/.installed-cuda
OTHER_TF     = tensorflow $(shell sed -n 's/^\(nvidia-[^=]*\)==.*/\1/p' requirements-cuda.lock)
else ifeq ($(TF),cuda)
LOCK        := requirements-cuda.lock
STAMP       := $(VENV)/.installed-cuda
OTHER_STAMP := $(VENV)/.installed
OTHER_TF    := tensorflow-cpu
else
$(error TF=$(TF): choose cpu (the default) or cuda; AMD GPUs use the site's TensorFlow module, see docs/clusters.md)
endif

.PHONY: venv run dry-run test lint fmt lock clean

venv: $(STAMP)

# Re-install only when the pins or the package metadata change.
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@if [ -f $(OTHER_STAMP) ]; then \
		echo "$(VENV): switching to the $(TF) build of TensorFlow"; \
		rm -f $(OTHER_STAMP) && $(BIN)/pip uninstall --quiet --yes $(OTHER_TF); \
	fi
	$(BIN)/pip install --quiet -r $(LOCK)
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

# The pins of the venv's build: requirements.lock, or requirements-cuda.lock in a CUDA venv.
lock: venv
	$(BIN)/pip freeze --exclude-editable | grep -v '^candle' > $(LOCK).new
	mv $(LOCK).new $(LOCK)

clean:
	rm -rf results .snakemake
