"""The publication's exports, for readers without a DuckDB client: one Parquet file per table and
one Excel workbook.

Written by the publish step into the new publication's folder, from the same attached DuckDB file
(so they hold exactly what it holds), before that publication is made current (publication.py).

- `<table>.parquet` for every mart and `publication_log`: DuckDB's own `COPY ... (FORMAT parquet)`,
  each file carrying the publication's id in its key-value metadata (`publication_id`).
- `miner_note.xlsx`: one sheet per mart, a `definitions` sheet (every column's definition, from the
  dbt YAML via the published file's comments) and a `publication` sheet (publication_log, newest
  first). Numbers stay numbers, formatted by what they are (`number_format`), header row frozen.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import xlsxwriter

WORKBOOK = "miner_note.xlsx"
EXCEL_MAX_ROWS = 1_048_575  # an Excel sheet's 1,048,576 rows, less the header
LOG_TABLE = "publication_log"
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
_FRACTION_SUFFIXES = ("_mom", "_return", "_share", "_share_of_revenue", "_share_change", "_realization", "_annualized")


def number_format(column: str, data_type: str) -> str | None:
    """The Excel number format of a column, from its DuckDB type and the naming rules the marts
    follow: `_mom` / `_return` / `_share` (and a share's `_change`, a `_realization`, an
    `_annualized` volatility) are fractions (shown as %), `_usd` amounts in dollars, `_btc` amounts
    to the satoshi and other bitcoin quantities (`btc_*`) to 4 decimals, the gauges (`mcap_to_*`)
    as ratios; a month as YYYY-MM."""
    data_type = data_type.upper()
    if data_type == "DATE":
        return "yyyy-mm" if column == "month" or column.endswith("_month") else "yyyy-mm-dd"
    if data_type.startswith("TIMESTAMP"):
        return "yyyy-mm-dd hh:mm:ss"
    if data_type in _INTEGER_TYPES:
        return "#,##0"
    if data_type not in ("DOUBLE", "FLOAT", "REAL") and not data_type.startswith("DECIMAL"):
        return None
    if column.endswith(_FRACTION_SUFFIXES) or column == "monthly_return":
        return "0.00%"
    if column.startswith("mcap_to_"):
        return "0.000"
    if column.endswith("_btc"):
        return "#,##0.00000000"
    if column.startswith("btc_") and not column.endswith("_usd"):
        return "#,##0.0000"
    return "#,##0.00"


def sql_text(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def _columns(conn: duckdb.DuckDBPyConnection, database: str, table: str) -> list[tuple[str, str, str | None]]:
    return conn.execute(
        "select column_name, data_type, comment from duckdb_columns() "
        "where database_name = ? and schema_name = 'main' and table_name = ? order by column_index",
        [database, table],
    ).fetchall()


def _tables(conn: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str | None]]:
    return conn.execute(
        "select table_name, comment from duckdb_tables() where database_name = ? and schema_name = 'main' "
        "order by table_name = ?, table_name",
        [database, LOG_TABLE],
    ).fetchall()


def write_parquet(conn: duckdb.DuckDBPyConnection, database: str, table: str, path: Path, publication_id: str) -> None:
    conn.execute(
        f'copy (select * from {database}.main."{table}") to {sql_text(str(path))} '
        f"(format parquet, compression zstd, kv_metadata {{publication_id: {sql_text(publication_id)}}})"
    )


def write_workbook(conn: duckdb.DuckDBPyConnection, database: str, path: Path, publication_id: str) -> list[str]:
    """The workbook: marts first (alphabetical), then `definitions` and `publication`. A mart longer
    than a sheet holds keeps its first EXCEL_MAX_ROWS rows there (the Parquet has all): returned as
    notices, and said at the end of the definitions sheet."""
    tables = _tables(conn, database)
    synthetic = conn.execute(
        f"select bool_or(is_synthetic) from {database}.main.{LOG_TABLE} where publication_id = ?", [publication_id]
    ).fetchone()[0]
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "nan_inf_to_errors": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    workbook.set_properties(
        {
            "title": "Bitcoin-miner equities note: published marts",
            "subject": f"publication {publication_id}",
            "comments": "SYNTHETIC DEMO DATA - not market data" if synthetic else "",
        }
    )
    header = workbook.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
    formats: dict[str, object] = {}
    notices = []
    try:
        for table, _ in tables:
            if table != LOG_TABLE:
                rows = conn.execute(f'select count(*) from {database}.main."{table}"').fetchone()[0]
                if rows > EXCEL_MAX_ROWS:
                    notices.append(
                        f"{WORKBOOK}: sheet {table} holds the first {EXCEL_MAX_ROWS:,} of its {rows:,} "
                        f"rows (an Excel sheet's limit); {table}.parquet has all of them"
                    )
                _write_sheet(
                    conn,
                    workbook,
                    formats,
                    header,
                    table,
                    f'select * from {database}.main."{table}" limit {EXCEL_MAX_ROWS}',
                    _columns(conn, database, table),
                )
        definitions = [
            ("table", "VARCHAR", None),
            ("column", "VARCHAR", None),
            ("type", "VARCHAR", None),
            ("definition", "VARCHAR", None),
        ]
        sheet, row = _write_sheet(
            conn,
            workbook,
            formats,
            header,
            "definitions",
            f"select tbl, col, typ, def from ("
            f"select table_name as tbl, '(table)' as col, '' as typ, coalesce(comment, '') as def, -1 as pos "
            f"from duckdb_tables() where database_name = '{database}' and schema_name = 'main' "
            f"union all select table_name, column_name, data_type, coalesce(comment, ''), column_index "
            f"from duckdb_columns() where database_name = '{database}' and schema_name = 'main'"
            f") order by tbl = '{LOG_TABLE}', tbl, pos",
            definitions,
            widths=(24, 36, 12, 100),
        )
        for notice in notices:
            sheet.write_row(row, 0, ("(workbook)", "", "", notice))
            row += 1
        _write_sheet(
            conn,
            workbook,
            formats,
            header,
            "publication",
            f"select * from {database}.main.{LOG_TABLE} order by published_at desc",
            _columns(conn, database, LOG_TABLE),
        )
    finally:
        workbook.close()
    return notices


def _write_sheet(conn, workbook, formats, header, name, query, columns, widths=None):
    """A sheet of the query's rows under a frozen header of `columns`; returns it and its next row."""
    sheet = workbook.add_worksheet(name[:31])
    sheet.freeze_panes(1, 0)
    cell_formats = []
    for index, (column, data_type, comment) in enumerate(columns):
        pattern = number_format(column, data_type)
        if pattern and pattern not in formats:
            formats[pattern] = workbook.add_format({"num_format": pattern})
        cell_formats.append(formats.get(pattern))
        width = widths[index] if widths else min(max(len(column), 10) + 2, 40)
        sheet.set_column(index, index, width, cell_formats[-1])
        sheet.write(0, index, column, header)
        if comment:
            sheet.write_comment(0, index, comment, {"x_scale": 3, "y_scale": 2})
    cursor = conn.execute(query)
    row = 1
    while batch := cursor.fetchmany(10_000):
        for values in batch:
            for col, value in enumerate(values):
                if value is None:
                    continue
                sheet.write(row, col, value, cell_formats[col])
            row += 1
    return sheet, row


def write_exports(
    conn: duckdb.DuckDBPyConnection, database: str, out_dir: Path, publication_id: str
) -> tuple[list[Path], list[str]]:
    """Every table of `database` (an attached published file) as Parquet, and the workbook; the
    files written and what a reader must know of them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for table, _ in _tables(conn, database):
        path = out_dir / f"{table}.parquet"
        write_parquet(conn, database, table, path, publication_id)
        written.append(path)
    workbook = out_dir / WORKBOOK
    notices = write_workbook(conn, database, workbook, publication_id)
    return [*written, workbook], notices
