"""Validated, transactional loads of a source's rows into the DuckDB `raw` schema.

Validation runs in DuckDB before anything is written and stops at the first bad value with the
origin (file or source), the 1-based row, the column and the value. The write and its
`raw.load_log` row happen in one transaction, so a failed load leaves the previous table as it was
and a repeated load yields the same rows, never duplicates. A load either replaces the whole table
or, for a date window (a range of monthly partitions), only the rows inside that window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import NamedTuple

import duckdb
import pandas as pd

from orchestration.raw.contract import (
    DATASETS,
    LOAD_LOG_COLUMNS,
    TEXT_FORMATS,
    Dataset,
    RawDataError,
    cut,
    missing_columns,
    not_a_valid,
    quoted,
)

ROW = "__source_row"


class MonthRows(NamedTuple):
    """The rows one load wrote for one calendar month, and their first and last day."""

    rows: int
    first_date: date
    last_date: date


@dataclass(frozen=True)
class LoadResult:
    dataset: str
    row_count: int  # rows written by this load
    table_rows: int  # rows in the table afterwards
    outside_window: int  # delivered rows dated outside the load's window, not written
    first_date: date | None  # of the whole table afterwards
    last_date: date | None
    # What this load wrote, by the month of its date column (months it wrote nothing for are absent):
    # a monthly partition's metadata must describe that month, not the table.
    by_month: dict[date, MonthRows] = field(default_factory=dict)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _first(conn: duckdb.DuckDBPyConnection, sql: str) -> tuple | None:
    rows = conn.execute(sql).fetchall()  # fully consumed: DuckDB 2 refuses unregister() otherwise
    return rows[0] if rows else None


WHOLE_TYPES = frozenset({"BIGINT", "INTEGER"})
# Types whose casts can yield infinity (from '1e400', a float column's inf, or the date 'infinity').
FINITE_TYPES = frozenset({"DATE", "DOUBLE"})


def _invalid(col: str, sql_type: str, incoming_type: str) -> str:
    """SQL that is true for a non-null value of `col` that is not a valid `sql_type`."""
    cast = f"try_cast({col} as {sql_type})"
    checks = [f"{cast} is null"]
    if incoming_type == "VARCHAR" and sql_type in TEXT_FORMATS:
        checks.append(f"not regexp_full_match(trim({col}), '{TEXT_FORMATS[sql_type][0]}')")
    if sql_type in FINITE_TYPES:
        checks.append(f"not isfinite({cast})")
    if sql_type in WHOLE_TYPES and incoming_type != "VARCHAR":  # a float column would be rounded
        checks.append(f"try_cast({col} as double) <> round(try_cast({col} as double))")
    if sql_type == "DATE" and incoming_type in {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}:
        checks.append(f"cast({col} as timestamp) <> cast(cast({col} as date) as timestamp)")  # a time of day
    return f"{col} is not null and ({' or '.join(checks)})"


def _row_label(
    conn: duckdb.DuckDBPyConnection, relation: str, dataset: Dataset, row: int, types: dict[str, str]
) -> str:
    """Row `row` as the user knows it: its number and key values, e.g. 'row 6 (date 2024-05-31,
    ticker RIOT)'. The number alone names a line of a CSV file, not a row of a live source's
    frame assembled from many responses. Text is shown as given; a typed value (a timestamp for
    a date) in the dataset's type; a month as YYYY-MM, as a file gives it."""

    def as_text(column: str) -> str:
        col = _quote(column)
        if column in dataset.months:
            return f"coalesce(strftime(try_cast({col} as date), '%Y-%m'), cast({col} as varchar))"
        if types[column] == "VARCHAR":
            return f"cast({col} as varchar)"
        return f"coalesce(cast(try_cast({col} as {dataset.columns[column]}) as varchar), cast({col} as varchar))"

    keys = ", ".join(as_text(c) for c in dataset.key)
    values = _first(conn, f"select {keys} from {relation} where {ROW} = {row}")
    shown = ", ".join(
        f"{column} {cut(str(value)) if value is not None else 'empty'}"
        for column, value in zip(dataset.key, values or ())
    )
    return f"row {row} ({shown})" if shown else f"row {row}"


def validate(conn: duckdb.DuckDBPyConnection, relation: str, dataset: Dataset, origin: str) -> None:
    """Raise RawDataError on the first problem in `relation` (a table or view with `__source_row`)."""
    present = dict(conn.execute(f"select column_name, column_type from (describe {relation})").fetchall())
    missing = [c for c in dataset.columns if c not in present]
    if missing:
        raise missing_columns(origin, dataset, missing)
    for column, sql_type in dataset.columns.items():
        col = _quote(column)
        bad = _first(
            conn,
            f"select {ROW}, cast({col} as varchar) from {relation} "
            f"where {_invalid(col, sql_type, present[column])} order by {ROW} limit 1",
        )
        if bad:
            problem = not_a_valid(sql_type, str(bad[1]), "month (YYYY-MM)" if column in dataset.months else None)
            raise RawDataError(
                f"{origin}: {_row_label(conn, relation, dataset, bad[0], present)}, column '{column}': "
                f"value {quoted(bad[1])} {problem}"
            )
        if column in dataset.months:
            bad = _first(
                conn,
                f"select {ROW}, cast({col} as varchar) from {relation} "
                f"where day(try_cast({col} as date)) <> 1 order by {ROW} limit 1",
            )
            if bad:
                raise RawDataError(
                    f"{origin}: {_row_label(conn, relation, dataset, bad[0], present)}, column '{column}': "
                    f"value {quoted(bad[1])} is not a month (YYYY-MM, or the month's first day)"
                )
        if column not in dataset.nullable:
            empty = _first(conn, f"select {ROW} from {relation} where {col} is null order by {ROW} limit 1")
            if empty:
                raise RawDataError(
                    f"{origin}: {_row_label(conn, relation, dataset, empty[0], present)}, column '{column}': "
                    "value is empty (required)"
                )
        for rule, bound in ((dataset.positive, "> 0"), (dataset.non_negative, ">= 0")):
            if column not in rule:
                continue
            bad = _first(
                conn,
                f"select {ROW}, cast({col} as varchar) from {relation} "
                f"where not (try_cast({col} as {sql_type}) {bound}) order by {ROW} limit 1",
            )
            if bad:
                raise RawDataError(
                    f"{origin}: {_row_label(conn, relation, dataset, bad[0], present)}, column '{column}': "
                    f"value {quoted(bad[1])} must be {bound}"
                )
    # Tickers as staging reads them (trimmed, upper case): 'mara' and 'MARA ' are MARA's key too.
    typed_key = [
        f"upper(trim({_quote(c)}))"
        if dataset.columns[c] == "VARCHAR"
        else f"try_cast({_quote(c)} as {dataset.columns[c]})"
        for c in dataset.key
    ]
    # shown as the user wrote them: a month as YYYY-MM (the file may spell it as its first day too)
    shown = [
        f"strftime({k}, '%Y-%m')" if c in dataset.months else f"cast({k} as varchar)"
        for c, k in zip(dataset.key, typed_key)
    ]
    dup = _first(
        conn,
        f"select {ROW}, first_row, key_text from ("
        f"  select {ROW}, min({ROW}) over (partition by {', '.join(typed_key)}) as first_row,"
        f"         concat_ws(', ', {', '.join(shown)}) as key_text"
        f"  from {relation}) where {ROW} > first_row order by {ROW} limit 1",
    )
    if dup:
        raise RawDataError(
            f"{origin}: row {dup[0]}, column(s) '{', '.join(dataset.key)}': duplicate key ({cut(dup[2])}), "
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
    provenance: str | None = None,
) -> LoadResult:
    """Validate `frame`, then write it to raw.<dataset> in one transaction: the whole table, or
    with `window` (first day, last day) only the rows dated inside it. `provenance` (default:
    `origin`) is what raw.load_log keeps of where the rows came from."""
    dataset = DATASETS[dataset_name]
    if window is not None and dataset.date_column is None:
        raise ValueError(f"{dataset_name} has no date column to load a window of")
    numbered = frame.reset_index(drop=True)
    numbered[ROW] = range(1, len(numbered) + 1)
    conn.register("delivered", numbered)
    try:
        conn.execute(f"create or replace temp view incoming as {_months_as_days(conn, 'delivered', dataset)}")
        validate(conn, "incoming", dataset, origin)
        return _write(
            conn, dataset, "incoming", window,
            origin=origin, source_name=source_name, synthetic=synthetic, provenance=provenance or origin,
        )  # fmt: skip
    finally:
        conn.execute("drop view if exists incoming")
        conn.unregister("delivered")


MONTH_TEXT = "[0-9]{4}-(0[1-9]|1[0-2])"


def _months_as_days(conn: duckdb.DuckDBPyConnection, relation: str, dataset: Dataset) -> str:
    """A query over `relation` in which a month column's text 'YYYY-MM' reads as the month's first
    day; any other value is left as given, for validate() to name."""
    present = dict(conn.execute(f"select column_name, column_type from (describe {relation})").fetchall())
    text_months = [c for c in sorted(dataset.months) if present.get(c) == "VARCHAR"]
    if not text_months:
        return f"select * from {relation}"
    replaced = ", ".join(
        f"case when regexp_full_match(trim({_quote(c)}), '{MONTH_TEXT}') then trim({_quote(c)}) || '-01' "
        f"else {_quote(c)} end as {_quote(c)}"
        for c in text_months
    )
    return f"select * replace ({replaced}) from {relation}"


def _write(
    conn: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    relation: str,
    window: tuple[date, date] | None,
    *,
    origin: str,
    source_name: str,
    synthetic: bool,
    provenance: str,
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
        replaced = 0  # rows of the window deleted before the insert (a full refresh replaces the table)
        if window is None:
            conn.execute(f"create or replace table {table} ({columns})")
        else:
            conn.execute(f"create table if not exists {table} ({columns})")
            replaced = conn.execute(f"delete from {table} where {inside}").fetchone()[0]
        written = conn.execute(f"insert into {table} select * from {typed} where {inside} order by {order}").fetchone()[
            0
        ]
        if replaced and not written and not dataset.sparse:
            # A source that delivers nothing for days the table holds has not published them yet, or
            # lost them (an outage, a truncated export); sparse datasets (splits) may be emptied.
            raise RawDataError(
                f"{origin}: no rows dated {window[0]} .. {window[1]}, where {table} holds {replaced}; "
                "kept them (has the source not published these days, or is the export cut short?). "
                "A full refresh (every month) replaces the whole table on purpose"
            )
        delivered = conn.execute(f"select count(*) from {relation}").fetchone()[0]
        conn.execute(f"comment on table {table} is '{comment}'")
        table_rows = conn.execute(f"select count(*) from {table}").fetchone()[0]
        first, last, by_month = None, None, {}
        if dataset.date_column:
            day = _quote(dataset.date_column)
            first, last = conn.execute(f"select min({day}), max({day}) from {table}").fetchone()
            by_month = {
                month: MonthRows(rows, first_day, last_day)
                for month, rows, first_day, last_day in conn.execute(
                    f"select cast(date_trunc('month', {day}) as date), count(*), min({day}), max({day}) "
                    f"from {table} where {inside} group by 1 order by 1"
                ).fetchall()
            }
        log_columns = ", ".join(f"{name} {kind.lower()}" for name, kind in LOAD_LOG_COLUMNS.items())
        conn.execute(f"create table if not exists raw.load_log ({log_columns})")
        for name, kind in LOAD_LOG_COLUMNS.items():  # a build file from before a column was added
            conn.execute(f"alter table raw.load_log add column if not exists {name} {kind.lower()}")
        conn.execute("delete from raw.load_log where dataset = ?", [dataset.name])
        logged = [dataset.name, source_name, synthetic, datetime.now(UTC).replace(tzinfo=None), table_rows, provenance]
        conn.execute(
            f"insert into raw.load_log ({', '.join(LOAD_LOG_COLUMNS)}) values ({', '.join('?' * len(logged))})",
            logged,
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return LoadResult(dataset.name, written, table_rows, delivered - written, first, last, by_month)
