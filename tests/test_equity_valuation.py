"""Issue 5 - miner equities and the valuation gauges, checked through dbt on the demo data.

The demo's seed tickers carry the hard cases on purpose: SDIG 1-for-10 reverse split ex 2023-05-15
after its 2023-03-31 shares report, IREN 3-for-1 ex 2024-06-10, MARA 1-for-4 reverse ex 2019-04-08,
BTBT 2-for-1 ex 2021-02-16, SDIG delisted 2025-03-14 (first day not traded), listings such as BTDR
2023-04-14 and CORZ 2024-01-24. Expected values are worked out from the raw tables, not from the
models under test.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest


@pytest.fixture(scope="module")
def warehouse(demo_run) -> Path:
    """The session's full demo build: raw tables and every model, built by the pipeline."""
    exit_code, settings, _ = demo_run
    assert exit_code == 0
    return settings.warehouse_dir


@pytest.fixture
def db(warehouse):
    with duckdb.connect(str(warehouse / "build.duckdb"), read_only=True) as conn:
        yield conn


def one(conn, sql: str, params: list | None = None):
    rows = conn.execute(sql, params or []).fetchall()
    assert len(rows) == 1, f"expected one row, got {rows}"
    return rows[0]


def close_on(conn, ticker: str, day: str) -> float:
    return one(conn, "select close from raw.equity_prices where ticker = ? and date = ?", [ticker, day])[0]


def last_trading_day(conn, month: str) -> date:
    return one(
        conn,
        "select max(date) from raw.equity_prices where date_trunc('month', date) = cast(? as date)",
        [month],
    )[0]


def miner_month(conn, ticker: str, month: str) -> dict:
    cursor = conn.execute("select * from marts.mart_miner_monthly where ticker = ? and month = ?", [ticker, month])
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert len(rows) == 1, f"{ticker} {month}: {rows}"
    return dict(zip(names, rows[0]))


def test_reverse_split_after_a_shares_report_does_not_inflate_the_cap(db):
    # SDIG reports shares on 2023-03-31, then 1-for-10 ex 2023-05-15: May's shares are a tenth.
    reported = one(db, "select shares from raw.shares_outstanding where ticker = 'SDIG' and as_of = '2023-03-31'")[0]
    assert (
        one(
            db,
            "select count(*) from raw.shares_outstanding where ticker = 'SDIG' and as_of > '2023-03-31' and "
            "as_of <= '2023-05-31'",
        )[0]
        == 0
    )
    april, may = miner_month(db, "SDIG", "2023-04-01"), miner_month(db, "SDIG", "2023-05-01")
    may_close = close_on(db, "SDIG", str(last_trading_day(db, "2023-05-01")))
    assert may["shares_outstanding"] == round(reported * 0.1)
    assert may["market_cap_usd"] == pytest.approx(may_close * round(reported / 10), rel=1e-12)
    assert 0.2 < may["market_cap_usd"] / april["market_cap_usd"] < 5  # not ~10x
    assert may["split_in_month"] and not april["split_in_month"]
    april_close = close_on(db, "SDIG", str(last_trading_day(db, "2023-04-01")))
    assert may["monthly_return"] == pytest.approx(may_close / (april_close / 0.1) - 1, rel=1e-9)


@pytest.mark.parametrize(
    ("ticker", "month", "previous_month", "ratio"),
    [
        ("IREN", "2024-06-01", "2024-05-01", 3.0),  # 3-for-1 forward
        ("MARA", "2019-04-01", "2019-03-01", 0.25),  # 1-for-4 reverse
        ("BTBT", "2021-02-01", "2021-01-01", 2.0),  # 2-for-1 forward
    ],
)
def test_return_across_a_split_is_the_split_adjusted_change(db, ticker, month, previous_month, ratio):
    now = close_on(db, ticker, str(last_trading_day(db, month)))
    before = close_on(db, ticker, str(last_trading_day(db, previous_month)))
    row = miner_month(db, ticker, month)
    assert row["split_in_month"]
    assert row["monthly_return"] == pytest.approx(now / (before / ratio) - 1, rel=1e-9)
    assert row["monthly_return"] != pytest.approx(now / before - 1, abs=0.05)


@pytest.mark.parametrize(
    ("ticker", "month", "next_month"),
    [("BTDR", "2023-04-01", "2023-05-01"), ("CORZ", "2024-01-01", "2024-02-01")],
)
def test_listing_month_has_a_cap_but_no_return(db, ticker, month, next_month):
    row = miner_month(db, ticker, month)
    assert row["listed_in_month"] and row["is_member"]
    assert row["monthly_return"] is None and row["return_rank"] is None
    assert row["market_cap_usd"] > 0
    assert (
        one(db, "select count(*) from marts.mart_miner_monthly where ticker = ? and month < ?", [ticker, month])[0] == 0
    )
    following = miner_month(db, ticker, next_month)
    assert following["monthly_return"] is not None and not following["listed_in_month"]


def test_delisted_miner_leaves_in_the_month_it_misses_the_last_trading_day(db):
    # SDIG trades in March 2025 up to 03-13 but not on March's last trading day.
    march_end = last_trading_day(db, "2025-03-01")
    sdig_last = one(db, "select max(date) from raw.equity_prices where ticker = 'SDIG' and date >= '2025-03-01'")[0]
    assert date(2025, 3, 1) <= sdig_last < date(2025, 3, 14) <= march_end
    march = miner_month(db, "SDIG", "2025-03-01")
    assert not march["is_member"] and march["delisted_in_month"]
    assert march["market_cap_usd"] is None and march["monthly_return"] is None and march["return_rank"] is None
    assert miner_month(db, "SDIG", "2025-02-01")["is_member"]
    assert (
        one(db, "select count(*) from marts.mart_miner_monthly where ticker = 'SDIG' and month > '2025-03-01'")[0] == 0
    )
    assert one(db, "select count(*) from marts.mart_miner_monthly where ticker = 'SDIG' and delisted_in_month")[0] == 1


def test_membership_is_a_close_on_the_last_trading_day(db):
    wrong = one(
        db,
        """
        with month_ends as (
            select date_trunc('month', date) as month, max(date) as last_day from raw.equity_prices group by 1
        ),
        closes_on_last_day as (
            select month_ends.month, prices.ticker
            from raw.equity_prices as prices
            join month_ends on prices.date = month_ends.last_day
        )
        select count(*) from marts.mart_miner_monthly as mart
        full join closes_on_last_day as expected
            on expected.month = mart.month and expected.ticker = mart.ticker and mart.is_member
        where (mart.is_member and expected.ticker is null)
           or (expected.ticker is not null and mart.ticker is null)
           or (mart.is_member) <> (mart.market_cap_usd is not null)
        """,
    )[0]
    assert wrong == 0


def test_combined_cap_count_and_changes_come_from_the_members(db):
    rows = db.execute(
        """
        select equity.month, equity.miner_count, equity.combined_market_cap_usd,
               equity.combined_market_cap_mom, equity.combined_market_cap_like_for_like_mom,
               members.n, members.cap
        from facts.fct_equity_monthly as equity
        join (select month, count(*) filter (where is_member) as n, sum(market_cap_usd) as cap
              from marts.mart_miner_monthly group by month) as members using (month)
        order by month
        """
    ).fetchall()
    assert len(rows) == 78  # 2019-01 .. 2025-06
    caps = {}
    for month, count, cap, _mom, _, members, members_cap in rows:
        assert count == members and cap == pytest.approx(members_cap, rel=1e-12)
        caps[month] = cap
    months = sorted(caps)
    for previous, month in zip(months, months[1:]):
        mom = next(r[3] for r in rows if r[0] == month)
        assert mom == pytest.approx(caps[month] / caps[previous] - 1, rel=1e-9)
    # March 2025: SDIG drops out, so the headline change and the like-for-like one differ.
    march = next(r for r in rows if r[0] == date(2025, 3, 1))
    like_for_like = one(
        db,
        """
        select sum(now.market_cap_usd) / sum(before.market_cap_usd) - 1
        from marts.mart_miner_monthly as now
        join marts.mart_miner_monthly as before
            on before.ticker = now.ticker and before.month = '2025-02-01' and before.is_member
        where now.month = '2025-03-01' and now.is_member
        """,
    )[0]
    assert march[4] == pytest.approx(like_for_like, rel=1e-9)
    assert march[4] != pytest.approx(march[3], abs=1e-4)


def test_leader_and_laggard_are_the_best_and_worst_returns(db):
    rows = db.execute(
        """
        select equity.month, leader_ticker, leader_return, laggard_ticker, laggard_return,
               max(miners.monthly_return), min(miners.monthly_return),
               arg_max(miners.ticker, miners.return_rank), count(miners.return_rank), max(miners.return_rank)
        from facts.fct_equity_monthly as equity
        join marts.mart_miner_monthly as miners using (month)
        group by all
        """
    ).fetchall()
    for month, leader, best, laggard, worst, max_return, min_return, last_ranked, ranked, max_rank in rows:
        assert ranked == (max_rank or 0)  # ranks are 1..n without gaps or ties
        if ranked == 0:
            assert leader is None and laggard is None
            continue
        assert best == max_return and worst == min_return, month
        assert laggard == last_ranked
    assert one(db, "select count(*) from facts.fct_equity_monthly where leader_ticker is not null")[0] == 77


def test_valuation_gauges_and_their_history(db):
    rows = db.execute(
        """
        select history.*, chain.remaining_btc_value_usd as chain_remaining, chain.next_4y_rewards_value_usd as chain_4y
        from marts.mart_valuation_history as history
        join facts.fct_chain_monthly as chain using (month)
        order by month
        """
    ).fetchall()
    names = [d[0] for d in db.description]
    history = [dict(zip(names, row)) for row in rows]
    assert len(history) == 78
    for gauge, denominator in (("mcap_to_remaining_btc", "chain_remaining"), ("mcap_to_4y_rewards", "chain_4y")):
        peak, peak_month, ratios = None, None, []
        for row in history:
            ratio = row["combined_market_cap_usd"] / row[denominator]
            ratios.append(ratio)
            if peak is None or ratio > peak:
                peak, peak_month = ratio, row["month"]
            assert row[f"{gauge}_ratio"] == pytest.approx(ratio, rel=1e-12)
            assert row[f"{gauge}_peak"] == pytest.approx(peak, rel=1e-12)
            assert row[f"{gauge}_peak_month"] == peak_month
            assert row[f"{gauge}_avg"] == pytest.approx(sum(ratios) / len(ratios), rel=1e-9)
    note_side = one(
        db,
        """
        select count(*) from facts.fct_equity_monthly as equity
        join marts.mart_valuation_history as history using (month)
        where equity.mcap_to_remaining_btc_peak_month is distinct from history.mcap_to_remaining_btc_peak_month
           or equity.mcap_to_4y_rewards_avg is distinct from history.mcap_to_4y_rewards_avg
        """,
    )[0]
    assert note_side == 0
