"""Atomic publication of the marts from the build file to the readers' file.

The new `published.duckdb` is written beside the old one under a temporary name, verified (it
opens, holds every mart with the build's row counts and the publication log), then renamed over
the old one. On POSIX a rename is atomic: a crash leaves the old file or the new one, never a mix,
and a reader holding the old file open keeps its consistent view.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

MARTS_SCHEMA = "marts"
LOG_TABLE = "publication_log"
LOG_COLUMNS = """
    published_at timestamp not null,
    run_id varchar not null,
    source varchar not null,
    is_synthetic boolean not null,
    first_month date,
    last_month date,
    row_counts json not null,
    gate_result varchar not null
"""
# What each column of publication_log means, as readers' SQL and BI tools show it (column comments).
LOG_DEFINITIONS = {
    "published_at": "When this publication replaced the previous one (UTC).",
    "run_id": "The Dagster run that built, checked and published it.",
    "source": "Where the raw data came from: demo (SYNTHETIC), csv or live.",
    "is_synthetic": "True when the data is the synthetic demo, not market data.",
    "first_month": "The first month of mart_monthly_note in this publication.",
    "last_month": "The last month of mart_monthly_note in this publication.",
    "row_counts": "Rows of each published mart, as JSON {table: rows}.",
    "gate_result": "The quality gate's verdict on the build: the blocking checks that cleared it and any warnings.",
}


class PublishError(RuntimeError):
    pass


@dataclass(frozen=True)
class Publication:
    path: Path
    published_at: datetime
    row_counts: dict[str, int]
    first_month: str | None
    last_month: str | None
    previous_first_month: str | None = None  # of the publication this one replaced, if any
    previous_last_month: str | None = None

    def lost_months(self) -> str | None:
        """Readers had months this publication no longer has (a full refresh from a source with a
        shorter history, e.g. a truncated CSV export): which, or None."""
        def shift(month: str, by: int) -> str:
            year, number = divmod(int(month[:4]) * 12 + int(month[5:7]) - 1 + by, 12)
            return f"{year:04d}-{number + 1:02d}"

        lost = []
        if self.previous_first_month and self.first_month and self.first_month > self.previous_first_month:
            lost.append(f"{self.previous_first_month[:7]} .. {shift(self.first_month, -1)}")
        if self.previous_last_month and self.last_month and self.last_month < self.previous_last_month:
            lost.append(f"{shift(self.last_month, 1)} .. {self.previous_last_month[:7]}")
        return "; ".join(lost) or None


def _sql_text(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def _mart_tables(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    return conn.execute(
        "select table_name, comment from duckdb_tables() where database_name = 'build' "
        "and schema_name = ? order by table_name",
        [MARTS_SCHEMA],
    ).fetchall()


def _copy_table(conn: duckdb.DuckDBPyConnection, table: str, comment: str | None) -> int:
    conn.execute(f'create table main."{table}" as select * from build.{MARTS_SCHEMA}."{table}"')
    if comment:
        conn.execute(f'comment on table main."{table}" is {_sql_text(comment)}')
    for column, col_comment in conn.execute(
        "select column_name, comment from duckdb_columns() where database_name = 'build' "
        "and schema_name = ? and table_name = ? and comment is not null and comment <> ''",
        [MARTS_SCHEMA, table],
    ).fetchall():
        conn.execute(f'comment on column main."{table}"."{column}" is {_sql_text(col_comment)}')
    return conn.execute(f'select count(*) from main."{table}"').fetchone()[0]


def _carry_log(conn: duckdb.DuckDBPyConnection, previous: Path) -> tuple[str | None, str | None]:
    """Copy the previous file's publication log; returns the months its latest publication covered."""
    conn.execute(f"create table main.{LOG_TABLE} ({LOG_COLUMNS})")
    conn.execute(
        f"comment on table main.{LOG_TABLE} is 'One row per publication: when, which run and source, "
        "months covered, row counts per table, and the quality gate''s result. Newest = as of when.'"
    )
    for column, definition in LOG_DEFINITIONS.items():
        conn.execute(f"comment on column main.{LOG_TABLE}.{column} is {_sql_text(definition)}")
    if not previous.exists():
        return None, None
    conn.execute(f"attach {_sql_text(str(previous))} as previous (read_only)")
    try:
        has_log = conn.execute(
            "select count(*) from duckdb_tables() where database_name = 'previous' and table_name = ?",
            [LOG_TABLE],
        ).fetchone()[0]
        if not has_log:
            return None, None
        conn.execute(f"insert into main.{LOG_TABLE} select * from previous.main.{LOG_TABLE}")
        covered = conn.execute(
            f"select first_month, last_month from main.{LOG_TABLE} order by published_at desc limit 1"
        ).fetchone()
        return (str(covered[0]) if covered[0] else None, str(covered[1]) if covered[1] else None)
    finally:
        conn.execute("detach previous")


def _verify(path: Path, expected: dict[str, int]) -> None:
    with duckdb.connect(str(path), read_only=True) as conn:
        for table, count in expected.items():
            got = conn.execute(f'select count(*) from main."{table}"').fetchone()[0]
            if got != count:
                raise PublishError(f"verification failed: {table} has {got} rows, expected {count}")
        conn.execute(f"select count(*) from main.{LOG_TABLE}").fetchone()


def publish(
    build_db: Path,
    published_db: Path,
    *,
    run_id: str,
    source: str,
    is_synthetic: bool,
    gate_result: str,
    before_rename=None,
) -> Publication:
    """Copy every table of the build file's marts schema into a new published file, atomically.

    `before_rename` is called with the verified temporary path just before the rename (tests use it
    to simulate a crash at the worst moment).
    """
    for stale in published_db.parent.glob(f".{published_db.name}.*.tmp"):
        stale.unlink()  # left by a publish that was killed; one publisher at a time (single writer)
    tmp = published_db.with_name(f".{published_db.name}.{os.getpid()}.tmp")
    published_at = datetime.now(timezone.utc).replace(tzinfo=None)
    try:
        with duckdb.connect(str(tmp)) as conn:
            conn.execute(f"attach {_sql_text(str(build_db))} as build (read_only)")
            tables = _mart_tables(conn)
            if not tables:
                raise PublishError(f"nothing to publish: {build_db} has no tables in schema {MARTS_SCHEMA}")
            counts = {name: _copy_table(conn, name, comment) for name, comment in tables}
            first_month, last_month = conn.execute(
                "select min(month), max(month) from main.mart_monthly_note"
            ).fetchone()
            conn.execute("detach build")
            previous_first, previous_last = _carry_log(conn, published_db)
            conn.execute(
                f"insert into main.{LOG_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)",
                [published_at, run_id, source, is_synthetic, first_month, last_month,
                 json.dumps(counts, sort_keys=True), gate_result],
            )
            conn.execute("checkpoint")
        _verify(tmp, counts)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        if before_rename is not None:
            before_rename(tmp)
        os.replace(tmp, published_db)
        directory = os.open(published_db.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Publication(
        path=published_db,
        published_at=published_at,
        row_counts=counts,
        first_month=str(first_month) if first_month else None,
        last_month=str(last_month) if last_month else None,
        previous_first_month=previous_first,
        previous_last_month=previous_last,
    )
