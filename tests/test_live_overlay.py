"""Mixing sources per dataset on the live source: the analyst's files in WAREHOUSE_CSV_DIR overlay a
provider by ticker (equity_prices, splits, shares_outstanding) or replace it whole (btc_daily,
universe.csv), and raw.load_log says which dataset came from where.

The providers here are stand-ins that record what they are asked (the adapters have their own tests
against recorded-shape responses): what is under test is who gets asked for what, and what reaches
the loader."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import responses

from orchestration.raw.contract import RawDataError
from orchestration.raw.loader import load_frame
from orchestration.raw.sources.live import LiveSource, read_universe
from orchestration.raw.sources.live.feeds import TickerHistory, no_splits
from orchestration.raw.sources.live.http import HttpClient

JUNE = (date(2024, 6, 3), date(2024, 6, 7))


class RecordingFeed:
    """A price feed that answers every ticker with one close a day (10.0) and records who was asked."""

    name = "Recording feed"
    origin = "recording feed https://prices.example/chart"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def history(self, ticker: str, start: date, end: date) -> TickerHistory:
        self.asked.append(ticker)
        days = pd.bdate_range(start, end)
        return TickerHistory(pd.DataFrame({"date": days, "close": 10.0}), no_splits())


class NoChain:
    origin = "no chain https://chain.example"

    def btc_daily(self, start, end, warn):
        raise AssertionError("the chain provider was asked although btc_daily.csv replaces it")


def universe(*tickers: str) -> pd.DataFrame:
    seed = read_universe()
    return seed[seed["ticker"].isin(tickers)].reset_index(drop=True)


def live(tmp_path: Path, csv_dir: Path, feed: RecordingFeed, *tickers: str) -> LiveSource:
    http = HttpClient(tmp_path / "raw_responses")
    return LiveSource(http, prices=[feed], chain=NoChain(), universe=universe(*tickers), csv_dir=csv_dir)


def load(source: LiveSource, dataset: str, frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    load_frame(
        conn, dataset, frame, origin=source.origin(dataset), source_name=source.name, synthetic=False,
        provenance=source.provenance(dataset),
    )  # fmt: skip
    return conn


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "analyst"
    folder.mkdir()
    return folder


def test_a_ticker_in_the_analysts_prices_file_comes_from_it_and_is_not_asked_for(tmp_path, csv_dir):
    """SDIG (delisted, so the provider has no history) from the file, IREN from the provider; the
    file's rows outside the asked days are left out."""
    (csv_dir / "equity_prices.csv").write_text(
        "date,ticker,close\n2024-05-31,SDIG,3.10\n2024-06-03,SDIG,3.20\n2024-06-04,SDIG,3.35\n2024-06-10,SDIG,3.00\n"
    )
    feed = RecordingFeed()
    source = live(tmp_path, csv_dir, feed, "IREN", "SDIG")
    with responses.RequestsMock():  # any HTTP request would fail the test
        frame = source.fetch("equity_prices", *JUNE)

    assert feed.asked == ["IREN"]
    assert frame.head(2).values.tolist() == [["2024-06-03", "SDIG", "3.20"], ["2024-06-04", "SDIG", "3.35"]]
    assert frame["ticker"].tolist() == ["SDIG"] * 2 + ["IREN"] * 5
    assert source.provenance("equity_prices") == f"recording feed (1 ticker) + {csv_dir / 'equity_prices.csv'} (SDIG)"
    conn = load(source, "equity_prices", frame)
    assert conn.execute(
        "select ticker, count(*), round(sum(close), 6) from raw.equity_prices group by 1 order by 1"
    ).fetchall() == [
        ("IREN", 5, 50.0),
        ("SDIG", 2, 6.55),
    ]
    (origin,) = conn.execute("select origin from raw.load_log where dataset = 'equity_prices'").fetchone()
    assert origin == source.provenance("equity_prices")


def test_a_bad_value_in_the_overlay_is_named_with_the_file_row_and_key(tmp_path, csv_dir):
    (csv_dir / "equity_prices.csv").write_text("date,ticker,close\n2024-06-03,SDIG,3.20\n2024-06-04,SDIG,abc\n")
    source = live(tmp_path, csv_dir, RecordingFeed(), "IREN", "SDIG")
    frame = source.fetch("equity_prices", *JUNE)
    with pytest.raises(RawDataError) as caught:
        load(source, "equity_prices", frame)
    message = str(caught.value)
    assert str(csv_dir / "equity_prices.csv") in message
    assert "row 2 (date 2024-06-04, ticker SDIG), column 'close'" in message and "'abc'" in message


def test_the_chain_from_the_analysts_file_replaces_the_provider(tmp_path, csv_dir):
    header = "date,price_usd,hashrate_ehs,difficulty,block_height,blocks_mined,fees_btc,supply_btc\n"
    rows = [
        "2024-05-31,67500.5,610.2,83148355189239,845800,140,12.5,19703000.5",
        "2024-06-01,67700.1,605.0,83148355189239,845944,144,11.0,19703450.5",
    ]
    (csv_dir / "btc_daily.csv").write_text(header + "\n".join(rows) + "\n")
    source = live(tmp_path, csv_dir, RecordingFeed(), "IREN")
    frame = source.fetch("btc_daily", date(2024, 6, 1), date(2024, 6, 30))  # NoChain would raise if asked
    assert frame["date"].tolist() == ["2024-06-01"]
    assert source.origin("btc_daily") == source.provenance("btc_daily") == str(csv_dir / "btc_daily.csv")
    assert load(source, "btc_daily", frame).execute("select block_height from raw.btc_daily").fetchall() == [(845944,)]


def test_the_analysts_universe_says_which_tickers_to_ask_for(tmp_path, csv_dir):
    (csv_dir / "universe.csv").write_text(
        "ticker,name,exchange,listed_on,delisted_on\n"
        "MARA,MARA Holdings,NASDAQ,2012-05-04,\n"
        "XMNR,Example Miner,NASDAQ,2024-06-05,\n"
        "GONE,Gone Miner,NASDAQ,2020-01-02,2024-01-02\n"
    )
    feed = RecordingFeed()
    source = LiveSource(HttpClient(tmp_path / "raw_responses"), prices=[feed], chain=NoChain(), csv_dir=csv_dir)
    prices = source.fetch("equity_prices", *JUNE)
    assert feed.asked == ["MARA", "XMNR"]  # GONE was delisted before June
    assert prices.groupby("ticker").size().to_dict() == {"MARA": 5, "XMNR": 3}  # XMNR from its listing day
    assert source.fetch("miner_universe")["ticker"].tolist() == ["MARA", "XMNR", "GONE"]
    assert source.provenance("miner_universe") == str(csv_dir / "universe.csv")


def test_without_files_every_dataset_comes_from_its_provider(tmp_path, csv_dir):
    feed = RecordingFeed()
    source = live(tmp_path, csv_dir, feed, "IREN", "SDIG")
    frame = source.fetch("equity_prices", *JUNE)
    assert feed.asked == ["IREN", "SDIG"] and pd.api.types.is_float_dtype(frame["close"])  # typed, untouched
    assert source.provenance("equity_prices") == "recording feed (2 tickers)"


def test_a_ticker_whose_closes_come_from_the_file_takes_its_splits_from_the_file_too(tmp_path, csv_dir):
    """Closes as traded and the splits explaining their jumps come from one place: SDIG has no row in
    splits.csv (there is none), so it has no splits, and the provider is not asked for it."""
    (csv_dir / "equity_prices.csv").write_text("date,ticker,close\n2024-06-03,SDIG,3.20\n")
    feed = RecordingFeed()
    source = live(tmp_path, csv_dir, feed, "IREN", "SDIG")
    splits = source.fetch("splits", *JUNE)
    assert feed.asked == ["IREN"] and splits.empty
    assert source.provenance("splits") == (
        f"recording feed (1 ticker) + no splits for SDIG (closes from {csv_dir / 'equity_prices.csv'})"
    )


def test_the_plan_says_before_any_request_what_comes_from_where(tmp_path, csv_dir):
    (csv_dir / "equity_prices.csv").write_text("date,ticker,close\n2024-06-03,SDIG,3.20\n")
    (csv_dir / "btc_daily.csv").write_text(
        "date,price_usd,hashrate_ehs,difficulty,block_height,blocks_mined,fees_btc,supply_btc\n"
    )
    source = live(tmp_path, csv_dir, RecordingFeed(), "IREN", "SDIG", "BTDR")
    with responses.RequestsMock():  # no request
        plan = source.plan()
    assert plan[:2] == [
        f"btc_daily: from {csv_dir / 'btc_daily.csv'} (instead of no chain)",
        f"equity_prices: SDIG from {csv_dir / 'equity_prices.csv'}; the others from recording feed",
    ]
    assert plan[2] == (
        "shares_outstanding: 1 ticker from SEC companyfacts (IREN); BTDR, SDIG from their filings' XBRL (multi-class)"
    )
