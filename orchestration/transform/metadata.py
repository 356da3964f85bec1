"""Materialisation metadata for dbt models, read from the build file after dbt has exited.

dagster-dbt's own `fetch_row_counts()` queries while dbt still runs, which a single-writer DuckDB
file refuses from a second process; so the dbt asset buffers dbt's events and adds this metadata
once the build is over.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

NOTE_RELATION = ("marts", "mart_monthly_note")


def _format(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return str(value)


def relation_metadata(conn: duckdb.DuckDBPyConnection, schema: str, name: str) -> dict:
    relation = f'"{schema}"."{name}"'
    metadata: dict = {"dagster/row_count": conn.execute(f"select count(*) from {relation}").fetchone()[0]}
    columns = {r[0] for r in conn.execute(f"select column_name from (describe {relation})").fetchall()}
    if "month" in columns:
        first, last = conn.execute(f"select min(month), max(month) from {relation}").fetchone()
        metadata["months_covered"] = f"{first:%Y-%m} .. {last:%Y-%m}" if first else "none"
    if (schema, name) == NOTE_RELATION:
        metadata["latest_month"] = dg.MetadataValue.md(latest_note_markdown(conn))
    return metadata


def latest_note_markdown(conn: duckdb.DuckDBPyConnection) -> str:
    """The newest note row as a Markdown table (figure | value), as the UI shows it."""
    cursor = conn.execute(f'select * from "{NOTE_RELATION[0]}"."{NOTE_RELATION[1]}" order by month desc limit 1')
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    if row is None:
        return "_no months yet_"
    lines = ["| figure | value |", "| --- | --- |"]
    lines += [f"| {name} | {_format(value)} |" for name, value in zip(names, row)]
    return "\n".join(lines)


def with_relation_metadata(events: Iterable, manifest: Mapping[str, Any], build_db: Path) -> Iterator:
    """Re-yield dbt events, adding row counts and months to each model's and seed's Output."""
    nodes = manifest["nodes"]
    with duckdb.connect(str(build_db), read_only=True) as conn:
        for event in events:
            node = nodes.get(_unique_id(event)) if isinstance(event, dg.Output) else None
            if node and node["resource_type"] in {"model", "seed"}:
                event = event.with_metadata(
                    {**event.metadata, **relation_metadata(conn, node["schema"], node["alias"])}
                )
            yield event


def _unique_id(event: dg.Output) -> str | None:
    value = event.metadata.get("unique_id")
    return getattr(value, "text", value)
