"""Validate suite files (suites.py) against DuckDB tables with Great Expectations: the one module
that imports GX, its internals included (pinned by tests/test_upstream_apis.py).

GX 1.x's SQL datasource fails on DuckDB (GX issues #10738, #11579), so the rows are read through a
read-only DuckDB connection and validated with GX's pandas datasource. Results and Data Docs are
kept in a GX file project under WAREHOUSE_DIR/gx.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from orchestration.core.paths import WarehousePaths
from orchestration.core.retention import prune_gx_results
from orchestration.core.settings import prepare_environment
from orchestration.quality.results_page import write_quality_docs
from orchestration.quality.suites import PARAMETERS, Failure, SuiteOutcome, read_suite_file, suite_tables
from orchestration.raw.contract import cut

if TYPE_CHECKING:
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

EXAMPLE_ROWS = 3  # bad rows a failure keeps
# Every unexpected row's index, so a failure can name the first bad rows' identifying columns.
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": []}


def _plain(value):
    """A JSON-safe Python value for a cell (Dagster metadata and messages)."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value == datetime.combine(value.date(), datetime.min.time()):
        return value.date().isoformat()  # DuckDB DATE columns arrive in pandas as midnight timestamps
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


# The Data Docs index lists the newest results only (the last ~11 runs of every suite): with all of
# them it grew by ~0.2 s per 100 results, twice a run, and a daily schedule adds 9 results a day
# (measured with 770 results: 2.7 s a gate unbounded, 1.4 s with 100). Older results and their
# pages stay on disk under gx/uncommitted.
DATA_DOCS_INDEX_RESULTS = 100


def _gx():
    """Great Expectations, imported when a gate first validates: loading the Definitions (the UI's
    code server, schedules, the tests) need not pay its ~2.6 s import (it imports
    every expectation, scipy with them). Telemetry goes off before the import."""
    prepare_environment()
    import great_expectations

    return great_expectations


def _context(project_dir: Path):
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = _gx().get_context(mode="file", project_root_dir=str(project_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    sites = context.variables.data_docs_sites
    sites["local_site"]["site_index_builder"]["validation_results_limit"] = DATA_DOCS_INDEX_RESULTS
    context.variables.data_docs_sites = sites
    return context


def _gx_datasource(context):
    """GX's pandas data source (GX's word; not a raw source) the tables are validated through (GX's
    SQL datasource fails on DuckDB)."""
    return context.data_sources.add_or_update_pandas("duckdb_tables")


def _batch_definition(gx_datasource, name: str):
    existing_asset = next((a for a in gx_datasource.assets if a.name == name), None)
    asset = existing_asset or gx_datasource.add_dataframe_asset(name)
    existing = next((b for b in asset.batch_definitions if b.name == "whole_table"), None)
    return existing or asset.add_batch_definition_whole_dataframe("whole_table")


def _columns(kwargs: dict) -> list[str]:
    """The columns an expectation looks at: `column`, a pair, or a list."""
    if kwargs.get("column"):
        return [kwargs["column"]]
    pair = [kwargs[k] for k in ("column_A", "column_B") if kwargs.get(k)]
    return pair or list(kwargs.get("column_list") or [])


def _shown(value):
    """A value as a failure's example row keeps it: text cut as load errors cut it, so a 5 MB ticker
    that passed the loader is not echoed whole into the run's output, its log and the UI."""
    return cut(value) if isinstance(value, str) else value


def _failure(item, frame) -> Failure:
    config = item.expectation_config
    res = item.result or {}
    indexes = (res.get("unexpected_index_list") or [])[:EXAMPLE_ROWS]
    rows = [{k: _plain(v) for k, v in frame.iloc[i].items()} for i in indexes if isinstance(i, int)]
    explained_by = (config.meta or {}).get("explain")
    # the suite's own sentence is kept whole up to a paragraph; the row's values are cut like quotes
    explanation = cut(str(rows[0][explained_by]), 1000) if rows and rows[0].get(explained_by) is not None else None
    rows = [{k: _shown(v) for k, v in row.items()} for row in rows]
    if item.exception_info and item.exception_info.get("raised_exception"):
        detail = f"error: {item.exception_info.get('exception_message')}"
    elif res.get("unexpected_count") is not None:
        count = res.get("element_count")
        detail = f"{res['unexpected_count']} unexpected of {count} {'row' if count == 1 else 'rows'}"
    else:
        detail = f"observed {_plain(res.get('observed_value'))!r}"
    return Failure(
        expectation=config.type,
        column=", ".join(_columns(config.kwargs)) or None,
        severity=str(getattr(config.severity, "value", config.severity)).lower(),
        unexpected_count=res.get("unexpected_count"),
        example_rows=rows,
        detail=detail,
        explanation=explanation,
        explained_by=explained_by,
    )


LARGE_FRAME_ROWS = 100_000


# Expectations that look at a column's dtype or at its distribution over the category set: the
# columns they name stay plain text (a categorical's dtype is not `str`, and a shared category set
# would add other columns' values to a distribution with weight 0).
TYPE_OR_DISTRIBUTION = frozenset(
    {
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
        "expect_column_kl_divergence_to_be_less_than",
    }
)


def _text_as_categories(frame: pd.DataFrame, keep: set[str] = frozenset()) -> pd.DataFrame:
    """The frame with its text columns, but those in `keep`, as pandas categoricals sharing one
    set of categories.

    GX's pandas engine hashes the whole frame (its batch fingerprint) and compares, de-duplicates
    and indexes the columns row by row: on 3.5 M closes a repeated ticker string costs about twice
    the time and three times the memory of a categorical's integer codes (measured at 1000x20: the
    equity suite's validation 3.0 -> 1.4 s, the frame 340 -> 120 MB). Nulls, set membership,
    uniqueness, equality and example rows come out as on plain text; one shared set of categories
    keeps two text columns comparable (pandas refuses to compare categoricals whose categories
    differ). Expectations on a column's type or distribution see a categorical, hence `keep`."""
    text = [c for c in frame.select_dtypes(include=["string"]).columns if c not in keep]
    if not text:
        return frame
    values = set().union(*(frame[column].dropna().unique() for column in text))
    return frame.astype(dict.fromkeys(text, pd.CategoricalDtype(sorted(values))))


QUERY_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)\b")


def _query_parameters(query: str, parameters: dict) -> dict | None:
    """The suite's parameters its query names (`$name`): DuckDB refuses a named parameter the
    query does not use."""
    named = {name: parameters[name] for name in QUERY_PARAMETER.findall(query) if name in parameters}
    return named or None


def _validate(context, gx_datasource, db_path: Path, spec: dict, run_id: RunIdentifier) -> tuple[SuiteOutcome, object]:
    """One suite against its table or query: the outcome, and the key of its result, stored in the
    GX project's validation results (what the Data Docs render).

    The suite is validated as it stands in expectations/ (the reviewed file is the one source of
    truth), not through a checkpoint: saving the suite, a validation definition and a checkpoint
    on every run rewrote the same files and cost about as much as the validation itself."""
    meta = spec["meta"]
    table = meta["table"]
    parameters = {name: PARAMETERS[name]() for name in meta.get("parameters", [])}
    query = meta.get("query")
    with duckdb.connect(str(db_path), read_only=True) as conn:
        # A stable row order, so the example rows a failure names are the same on every run.
        # (execute, not sql: a relation with parameters converts to pandas ~5x slower in DuckDB 1.5)
        frame = (
            conn.execute(query, _query_parameters(query, parameters)).df()
            if query
            else conn.sql(f"select * from {table} order by all").df()
        )
    keep = {c for e in spec["expectations"] if e["type"] in TYPE_OR_DISTRIBUTION for c in _columns(e["kwargs"])}
    frame = _text_as_categories(frame, keep)
    batch = _batch_definition(gx_datasource, spec["name"]).get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        _gx().ExpectationSuite(**spec), result_format=RESULT_FORMAT, expectation_parameters=parameters
    )
    failures = [_failure(item, frame) for item in result.results if not item.success]
    result.meta.update(run_id=run_id, validation_time=run_id.run_time)  # what a checkpoint would add
    result.meta["failures"] = [f.recorded() for f in failures]  # with the bad rows' keys, which GX does not keep
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=spec["name"]), run_id, batch.id)
    context.validation_results_store.set(key, result)
    outcome = SuiteOutcome(
        suite=spec["name"],
        table=table,
        evaluated=len(result.results),
        failures=failures,
        rows=len(frame),
    )
    return outcome, key


def _error_outcome(spec: dict, error: Exception) -> SuiteOutcome:
    """A suite that could not be validated (a broken query, a missing table) fails as critical."""
    failure = Failure(
        expectation="validation",
        column=None,
        severity="critical",
        unexpected_count=None,
        example_rows=[],
        detail=f"{type(error).__name__}: {error}",
    )
    return SuiteOutcome(suite=spec["name"], table=spec["meta"]["table"], evaluated=0, failures=[failure])


def _suite_page(context, spec: dict) -> ExpectationSuiteIdentifier | None:
    """Keep the GX project's copy of the suite (what the Data Docs' suite page shows) equal to the
    reviewed file, saving it only when the file changed: the identifier of a suite to render anew,
    or None. The file's hash rides in the saved suite's meta."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    try:
        saved = context.suites.get(spec["name"])
        if saved.meta.get("source_sha256") == digest:
            return None
    except Exception:
        pass
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    suite = _gx().ExpectationSuite(**{**spec, "meta": {**spec["meta"], "source_sha256": digest}})
    context.suites.add_or_update(suite)
    return ExpectationSuiteIdentifier(name=spec["name"])


def _drop_cached_batches(context) -> None:
    """GX's execution engines keep every batch they validated (the whole DataFrame: some 500 MB
    for 3.5 M closes) for as long as the project is GX's current one, i.e. until the next gate:
    beyond this process's dbt step. Drop them once the suite's outcome is taken."""
    for gx_datasource in context.data_sources.all().values():
        if gx_datasource.execution_engine is not None:
            batches = gx_datasource.execution_engine.batch_manager
            batches.reset_batch_cache()  # the Batch objects, but not their data (GX 1.24), hence:
            batches.batch_data_cache.clear()


def validate_suites(
    paths: WarehousePaths, suite_files: list[Path], run_name: str | None = None, keep_runs: int | None = None
) -> list[SuiteOutcome]:
    """Validate each suite's table (or query) in the build file of `paths`, then render their results into the
    Data Docs once. Results and Data Docs go to the GX project under the build file's folder,
    filed under `run_name` (the Dagster run id) and the time; with `keep_runs`, only every suite's
    newest `keep_runs` results and pages stay (retention.py).

    One GX project context and one Data Docs build serve all the suites: each costs about as much
    as validating a suite (the Data Docs' Jinja templates are compiled again on every build)."""
    context = _context(paths.root)
    gx_datasource = _gx_datasource(context)
    from great_expectations.core.run_identifier import RunIdentifier

    run_id = RunIdentifier(run_name=run_name or "adhoc", run_time=datetime.now(UTC))
    outcomes, rendered = [], []
    for path in suite_files:
        spec = read_suite_file(path)
        try:
            outcome, key = _validate(context, gx_datasource, paths.build_db, spec, run_id)
            rendered.append(key)
        except Exception as error:
            outcome = _error_outcome(spec, error)
        finally:
            _drop_cached_batches(context)
        outcomes.append(outcome)
        page = _suite_page(context, spec)
        if page is not None:
            rendered.append(page)
    uncommitted, site = paths.gx_uncommitted, paths.gx_site
    if rendered:  # GX renders every stored result when given none
        if keep_runs is not None:  # before the index is rebuilt, so that it links no deleted page
            prune_gx_results(uncommitted, keep_runs, run_id.run_name)
        context.build_data_docs(resource_identifiers=rendered)
        write_quality_docs(paths, suite_tables(), run_id.run_time)
    docs = site / "index.html"
    outcomes = [replace(o, data_docs=str(docs) if docs.exists() else None) for o in outcomes]
    if any(o.rows >= LARGE_FRAME_ROWS for o in outcomes):
        # What is left of a large frame sits in reference cycles until Python's next full
        # collection, which may come only while dbt runs beside this process: collect it now
        # (a full collection of this process costs about 0.3 s, so only after a large frame).
        del context, gx_datasource
        gc.collect()
    return outcomes
