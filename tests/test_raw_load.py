"""Raw loads: validated before writing, one transaction, idempotent."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from orchestration.raw_load import RawDataError, load_frame


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


def load(conn, frame, dataset="equity_prices"):
    return load_frame(conn, dataset, frame, origin="prices.csv", source_name="test", synthetic=False)


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
        ({"close": ["20.5", "abc", "9.75"]}, "prices.csv: row 2, column 'close': value 'abc' is not a valid DOUBLE"),
        ({"close": [20.5, -1.0, 9.75]}, "prices.csv: row 2, column 'close': value '-1.0' must be > 0"),
        ({"date": ["2024-06-27", "2024-13-45", "2024-06-28"]}, "row 2, column 'date': value '2024-13-45' is not a valid DATE"),
        ({"ticker": ["MARA", None, "RIOT"]}, "row 2, column 'ticker': value is empty (required)"),
        ({"ticker": ["MARA", "RIOT", "RIOT"]}, "row 3, column(s) 'date, ticker': duplicate key (2024-06-28, RIOT), first seen at row 2"),
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
    assert conn.execute("select count(*) from information_schema.tables where table_name = 'equity_prices'").fetchone()[0] == 0


def test_nullable_column_may_be_empty(conn):
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-04-19"]), "price_usd": [63_800.0], "hashrate_ehs": [None],
            "difficulty": [8.6e13], "block_height": [840_002], "blocks_mined": [151], "fees_btc": [250.0],
            "supply_btc": [19_687_500.0],
        }
    )
    assert load(conn, frame, "btc_daily").row_count == 1
    assert conn.execute("select hashrate_ehs from raw.btc_daily").fetchone()[0] is None
