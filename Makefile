# Two commands do all set-up: `make demo` and `make test`.
# Both create the virtual environment on first use and install the locked
# dependencies (uv.lock, exact versions); later runs reuse it and start in seconds.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-lock
DEMO_DB := warehouse/cohort.duckdb

# The project switches dbt/GX telemetry off itself (pipelines/offline.py); these
# only cover tools run directly from this Makefile.
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_VERSION_CHECK := false
export GX_ANALYTICS_ENABLED := false
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint format bench r-reference clean-env help

help:
	@echo "make demo   - set up and run the whole pipeline (cohort run) on the simulated demo cohort"
	@echo "make test   - set up and run lint (ruff, sqlfluff) plus the whole test suite"
	@echo "make bench  - run the benchmarks under benchmarks/"
	@echo "make r-reference - regenerate tests/reference/r/*.json with R (needs R; see its README)"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: the packages' .pyc files are written once, here. Python would
# otherwise compile dbt, GX and their dependencies at every start wherever
# PYTHONDONTWRITEBYTECODE is set or site-packages is read-only (about 1.3 s more
# for `import dbt` alone; measured in docs/performance.md).
$(STAMP): $(UV) uv.lock pyproject.toml Makefile
	$(UV) sync --locked --compile-bytecode --python $(PYTHON)
	@touch $@

demo: $(STAMP)
	$(BIN)/cohort run --db $(DEMO_DB)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models --processes 0

test: lint
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/simulate_scale.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/build.py
	$(BIN)/python benchmarks/validate.py
	$(BIN)/python benchmarks/analyze.py
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/scan.py
	$(BIN)/python benchmarks/cutpoint.py
	$(BIN)/python benchmarks/scan_core.py

# R reference values (tests/reference/r/README.md): needs R with survival, maxstat, rms,
# Hmisc and coxphf;
# make test reads the committed JSON and never needs R.
r-reference:
	for script in tests/reference/r/*.R; do Rscript "$$script" || exit 1; done

clean-env:
	rm -rf $(VENV) $(TOOLS)
