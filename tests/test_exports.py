"""The exports beside the published file: Parquet per table and the Excel workbook, read back with
libraries other than the writers (pyarrow, openpyxl) and compared with the published file."""

from __future__ import annotations

from datetime import datetime

import duckdb
import openpyxl
import pyarrow.parquet as pq
import pytest

from orchestration.publish.exports import WORKBOOK, number_format


@pytest.mark.parametrize(
    ("column", "data_type", "expected"),
    [
        ("month", "DATE", "yyyy-mm"),
        ("mcap_to_4y_rewards_peak_month", "DATE", "yyyy-mm"),
        ("month_end_day", "DATE", "yyyy-mm-dd"),
        ("published_at", "TIMESTAMP", "yyyy-mm-dd hh:mm:ss"),
        ("miner_count", "BIGINT", "#,##0"),
        ("combined_market_cap_usd", "DOUBLE", "#,##0.00"),  # not 5.2e+10
        ("combined_market_cap_mom", "DOUBLE", "0.00%"),
        ("monthly_return", "DOUBLE", "0.00%"),
        ("fee_share_of_revenue", "DOUBLE", "0.00%"),
        ("mcap_to_remaining_btc_ratio", "DOUBLE", "0.000"),
        ("subsidy_btc", "DECIMAL(18,8)", "#,##0.00000000"),
        ("hashrate_avg_ehs", "DOUBLE", "#,##0.00"),
        ("listed_hashrate_share", "DOUBLE", "0.00%"),
        ("hashrate_share_change", "DOUBLE", "0.00%"),  # share points
        ("hashrate_realization", "DOUBLE", "0.00%"),
        ("btc_price_volatility_annualized", "DOUBLE", "0.00%"),
        ("mcap_to_proportional_4y_rewards", "DOUBLE", "0.000"),
        ("btc_per_ehs_day", "DOUBLE", "#,##0.0000"),
        ("listed_btc_produced", "DOUBLE", "#,##0.00"),
        ("btc_produced", "DOUBLE", "#,##0.0000"),
        ("btc_held_value_usd", "DOUBLE", "#,##0.00"),
        ("ticker", "VARCHAR", None),
        ("is_member", "BOOLEAN", None),
    ],
)
def test_number_format_by_type_and_name(column, data_type, expected):
    assert number_format(column, data_type) == expected


@pytest.fixture(scope="module")
def published(demo_run):
    code, settings, _ = demo_run
    assert code == 0
    with duckdb.connect(str(settings.published_db), read_only=True) as conn:
        tables = [
            row[0] for row in conn.execute("select table_name from duckdb_tables() order by table_name").fetchall()
        ]
        counts = {t: conn.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
        columns = {
            t: [
                r[0]
                for r in conn.execute(
                    "select column_name from duckdb_columns() where table_name = ? order by column_index", [t]
                ).fetchall()
            ]
            for t in tables
        }
        publication_id = conn.execute(
            "select publication_id from publication_log order by published_at desc limit 1"
        ).fetchone()[0]
    return settings.warehouse_dir / "exports", counts, columns, publication_id


def test_every_table_has_its_parquet_with_the_published_rows(published):
    exports, counts, columns, publication_id = published
    assert sorted(p.stem for p in exports.glob("*.parquet")) == sorted(counts)
    for table, count in counts.items():
        parquet = pq.read_table(exports / f"{table}.parquet")
        assert (parquet.num_rows, parquet.column_names) == (count, columns[table]), table
        assert pq.read_metadata(exports / f"{table}.parquet").metadata[b"publication_id"] == publication_id.encode()


def test_the_workbook_has_a_sheet_per_mart_definitions_and_the_publication(published):
    exports, counts, columns, publication_id = published
    book = openpyxl.load_workbook(exports / WORKBOOK)
    marts = sorted(t for t in counts if t.startswith("mart_"))
    assert book.sheetnames == [*marts, "definitions", "publication"]
    for mart in marts:
        sheet = book[mart]
        assert sheet.freeze_panes == "A2"
        assert [c.value for c in sheet[1]] == columns[mart]
        assert sheet.max_row - 1 == counts[mart], mart
    note = book["mart_monthly_note"]
    header = {cell.value: cell.column for cell in note[1]}
    last = note.max_row
    month = note.cell(last, header["month"])
    cap = note.cell(last, header["combined_market_cap_usd"])
    move = note.cell(last, header["combined_market_cap_mom"])
    assert isinstance(month.value, datetime) and month.number_format == "yyyy-mm"
    assert isinstance(cap.value, float) and cap.value > 1e9 and cap.number_format == "#,##0.00"
    assert isinstance(move.value, float) and move.number_format == "0.00%"
    assert note.cell(last, header["is_synthetic_data"]).value is True


def test_the_definitions_sheet_defines_every_published_column(published):
    exports, _, columns, _ = published
    sheet = openpyxl.load_workbook(exports / WORKBOOK, read_only=True)["definitions"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("table", "column", "type", "definition")
    defined = {(table, column): definition for table, column, _, definition in rows[1:]}
    for table, names in columns.items():
        for name in names:
            assert defined.get((table, name)), f"{table}.{name} has no definition in the workbook"
    assert "7 daily bitcoin prices" in defined[("mart_monthly_note", "btc_price_month_end_usd")]


def test_the_publication_sheet_names_this_publication_first(published):
    exports, counts, _, publication_id = published
    sheet = openpyxl.load_workbook(exports / WORKBOOK, read_only=True)["publication"]
    header, newest = list(sheet.iter_rows(min_row=1, max_row=2, values_only=True))
    row = dict(zip(header, newest))
    assert (row["publication_id"], row["storage_version"], row["is_synthetic"]) == (publication_id, "v1.0.0", True)


def test_a_mart_longer_than_a_sheet_keeps_its_first_rows_and_says_so(tmp_path, monkeypatch):
    from orchestration.publish import exports

    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 3)
    with duckdb.connect() as conn:
        conn.execute(f"attach '{tmp_path / 'p.duckdb'}' as pub")
        conn.execute("create table pub.main.mart_x as select range as n from range(5)")
        conn.execute(
            "create table pub.main.publication_log as select 'id' as publication_id, true as is_synthetic, "
            "now()::timestamp as published_at"
        )
        written, notices = exports.write_exports(conn, "pub", tmp_path / "out", "id")
    assert notices == [
        "miner_note.xlsx: sheet mart_x holds the first 3 of its 5 rows (an Excel sheet's limit); "
        "mart_x.parquet has all of them"
    ]
    book = openpyxl.load_workbook(tmp_path / "out" / WORKBOOK, read_only=True)
    assert [r[0] for r in book["mart_x"].iter_rows(values_only=True)] == ["n", 0, 1, 2]
    assert list(book["definitions"].iter_rows(values_only=True))[-1] == ("(workbook)", None, None, notices[0])
    assert pq.read_table(tmp_path / "out" / "mart_x.parquet").num_rows == 5
