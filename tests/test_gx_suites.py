"""A GX suite file against a small hand-made build file: what each expectation finds in text columns."""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from orchestration.core.paths import WarehousePaths
from orchestration.quality import gx_engine
from orchestration.quality.suites import EXPECTATIONS_DIR, SuiteOutcome


def expectation(kind: str, **kwargs) -> dict:
    return {"type": kind, "severity": "critical", "kwargs": kwargs}


def validate_listing(tmp_path, rows: str, expectations: list[dict]) -> SuiteOutcome:
    """A build file whose raw.listing is `rows` (a SQL query), and a suite of `expectations` on it."""
    build = tmp_path / "build.duckdb"
    with duckdb.connect(str(build)) as conn:
        conn.execute("create schema raw")
        conn.execute(f"create table raw.listing as {rows}")
    suite = tmp_path / "raw.listing.json"
    suite.write_text(json.dumps({
        "name": "raw.listing", "meta": {"table": "raw.listing", "asset_key": ["raw", "listing"]},
        "expectations": expectations,
    }))  # fmt: skip
    [outcome] = gx_engine.validate_suites(WarehousePaths(build.parent), [suite], "run-0001")
    return outcome


def test_text_columns_are_compared_counted_and_named_as_written(tmp_path):
    """Text columns reach GX as categoricals (gx_engine._text_as_categories): two of them still
    compare with each other, duplicates, nulls and set membership are counted as on plain strings,
    and a failure's example row shows the ticker as written."""
    outcome = validate_listing(
        tmp_path,
        "select * from (values ('MARA', 'MARA', 1), ('RIOT', 'RIOTX', 2), ('RIOT', 'RIOT', 3), (null, 'CLSK', "
        "4)) t(ticker, quoted_as, n)",
        [
            expectation("expect_column_pair_values_to_be_equal", column_A="ticker", column_B="quoted_as",
                        ignore_row_if="either_value_is_missing"),
            expectation("expect_column_values_to_be_unique", column="ticker"),
            expectation("expect_column_values_to_not_be_null", column="ticker"),
            expectation("expect_column_values_to_be_in_set", column="ticker", value_set=["MARA", "RIOT"]),
            expectation("expect_column_values_to_be_in_set", column="quoted_as", value_set=["MARA", "RIOT"]),
        ],
    )  # fmt: skip

    assert outcome.evaluated == 5 and outcome.rows == 4
    found = {(f.expectation, f.column): f for f in outcome.failures}
    assert set(found) == {
        ("expect_column_pair_values_to_be_equal", "ticker, quoted_as"),
        ("expect_column_values_to_be_unique", "ticker"),
        ("expect_column_values_to_not_be_null", "ticker"),
        ("expect_column_values_to_be_in_set", "quoted_as"),
    }
    pair = found[("expect_column_pair_values_to_be_equal", "ticker, quoted_as")]
    assert pair.unexpected_count == 1  # RIOT / RIOTX; the row without a ticker is ignored
    assert pair.example_rows == [{"ticker": "RIOT", "quoted_as": "RIOTX", "n": 2}]
    assert found[("expect_column_values_to_be_unique", "ticker")].unexpected_count == 2
    assert found[("expect_column_values_to_not_be_null", "ticker")].unexpected_count == 1
    assert found[("expect_column_values_to_be_in_set", "quoted_as")].unexpected_count == 2  # RIOTX and CLSK
    assert "example row: {'ticker': 'RIOT', 'quoted_as': 'RIOTX'" in pair.describe("raw.listing")


def test_a_huge_text_value_is_cut_in_the_example_row(tmp_path):
    """A valid but enormous value (a 1,000,000-character ticker) is named by its first 200
    characters and its length, not echoed whole into the run's output and the UI (issue #19, 15)."""
    outcome = validate_listing(
        tmp_path,
        "select repeat('X', 1000000) as ticker, 1 as n",
        [expectation("expect_column_values_to_be_in_set", column="ticker", value_set=["MARA"])],
    )

    [failure] = outcome.failures
    assert failure.example_rows == [{"ticker": "X" * 200 + "… (1,000,000 characters)", "n": 1}]
    assert len(failure.describe("raw.listing")) < 400


def test_text_columns_share_one_category_set_and_typed_columns_stay_text():
    frame = duckdb.sql(
        "select * from (values ('MARA', 'MARA', 1, null::varchar), ('RIOT', 'RIOTX', 2, null)) t(ticker, "
        "quoted_as, n, empty)"
    ).df()

    converted = gx_engine._text_as_categories(frame, keep={"quoted_as"})

    assert isinstance(converted["ticker"].dtype, pd.CategoricalDtype)
    assert list(converted["ticker"].cat.categories) == ["MARA", "RIOT"]  # quoted_as is kept, so not in the set
    assert converted["quoted_as"].dtype == frame["quoted_as"].dtype  # named by a type expectation: text
    assert converted["n"].dtype == frame["n"].dtype and converted["empty"].dtype == object  # all null: left alone
    both = gx_engine._text_as_categories(frame)
    assert both["ticker"].dtype == both["quoted_as"].dtype  # one category set: the two compare
    assert list(both["quoted_as"].cat.categories) == ["MARA", "RIOT", "RIOTX"]


def test_a_type_expectation_sees_a_text_column_as_text(tmp_path):
    """A suite asking for str on a text column passes: the column it names is not made categorical."""
    outcome = validate_listing(
        tmp_path,
        "select * from (values ('MARA', 1), ('RIOT', 2)) t(ticker, n)",
        [expectation("expect_column_values_to_be_of_type", column="ticker", type_="str")],
    )

    assert outcome.evaluated == 1 and outcome.failures == []


def test_the_plausibility_rules_tell_splits_from_fat_fingers(tmp_path):
    """The raw suites as they stand, on a hand-made build: a 1-for-10 reverse split (close x10) and a
    3-for-1 split dated on a Saturday (close /3 from Friday to Monday) pass the one-day move and
    shares rules; a close x100 and shares x1000 with no split on file are critical, named; the
    Saturday split is a warning naming the session it applies from."""
    build = tmp_path / "build.duckdb"
    with duckdb.connect(str(build)) as conn:
        conn.execute("create schema raw")
        conn.execute("""create table raw.equity_prices as select d::date as date, t as ticker, c::double as close
            from (values ('2024-06-03', 'RVS', 1.00), ('2024-06-04', 'RVS', 10.20), ('2024-06-05', 'RVS', 10.00),
                         ('2024-06-06', 'FWD', 91.00), ('2024-06-07', 'FWD', 90.00), ('2024-06-10', 'FWD', 30.50),
                         ('2024-06-03', 'FAT', 14.73), ('2024-06-04', 'FAT', 1473.26), ('2024-06-05', 'FAT', 14.80)
            ) v(d, t, c)""")  # fmt: skip
        conn.execute("""create table raw.splits as select t as ticker, d::date as ex_date, r::double as ratio
            from (values ('RVS', '2024-06-04', 0.1), ('FWD', '2024-06-08', 3.0)) v(t, d, r)""")
        conn.execute("""create table raw.shares_outstanding as select t as ticker, d::date as as_of, s::bigint as shares
            from (values ('RVS', '2024-03-31', 50000000), ('RVS', '2024-06-30', 5100000),
                         ('FWD', '2024-03-31', 10000000), ('FWD', '2024-06-30', 30500000),
                         ('FAT', '2024-03-31', 200000000), ('FAT', '2024-06-30', 200000000000)
            ) v(t, d, s)""")  # fmt: skip
        conn.execute("""create table raw.miner_universe as select t as ticker, t as name, 'NASDAQ' as exchange,
            date '2020-01-02' as listed_on, null::date as delisted_on from (values ('RVS'), ('FWD'), ('FAT')) v(t)""")
    suites = [EXPECTATIONS_DIR / f"raw.{name}.json" for name in ("equity_prices", "shares_outstanding", "splits")]

    prices, shares, splits = gx_engine.validate_suites(WarehousePaths(tmp_path), suites, "run-0001")

    found = {(f.severity, f.column): f for f in prices.failures}
    assert set(found) == {("critical", "implausible_one_day_move"), ("warning", "one_day_move")}
    move = found["critical", "implausible_one_day_move"]
    assert move.unexpected_count == 2  # the fat finger and the day after; no row of RVS or FWD
    assert move.explanation == (
        "FAT closed at 1473.26 on 2024-06-04 after 14.73 on 2024-06-03: x100.0 in one session, and no split is on "
        "file between the two days (beyond x5 or /5 a split must explain the move)"
    )
    assert move.example == {"date": "2024-06-04", "ticker": "FAT"}
    assert {r["ticker"] for r in found["warning", "one_day_move"].example_rows} == {"FAT"}
    [change] = shares.failures
    assert (change.severity, change.unexpected_count) == ("critical", 1)
    assert change.explanation.startswith(
        "FAT reported 200,000,000,000 shares on 2024-06-30 after 200,000,000 on 2024-03-31: x1000.0 between the two "
        "reports, and no split is on file"
    )
    [closed_day] = splits.failures
    assert closed_day.severity == "warning"
    assert closed_day.explanation == (
        "FWD's split (ratio 3) is dated 2024-06-08, a Saturday the NYSE was closed: it applies from the next session, "
        "2024-06-10"
    )
