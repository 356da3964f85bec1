"""Great Expectations suite files: where they are, what they say, and what their validation found.

Suites stay GX's own JSON format under `expectations/`, with two additions in the suite's `meta`:

- `table` (what to read) and `asset_key` (the Dagster asset the check is attached to);
- optional `query`: SQL over the build file that the suite validates instead of the bare table,
  for rules that need a neighbouring row (contiguous days, one-day moves) or another table
  (combined cap = sum of the miners' caps). It names the table it checks in `table` all the same;
- optional `parameters`: values that do not belong in a reviewed file (the NYSE holiday list, the
  seed files' paths) or that several rules share (the plausibility bounds, PLAUSIBILITY), passed
  to the expectations as GX `$PARAMETER`s and to the query as DuckDB named parameters (`$name`),
  both from PARAMETERS.

An expectation's `meta` may name, in `explain`, a column of the query that holds on each bad row a
sentence saying what is wrong with it (the two closes of an implausible move, the tickers outside
the universe); the failure's message carries the first bad row's sentence.

Each expectation's native `severity` decides whether it blocks: `critical` blocks publication,
`warning` is recorded and shown. This module imports no Great Expectations (reading the files and
describing outcomes is what the Dagster checks, the docs and the tests need, without GX's ~2.6 s
import); validating them is gx_engine.py's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from orchestration import nyse_calendar
from orchestration.core.paths import REPO_ROOT

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
IDENTIFYING_COLUMNS = ("month", "date", "ticker", "as_of", "ex_date")


@dataclass(frozen=True)
class Failure:
    expectation: str
    column: str | None  # the column(s) it looks at, comma-separated
    severity: str  # "critical" or "warning"
    unexpected_count: int | None
    example_rows: list[dict]
    detail: str
    explanation: str | None = None  # the first bad row's sentence (the expectation's `explain` column)
    explained_by: str | None = None  # that column, left out of the example row

    def describe(self, table: str) -> str:
        """One line a user can act on: expectation, table.column, how many rows, what is wrong
        (where the suite explains it), the first bad row (its identifying columns and the failing
        value; the whole rows are in `example_rows`)."""
        where = f"{table}.{self.column}" if self.column else table
        explanation = f": {self.explanation}" if self.explanation else ""
        example = f"; example row: {self.example}" if self.example else ""
        return f"{self.expectation} failed on {where} ({self.detail}){explanation}{example}"

    @property
    def example(self) -> dict | None:
        """The first bad row's identifying columns and the columns the expectation looks at."""
        if not self.example_rows:
            return None
        row = self.example_rows[0]
        involved = set(self.column.split(", ")) if self.column else set()
        involved.discard(self.explained_by)
        return {k: v for k, v in row.items() if k in IDENTIFYING_COLUMNS or k in involved} or row

    def recorded(self) -> dict:
        """What the stored result keeps of it (its meta), for the quality page (results_page.py)."""
        return {
            "expectation": self.expectation,
            "column": self.column,
            "severity": self.severity,
            "unexpected_count": self.unexpected_count,
            "detail": f"{self.detail}: {self.explanation}" if self.explanation else self.detail,
            "example": self.example,
        }


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    table: str
    evaluated: int
    failures: list[Failure] = field(default_factory=list)
    data_docs: str | None = None
    rows: int = 0  # rows of the table or query validated

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


def suite_tables() -> dict[str, str]:
    """Each suite's name -> the table it checks (its `meta`)."""
    return {spec["name"]: spec["meta"]["table"] for spec in map(read_suite_file, suite_paths())}


# The raw gate's plausibility bounds: values that pass every type and range check but cannot be
# right. One place for them: the suites name them as parameters (PARAMETERS), and
# docs/quality-gate.md states them.
PLAUSIBILITY = {
    # A ticker's close against its previous session's, after the splits on file between the two
    # days: beyond x5 or below /5 in one session, with no split to explain it, is a data error
    # (a fat-fingered close, a split missing from the file). Blocks publication.
    "max_one_day_close_ratio": 5.0,
    # Shares outstanding against the ticker's previous report, after the splits on file between
    # the two report dates: beyond x10 or below /10 is a data error (a report in thousands, a
    # missing split). Blocks publication.
    "max_shares_change_ratio": 10.0,
    # No listed miner has fewer shares than this (an exchange listing needs far more): a smaller
    # report (1 share, a count in millions) blocks publication.
    "min_shares_outstanding": 100_000,
}
SEEDS_DIR = REPO_ROOT / "seeds"

# Everything a suite may name in `parameters`, as a function that returns its value at validation
# time. The seeds are read from their files: the raw gate runs before dbt loads them.
PARAMETERS = {
    "nyse_holidays": nyse_calendar.holidays,
    "nyse_sessions_seed": lambda: str(nyse_calendar.SESSIONS_SEED),
    "miner_universe_seed": lambda: str(SEEDS_DIR / "miner_universe.csv"),
    **{name: (lambda value=value: value) for name, value in PLAUSIBILITY.items()},
}
