# Two commands set up and run everything: `make run` and `make test`. Each builds .venv from the
# pinned requirements on first use. Nothing here needs the network beyond the package registry.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UI_PORT ?= 3000
# WAREHOUSE_DIR and DAGSTER_HOME, when given (environment or command line), reach the programs as
# they are: no make function touches them, so a path with spaces or quotes stays one path. Unset,
# the programs use warehouse/ in the repository and WAREHOUSE_DIR/dagster_home.
export DAGSTER_DISABLE_TELEMETRY := true
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := False
export TQDM_DISABLE := 1
# One planned event per asset for a run over many months (see orchestration/core/settings.py).
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS ?= 1

.PHONY: run test fmt ui note sql docs bench clean doctor

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Real older DuckDB clients the tests open the published file with (tests/duckdb_reader_versions.txt),
# each installed once from PyPI into a folder of its own (no dependencies: the tests import it alone).
READER_VERSIONS := $(shell grep -v '^\#' tests/duckdb_reader_versions.txt)
READERS := $(VENV)/duckdb-readers
$(READERS)/%/.installed: | $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --upgrade --target $(READERS)/$* duckdb==$*
	touch $@

## run: materialise every asset on the WAREHOUSE_SOURCE (default: demo) and publish;
##      MONTHS=YYYY-MM..YYYY-MM reloads only those months (then rebuilds, checks, publishes);
##      VERBOSE=1 prints Dagster's and dbt's whole stream instead of one line per step.
run: $(VENV)/.installed
	$(PY) -m orchestration.cli.run $(if $(MONTHS),--months="$$MONTHS") $(if $(filter 1,$(VERBOSE)),--verbose)

## test: lint (ruff, sqlfluff) then the pytest suite (no network; the older DuckDB clients it reads the published file with are installed first).
test: $(VENV)/.installed $(foreach version,$(READER_VERSIONS),$(READERS)/$(version)/.installed)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint models
	$(PY) -m pytest

## fmt: fix what the linter and the formatter can fix.
fmt: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/sqlfluff fix models

## note: the monthly note of MONTH=YYYY-MM (default: the latest complete month) from the published file;
##       AS_OF=<publication id or UTC time>: from the team lake's snapshot of that publication (docs/lake.md).
note: $(VENV)/.installed
	$(PY) -m orchestration.cli.note $(if $(MONTH),--month="$$MONTH") $(if $(AS_OF),--as-of="$$AS_OF")

## sql: the duckdb CLI (pinned, from .venv), read-only on the published file; Q="select ..." runs one query and exits.
sql: $(VENV)/.installed
	@db="$${WAREHOUSE_DIR:-warehouse}/published.duckdb"; \
	test -e "$$db" || { echo "sql: no published file at $$db: run make run first" >&2; exit 1; }; \
	$(VENV)/bin/duckdb -readonly "$$db" $(if $(Q),-c "$$Q")

## docs: dbt's docs site and the quality gate's results of the current build, in WAREHOUSE_DIR/docs (offline pages).
docs: $(VENV)/.installed
	$(PY) -m orchestration.cli.docs

## bench: time the pipeline at several scales against a hand-written DuckDB SQL baseline (BENCH_SCALES=14x7,200x20,1000x20).
bench: $(VENV)/.installed
	$(PY) -m bench

## ui: the Dagster UI on 127.0.0.1:$(UI_PORT) (its URL printed once it answers), history kept in DAGSTER_HOME.
ui: $(VENV)/.installed
	$(PY) -m orchestration.cli.ui --port $(UI_PORT)

## doctor: ask each endpoint of the live source once from this machine (Yahoo, Coin Metrics, SEC EDGAR) and say which answer and what to do.
doctor: $(VENV)/.installed
	$(PY) -m orchestration.cli.doctor

## clean: delete the warehouse folder (refusing /, the home folder and the repository) and dbt's target.
clean:
	$(PYTHON) -m orchestration.cli.clean
