"""Do two sets of marts hold the same numbers? Every column of every mart, compared in DuckDB.

Rows are matched on the mart's key, which must match exactly (a key on one side only is a
mismatch, so is a duplicated key); every other column is compared row by row: floating-point
columns within a relative tolerance (both NULL, both NaN or equal infinities count as equal), all
others exactly (DECIMAL, integers, dates, text, booleans; NULL only equals NULL). Column names,
their order and their types must match too. Nothing is pulled into Python but the counts and one
example per mismatching column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb

MART_KEYS: dict[str, tuple[str, ...]] = {
    "mart_chain_monthly": ("month",),
    "mart_miner_monthly": ("month", "ticker"),
    "mart_miner_operations_monthly": ("month", "ticker"),
    "mart_monthly_note": ("month",),
    "mart_valuation_history": ("month",),
}
FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}
REL_TOL = 1e-9


@dataclass(frozen=True)
class Mismatch:
    table: str
    column: str | None  # None: about the table (columns, keys)
    kind: str  # "columns", "types", "missing_keys", "duplicate_keys", "values"
    count: int
    example: str

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{where}: {self.kind} ({self.count}): {self.example}"

    def as_dict(self) -> dict:
        return asdict(self)


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _columns(conn: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in conn.execute(f"describe select * from {relation}").fetchall()]


def _differs(column: str, data_type: str, rel_tol: float) -> str:
    left, right = f"l.{_q(column)}", f"r.{_q(column)}"
    if data_type.upper() in FLOAT_TYPES:
        same = (
            f"({left} is null and {right} is null)"
            f" or (isnan({left}) and isnan({right}))"
            f" or {left} = {right}"
            f" or abs({left} - {right}) <= {rel_tol!r} * greatest(abs({left}), abs({right}))"
        )
        return f"not coalesce({same}, false)"
    return f"{left} is distinct from {right}"


def compare_table(
    conn: duckdb.DuckDBPyConnection,
    left: str,
    right: str,
    key: tuple[str, ...],
    *,
    table: str | None = None,
    rel_tol: float = REL_TOL,
) -> list[Mismatch]:
    """Mismatches between relations `left` (expected) and `right` (e.g. `pub.main.mart_x`)."""
    name = table or left
    left_cols, right_cols = _columns(conn, left), _columns(conn, right)
    if [c for c, _ in left_cols] != [c for c, _ in right_cols]:
        return [Mismatch(name, None, "columns", 1, f"{[c for c, _ in left_cols]} vs {[c for c, _ in right_cols]}")]
    found = [
        Mismatch(name, column, "types", 1, f"{lt} vs {rt}")
        for (column, lt), (_, rt) in zip(left_cols, right_cols)
        if lt != rt
    ]
    keys = ", ".join(_q(k) for k in key)
    for side, relation in (("left", left), ("right", right)):
        dupes, example = conn.execute(
            f"select count(*), min(k) from (select concat_ws(', ', {keys}) as k from {relation} "
            f"group by {keys} having count(*) > 1)"
        ).fetchone()
        if dupes:
            found.append(Mismatch(name, None, "duplicate_keys", dupes, f"{side} side, e.g. ({example})"))
    on = " and ".join(f"l.{_q(k)} = r.{_q(k)}" for k in key)
    key_text = "concat_ws(', ', " + ", ".join(f"coalesce(l.{_q(k)}, r.{_q(k)})" for k in key) + ")"
    first_key = _q(key[0])
    types = dict(left_cols)
    values = [c for c, _ in left_cols if c not in key]
    parts = [
        f"count(*) filter (where r.{first_key} is null) as only_left",
        f"min({key_text}) filter (where r.{first_key} is null) as only_left_example",
        f"count(*) filter (where l.{first_key} is null) as only_right",
        f"min({key_text}) filter (where l.{first_key} is null) as only_right_example",
    ]
    for i, column in enumerate(values):
        differs = (
            f"l.{first_key} is not null and r.{first_key} is not null and ({_differs(column, types[column], rel_tol)})"
        )
        example = (
            f"'(' || {key_text} || '): ' || coalesce(cast(l.{_q(column)} as varchar), 'NULL')"
            f" || ' vs ' || coalesce(cast(r.{_q(column)} as varchar), 'NULL')"
        )
        parts.append(f"count(*) filter (where {differs}) as n{i}")
        parts.append(f"min({example}) filter (where {differs}) as e{i}")
    row = conn.execute(f"select {', '.join(parts)} from {left} as l full outer join {right} as r on {on}").fetchone()
    only_left, only_left_example, only_right, only_right_example = row[:4]
    if only_left:
        found.append(Mismatch(name, None, "missing_keys", only_left, f"only on the left, e.g. ({only_left_example})"))
    if only_right:
        found.append(
            Mismatch(name, None, "missing_keys", only_right, f"only on the right, e.g. ({only_right_example})")
        )
    for i, column in enumerate(values):
        count, example = row[4 + 2 * i], row[5 + 2 * i]
        if count:
            found.append(Mismatch(name, column, "values", count, example))
    return found


def compare_marts(
    conn: duckdb.DuckDBPyConnection, expected: str, actual: str, *, rel_tol: float = REL_TOL
) -> tuple[list[Mismatch], dict[str, int]]:
    """Compare every mart of MART_KEYS between two schemas (`catalog.schema`) of `conn`; returns
    the mismatches and the row counts of `expected`."""
    mismatches, rows = [], {}
    for table, key in MART_KEYS.items():
        left, right = f"{expected}.{_q(table)}", f"{actual}.{_q(table)}"
        rows[table] = conn.execute(f"select count(*) from {left}").fetchone()[0]
        mismatches += compare_table(conn, left, right, key, table=table, rel_tol=rel_tol)
    return mismatches, rows
