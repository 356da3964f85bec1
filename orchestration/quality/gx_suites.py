"""Run a Great Expectations suite file against a DuckDB table.

GX 1.x's SQL datasource fails on DuckDB (GX issues #10738, #11579), so the table is read through a
read-only DuckDB connection and validated with GX's pandas datasource. Suites stay GX's own JSON
format under `expectations/`; each expectation's native `severity` decides whether it blocks:
`critical` blocks publication, `warning` is recorded and shown.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from orchestration.settings import REPO_ROOT, prepare_environment

prepare_environment()
import great_expectations as gx  # noqa: E402  (telemetry must be off before import)
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
EXAMPLE_ROWS = 3


@dataclass(frozen=True)
class Failure:
    expectation: str
    column: str | None
    severity: str  # "critical" or "warning"
    unexpected_count: int | None
    example_rows: list[dict]
    detail: str

    def describe(self, table: str) -> str:
        where = f"{table}.{self.column}" if self.column else table
        example = f"; example row: {self.example_rows[0]}" if self.example_rows else ""
        return f"{self.expectation} failed on {where} ({self.detail}){example}"


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    table: str
    evaluated: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "critical"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity != "critical"]


def suite_paths() -> list[Path]:
    return sorted(EXPECTATIONS_DIR.glob("*.json"))


def read_suite_file(path: Path) -> dict:
    return json.loads(path.read_text())


def _plain(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime) and value == datetime.combine(value.date(), datetime.min.time()):
        return value.date().isoformat()  # DuckDB DATE columns arrive in pandas as midnight timestamps
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "item"):
        return _plain(value.item())
    return value


def validate_table(db_path: Path, suite_path: Path) -> SuiteOutcome:
    spec = read_suite_file(suite_path)
    table = spec["meta"]["table"]
    with duckdb.connect(str(db_path), read_only=True) as conn:
        frame = conn.sql(f"select * from {table}").df()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("duckdb_tables")
        .add_dataframe_asset(table)
        .add_batch_definition_whole_dataframe("whole_table")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = context.suites.add(gx.ExpectationSuite(**spec))
    result = batch.validate(suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": []})
    failures = []
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        res = item.result or {}
        indexes = (res.get("unexpected_index_list") or [])[:EXAMPLE_ROWS]
        rows = [{k: _plain(v) for k, v in frame.iloc[i].items()} for i in indexes if isinstance(i, int)]
        if item.exception_info and item.exception_info.get("raised_exception"):
            detail = f"error: {item.exception_info.get('exception_message')}"
        elif res.get("unexpected_count") is not None:
            detail = f"{res['unexpected_count']} unexpected of {res.get('element_count')} rows"
        else:
            detail = f"observed {_plain(res.get('observed_value'))!r}"
        failures.append(
            Failure(
                expectation=config.type,
                column=config.kwargs.get("column"),
                severity=str(getattr(config.severity, "value", config.severity)).lower(),
                unexpected_count=res.get("unexpected_count"),
                example_rows=rows,
                detail=detail,
            )
        )
    return SuiteOutcome(suite=spec["name"], table=table, evaluated=len(result.results), failures=failures)
