"""Validated, transactional loads of a source's rows into the DuckDB `raw` schema.

Validation runs in DuckDB before anything is written and stops at the first bad value with the
origin (file or source), the 1-based row, the column and the value. The write and its
`raw.load_log` row happen in one transaction, so a failed load leaves the previous table as it was
and a repeated load yields the same rows, never duplicates. A load either replaces the whole table
or, for a date window (a range of monthly partitions), only the rows inside that window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import duckdb
import pandas as pd

from orchestration.sources.base import DATASETS, Dataset

ROW = "__source_row"


class RawDataError(ValueError):
    """Bad input: names the origin, row, column and value."""


@dataclass(frozen=True)
class LoadResult:
    dataset: str
    row_count: int  # rows written by this load
    table_rows: int  # rows in the table afterwards
    outside_window: int  # delivered rows dated outside the load's window, not written
    first_date: date | None
    last_date: date | None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _first(conn: duckdb.DuckDBPyConnection, sql: str) -> tuple | None:
    rows = conn.execute(sql).fetchall()  # fully consumed: DuckDB 2 refuses unregister() otherwise
    return rows[0] if rows else None


def validate(conn: duckdb.DuckDBPyConnection, relation: str, dataset: Dataset, origin: str) -> None:
    """Raise RawDataError on the first problem in `relation` (a table or view with `__source_row`)."""
    present = {row[0] for row in conn.execute(f"select column_name from (describe {relation})").fetchall()}
    missing = [c for c in dataset.columns if c not in present]
    if missing:
        raise RawDataError(
            f"{origin}: missing column(s) {', '.join(missing)}; expected {', '.join(dataset.columns)}"
        )
    for column, sql_type in dataset.columns.items():
        col = _quote(column)
        bad = _first(
            conn,
            f"select {ROW}, cast({col} as varchar) from {relation} "
            f"where {col} is not null and try_cast({col} as {sql_type}) is null order by {ROW} limit 1",
        )
        if bad:
            raise RawDataError(f"{origin}: row {bad[0]}, column '{column}': value {bad[1]!r} is not a valid {sql_type}")
        if column not in dataset.nullable:
            empty = _first(conn, f"select {ROW} from {relation} where {col} is null order by {ROW} limit 1")
            if empty:
                raise RawDataError(f"{origin}: row {empty[0]}, column '{column}': value is empty (required)")
        if column in dataset.positive:
            bad = _first(
                conn,
                f"select {ROW}, cast({col} as varchar) from {relation} "
                f"where try_cast({col} as {sql_type}) <= 0 order by {ROW} limit 1",
            )
            if bad:
                raise RawDataError(f"{origin}: row {bad[0]}, column '{column}': value {bad[1]!r} must be > 0")
    typed_key = [f"try_cast({_quote(c)} as {dataset.columns[c]})" for c in dataset.key]
    dup = _first(
        conn,
        f"select {ROW}, first_row, key_text from ("
        f"  select {ROW}, min({ROW}) over (partition by {', '.join(typed_key)}) as first_row,"
        f"         concat_ws(', ', {', '.join(f'cast({k} as varchar)' for k in typed_key)}) as key_text"
        f"  from {relation}) where {ROW} > first_row order by {ROW} limit 1",
    )
    if dup:
        raise RawDataError(
            f"{origin}: row {dup[0]}, column(s) '{', '.join(dataset.key)}': duplicate key ({dup[2]}), "
            f"first seen at row {dup[1]}"
        )


def load_frame(
    conn: duckdb.DuckDBPyConnection,
    dataset_name: str,
    frame: pd.DataFrame,
    *,
    origin: str,
    source_name: str,
    synthetic: bool,
    window: tuple[date, date] | None = None,
) -> LoadResult:
    """Validate `frame`, then write it to raw.<dataset> in one transaction: the whole table, or
    with `window` (first day, last day) only the rows dated inside it."""
    dataset = DATASETS[dataset_name]
    if window is not None and dataset.date_column is None:
        raise ValueError(f"{dataset_name} has no date column to load a window of")
    numbered = frame.reset_index(drop=True)
    numbered[ROW] = range(1, len(numbered) + 1)
    conn.register("incoming", numbered)
    try:
        validate(conn, "incoming", dataset, origin)
        return _write(conn, dataset, "incoming", window, source_name=source_name, synthetic=synthetic)
    finally:
        conn.unregister("incoming")


def _write(
    conn: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    relation: str,
    window: tuple[date, date] | None,
    *,
    source_name: str,
    synthetic: bool,
) -> LoadResult:
    casts = ", ".join(f"cast({_quote(c)} as {t}) as {_quote(c)}" for c, t in dataset.columns.items())
    columns = ", ".join(f"{_quote(c)} {t}" for c, t in dataset.columns.items())
    order = ", ".join(_quote(c) for c in dataset.key)
    table = f"raw.{dataset.name}"
    typed = f"(select {casts} from {relation})"
    inside = "true"
    if window is not None:
        inside = f"{_quote(dataset.date_column)} between '{window[0]}' and '{window[1]}'"
    label = "SYNTHETIC DEMO DATA. " if synthetic else ""
    comment = f"{label}{dataset.description} Source: {source_name}.".replace("'", "''")
    conn.execute("begin transaction")
    try:
        conn.execute("create schema if not exists raw")
        if window is None:
            conn.execute(f"create or replace table {table} ({columns})")
        else:
            conn.execute(f"create table if not exists {table} ({columns})")
            conn.execute(f"delete from {table} where {inside}")
        written = conn.execute(f"insert into {table} select * from {typed} where {inside} order by {order}").fetchone()[0]
        delivered = conn.execute(f"select count(*) from {relation}").fetchone()[0]
        conn.execute(f"comment on table {table} is '{comment}'")
        table_rows = conn.execute(f"select count(*) from {table}").fetchone()[0]
        first, last = None, None
        if dataset.date_column:
            first, last = conn.execute(
                f"select min({_quote(dataset.date_column)}), max({_quote(dataset.date_column)}) from {table}"
            ).fetchone()
        conn.execute(
            "create table if not exists raw.load_log (dataset varchar, source_name varchar, "
            "is_synthetic boolean, loaded_at timestamp, row_count bigint)"
        )
        conn.execute("delete from raw.load_log where dataset = ?", [dataset.name])
        conn.execute(
            "insert into raw.load_log values (?, ?, ?, ?, ?)",
            [dataset.name, source_name, synthetic, datetime.now(timezone.utc).replace(tzinfo=None), table_rows],
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return LoadResult(dataset.name, written, table_rows, delivered - written, first, last)
