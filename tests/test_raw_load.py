"""Raw loads: validated before writing, one transaction, idempotent."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pandas as pd
import pytest

from orchestration.raw.contract import RawDataError
from orchestration.raw.loader import load_frame


def prices(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-06-27", "2024-06-28", "2024-06-28"]),
            "ticker": ["MARA", "MARA", "RIOT"],
            "close": [20.5, 21.0, 9.75],
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return frame


def load(conn, frame, dataset="equity_prices", window=None):
    return load_frame(conn, dataset, frame, origin="prices.csv", source_name="test", synthetic=False, window=window)


@pytest.fixture
def conn():
    with duckdb.connect() as connection:
        yield connection


def table(conn, name="raw.equity_prices"):
    return conn.execute(f"select * from {name} order by all").fetchall()


def test_load_twice_gives_the_same_rows(conn):
    first = load(conn, prices())
    rows = table(conn)
    second = load(conn, prices())
    assert first.row_count == second.row_count == 3
    assert table(conn) == rows
    assert conn.execute("select count(*) from raw.load_log where dataset = 'equity_prices'").fetchone()[0] == 1


def test_types_are_the_dataset_types(conn):
    load(conn, prices())
    types = dict(conn.execute("select column_name, column_type from (describe raw.equity_prices)").fetchall())
    assert types == {"date": "DATE", "ticker": "VARCHAR", "close": "DOUBLE"}


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"close": ["20.5", "abc", "9.75"]},
            "prices.csv: row 2 (date 2024-06-28, ticker MARA), column 'close': value 'abc' is not a valid DOUBLE",
        ),
        (
            {"close": [20.5, -1.0, 9.75]},
            "prices.csv: row 2 (date 2024-06-28, ticker MARA), column 'close': value '-1.0' must be > 0",
        ),
        (
            {"date": ["2024-06-27", "2024-13-45", "2024-06-28"]},
            "row 2 (date 2024-13-45, ticker MARA), column 'date': value '2024-13-45' is not a valid DATE",
        ),
        (
            {"ticker": ["MARA", None, "RIOT"]},
            "row 2 (date 2024-06-28, ticker empty), column 'ticker': value is empty (required)",
        ),
        (
            {"ticker": ["MARA", "RIOT", "RIOT"]},
            "row 3, column(s) 'date, ticker': duplicate key (2024-06-28, RIOT), first seen at row 2",
        ),
        (
            {"close": [20.5, float("inf"), 9.75]},
            "row 2 (date 2024-06-28, ticker MARA), column 'close': value 'inf' is not a valid DOUBLE",
        ),
        (
            {"close": [20.5, float("-inf"), 9.75]},
            "row 2 (date 2024-06-28, ticker MARA), column 'close': value '-inf' is not a valid DOUBLE",
        ),
        (
            {"date": pd.to_datetime(["2024-06-27 00:00", "2024-06-28 13:00", "2024-06-28 00:00"])},
            "row 2 (date 2024-06-28, ticker MARA), column 'date': value '2024-06-28 13:00:00' is not a valid DATE",
        ),
    ],
)
def test_bad_input_names_row_column_and_value_and_keeps_the_old_table(conn, overrides, message):
    load(conn, prices())
    before = table(conn)
    with pytest.raises(RawDataError) as error:
        load(conn, prices(**overrides))
    assert message in str(error.value)
    assert table(conn) == before


def test_missing_column_is_named(conn):
    with pytest.raises(RawDataError, match=r"prices.csv: missing column\(s\) close"):
        load(conn, prices().drop(columns=["close"]))
    assert (
        conn.execute("select count(*) from information_schema.tables where table_name = 'equity_prices'").fetchone()[0]
        == 0
    )


def test_nullable_column_may_be_empty(conn):
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-04-19"]),
            "price_usd": [63_800.0],
            "hashrate_ehs": [None],
            "difficulty": [8.6e13],
            "block_height": [840_002],
            "blocks_mined": [151],
            "fees_btc": [250.0],
            "supply_btc": [19_687_500.0],
        }
    )
    assert load(conn, frame, "btc_daily").row_count == 1
    assert conn.execute("select hashrate_ehs from raw.btc_daily").fetchone()[0] is None


def month_of_prices(month: str, closes: list[float]) -> pd.DataFrame:
    days = pd.to_datetime([f"{month}-0{d}" for d in range(3, 3 + len(closes))])
    return pd.DataFrame({"date": days, "ticker": ["MARA"] * len(closes), "close": closes})


def test_a_window_load_replaces_only_its_month(conn):
    june, july = (date(2024, 6, 1), date(2024, 6, 30)), (date(2024, 7, 1), date(2024, 7, 31))
    load(conn, month_of_prices("2024-06", [1.0, 2.0]), window=june)
    load(conn, month_of_prices("2024-07", [3.0]), window=july)
    again = load(conn, month_of_prices("2024-06", [5.0, 6.0, 7.0]), window=june)
    assert (again.row_count, again.table_rows, again.outside_window) == (3, 4, 0)
    assert [r[2] for r in table(conn)] == [5.0, 6.0, 7.0, 3.0]


def test_a_window_the_source_left_empty_keeps_the_days_the_table_holds(conn):
    june, july = (date(2024, 6, 1), date(2024, 6, 30)), (date(2024, 7, 1), date(2024, 7, 31))
    load(conn, month_of_prices("2024-06", [1.0, 2.0]), window=june)
    before = table(conn)
    with pytest.raises(
        RawDataError,
        match=re.escape(
            "prices.csv: no rows dated 2024-06-01 .. 2024-06-30, where raw.equity_prices holds 2; kept them"
        ),
    ):
        load(conn, month_of_prices("2024-07", [3.0]), window=june)  # only July delivered
    assert table(conn) == before
    nothing_yet = load(
        conn, month_of_prices("2024-06", [4.0]), window=july
    )  # a month not published yet: no rows to keep
    assert (nothing_yet.row_count, nothing_yet.outside_window) == (0, 1)


def test_a_sparse_dataset_may_have_a_month_without_rows(conn):
    june = (date(2024, 6, 1), date(2024, 6, 30))
    splits = pd.DataFrame({"ticker": ["MARA"], "ex_date": pd.to_datetime(["2024-06-10"]), "ratio": [2.0]})
    load(conn, splits, dataset="splits", window=june)
    emptied = load(conn, splits.iloc[0:0], dataset="splits", window=june)  # the split was withdrawn
    assert (emptied.row_count, emptied.table_rows) == (0, 0)


def test_rows_outside_the_window_are_counted_not_written(conn):
    frame = pd.concat([month_of_prices("2024-06", [1.0]), month_of_prices("2024-07", [2.0, 3.0])])
    result = load(conn, frame, window=(date(2024, 7, 1), date(2024, 7, 31)))
    assert (result.row_count, result.outside_window) == (2, 1)
    assert [r[2] for r in table(conn)] == [2.0, 3.0]


def test_a_bad_row_in_a_window_load_keeps_the_other_months(conn):
    load(conn, month_of_prices("2024-06", [1.0]), window=(date(2024, 6, 1), date(2024, 6, 30)))
    before = table(conn)
    with pytest.raises(RawDataError, match=r"row 1 \(date 2024-06-[0-9]{2}, ticker [A-Z]+\), column 'close'"):
        load(conn, month_of_prices("2024-06", [-2.0]), window=(date(2024, 6, 1), date(2024, 6, 30)))
    assert table(conn) == before


def test_whole_number_column_refuses_a_fraction_from_a_float_column(conn):
    frame = pd.DataFrame(
        {"ticker": ["MARA", "RIOT"], "as_of": pd.to_datetime(["2024-03-31"] * 2), "shares": [2.5e8, 2.875e8 + 0.5]}
    )
    with pytest.raises(
        RawDataError,
        match=r"row 2 \(ticker RIOT, as_of 2024-03-31\), column 'shares': value '287500000.5' is not a valid BIGINT",
    ):
        load(conn, frame, "shares_outstanding")
    frame["shares"] = [2.5e8, 2.875e8]
    assert load(conn, frame, "shares_outstanding").row_count == 2
