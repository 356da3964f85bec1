"""Invariants of the synthetic demo source: schema, determinism, chain arithmetic, NYSE calendar,
listings, splits, share reports, and miner operations consistent with the chain."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from orchestration.raw.contract import DATASETS
from orchestration.raw.sources.demo import DemoSource

SEED_UNIVERSE = Path(__file__).resolve().parents[1] / "seeds" / "miner_universe.csv"
FIRST_DAY, LAST_DAY = pd.Timestamp("2019-01-01"), pd.Timestamp("2025-06-30")
HEIGHT_BEFORE_2019 = 556_458
EPOCH = 2016
SEED_SPLITS = {
    ("MARA", pd.Timestamp("2019-04-08")): 0.25,
    ("BTBT", pd.Timestamp("2021-02-16")): 2.0,
    ("SDIG", pd.Timestamp("2023-05-15")): 0.1,
    ("IREN", pd.Timestamp("2024-06-10")): 3.0,
}
PANDAS_KIND = {"DATE": "M", "BIGINT": "i", "INTEGER": "i", "DOUBLE": "f"}


@pytest.fixture(scope="module")
def demo() -> DemoSource:
    return DemoSource()


@pytest.fixture(scope="module")
def frames(demo: DemoSource) -> dict[str, pd.DataFrame]:
    return {name: demo.fetch(name) for name in DATASETS}


@pytest.fixture(scope="module")
def chain(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return frames["btc_daily"]


@pytest.fixture(scope="module")
def prices(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return frames["equity_prices"]


@pytest.fixture(scope="module")
def splits(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return frames["splits"]


@pytest.fixture(scope="module")
def shares(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return frames["shares_outstanding"]


@pytest.fixture(scope="module")
def sessions() -> pd.DatetimeIndex:
    return xcals.get_calendar("XNYS", start=FIRST_DAY, end=LAST_DAY).sessions


@pytest.fixture(scope="module")
def universe() -> pd.DataFrame:
    return pd.read_csv(SEED_UNIVERSE, parse_dates=["listed_on", "delisted_on"])


def subsidy_sum_sat(height: int) -> int:
    """Satoshi issued by blocks 0..height, with Python ints, era by era."""
    total, era = 0, 0
    while era * 210_000 <= height:
        blocks = min(height + 1 - era * 210_000, 210_000)
        total += blocks * (5_000_000_000 >> era)
        era += 1
    return total


def day_straddling(chain: pd.DataFrame, height: int) -> pd.Series:
    """The row of the day whose blocks include `height`."""
    previous = chain["block_height"] - chain["blocks_mined"]
    hits = chain[(previous < height) & (chain["block_height"] >= height)]
    assert len(hits) == 1, f"no single day contains block {height}"
    return hits.iloc[0]


def pending_split_factor(tickers: pd.Series, dates: pd.Series, splits: pd.DataFrame) -> pd.Series:
    """Product of the ratios of each row's ticker's splits with ex_date > its date."""
    factor = pd.Series(1.0, index=tickers.index)
    for split in splits.itertuples():
        factor[(tickers == split.ticker) & (dates < split.ex_date)] *= split.ratio
    return factor


def adjusted_closes(prices: pd.DataFrame, splits: pd.DataFrame) -> pd.Series:
    return prices["close"] / pending_split_factor(prices["ticker"], prices["date"], splits)


# --- schema and determinism ---------------------------------------------------------------------


def test_same_seed_same_frames_and_other_seed_differs(frames: dict[str, pd.DataFrame]) -> None:
    again = DemoSource()
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(again.fetch(name), frame)
    other = DemoSource(seed=7)
    assert not other.fetch("btc_daily")["price_usd"].equals(frames["btc_daily"]["price_usd"])
    assert not other.fetch("equity_prices")["close"].equals(frames["equity_prices"]["close"])


@pytest.mark.parametrize("name", list(DATASETS))
def test_columns_dtypes_nulls_and_keys(frames: dict[str, pd.DataFrame], name: str) -> None:
    spec, frame = DATASETS[name], frames[name]
    assert list(frame.columns) == list(spec.columns)
    for column, kind in spec.columns.items():
        if kind == "VARCHAR":
            assert pd.api.types.is_string_dtype(frame[column]), column
        else:
            assert frame[column].dtype.kind == PANDAS_KIND[kind], column
        if column not in spec.nullable:
            assert frame[column].notna().all(), column
    for column in spec.positive:
        assert (frame[column].dropna() > 0).all(), column
    assert not frame.duplicated(list(spec.key)).any()
    assert frame.equals(frame.sort_values(list(spec.key), ignore_index=True))


@pytest.mark.parametrize("name", list(DATASETS))
def test_duckdb_loads_frames_into_the_declared_types(frames: dict[str, pd.DataFrame], name: str) -> None:
    spec, frame = DATASETS[name], frames[name]
    columns = ", ".join(f"{column} {kind}" for column, kind in spec.columns.items())
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE t ({columns})")
        con.register("frame", frame)
        con.execute("INSERT INTO t SELECT * FROM frame")
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == len(frame)


def test_default_universe_is_empty_meaning_use_the_seed(frames: dict[str, pd.DataFrame]) -> None:
    assert frames["miner_universe"].empty


def test_fetch_filters_inclusively(demo: DemoSource) -> None:
    january = demo.fetch("btc_daily", date(2020, 1, 1), date(2020, 1, 31))
    assert len(january) == 31
    assert (january["date"].min(), january["date"].max()) == (
        pd.Timestamp("2020-01-01"),
        pd.Timestamp("2020-01-31"),
    )
    one_day = demo.fetch("equity_prices", date(2024, 6, 10), date(2024, 6, 10))
    assert set(one_day["date"]) == {pd.Timestamp("2024-06-10")} and "IREN" in set(one_day["ticker"])
    sdig_split = demo.fetch("splits", start=date(2023, 5, 15), end=date(2023, 5, 15))
    assert sdig_split["ticker"].tolist() == ["SDIG"]
    assert demo.fetch("shares_outstanding", end=date(2018, 12, 31)).empty


# --- chain --------------------------------------------------------------------------------------


def test_chain_has_every_calendar_day(chain: pd.DataFrame) -> None:
    assert chain["date"].tolist() == list(pd.date_range(FIRST_DAY, LAST_DAY, freq="D"))
    assert chain["hashrate_ehs"].notna().all() and (chain["fees_btc"] > 0).all()


def test_heights_are_cumulative_blocks(chain: pd.DataFrame) -> None:
    previous = np.concatenate([[HEIGHT_BEFORE_2019], chain["block_height"].to_numpy()[:-1]])
    assert (chain["block_height"].to_numpy() - previous == chain["blocks_mined"].to_numpy()).all()
    assert 140 < chain["blocks_mined"].mean() < 155


@pytest.mark.parametrize(("height", "real_date"), [(630_000, "2020-05-11"), (840_000, "2024-04-20")])
def test_halvings_land_near_the_real_dates(chain: pd.DataFrame, height: int, real_date: str) -> None:
    day = day_straddling(chain, height)
    assert abs(day["date"] - pd.Timestamp(real_date)) <= pd.Timedelta(days=21)


def test_fee_spike_on_the_2024_halving_day(chain: pd.DataFrame) -> None:
    day = day_straddling(chain, 840_000)
    per_block = chain["fees_btc"] / chain["blocks_mined"]
    distance = (chain["date"] - day["date"]).abs()
    around = per_block[distance.between(pd.Timedelta(days=1), pd.Timedelta(days=15))]
    assert day["fees_btc"] / day["blocks_mined"] > 4 * around.median()


def test_difficulty_changes_only_across_epoch_boundaries(chain: pd.DataFrame) -> None:
    heights = chain["block_height"].to_numpy()
    difficulty = chain["difficulty"].to_numpy()
    assert difficulty[0] == 5.6e12
    for d in range(2, len(chain)):
        crosses = heights[d] // EPOCH > heights[d - 2] // EPOCH
        if not crosses:
            assert difficulty[d] == difficulty[d - 1], chain["date"].iloc[d]


def test_one_difficulty_per_epoch_and_bounded_retargets(chain: pd.DataFrame) -> None:
    previous = chain["block_height"] - chain["blocks_mined"]
    within_one_epoch = previous // EPOCH == chain["block_height"] // EPOCH
    levels = chain.loc[within_one_epoch, "difficulty"].drop_duplicates().to_numpy()
    total_blocks = chain["block_height"].iloc[-1] - HEIGHT_BEFORE_2019
    assert abs(len(levels) - total_blocks / EPOCH) <= 2
    steps = levels[1:] / levels[:-1]
    assert ((steps >= 0.25) & (steps <= 4)).all()
    assert 0.8e14 < chain["difficulty"].iloc[-1] < 2e14


def test_supply_is_the_exact_sum_of_subsidies(chain: pd.DataFrame) -> None:
    assert subsidy_sum_sat(HEIGHT_BEFORE_2019) == 17_455_737.5 * 1e8
    expected = [subsidy_sum_sat(int(height)) / 1e8 for height in chain["block_height"]]
    assert chain["supply_btc"].tolist() == expected


def test_paths_follow_the_real_history(chain: pd.DataFrame) -> None:
    by_date = chain.set_index("date")
    for day, usd in [("2019-06-26", 12_000), ("2022-06-18", 19_000), ("2024-12-17", 105_000)]:
        assert 0.6 < by_date.loc[day, "price_usd"] / usd < 1.6, day
    hashrate = by_date["hashrate_ehs"]
    assert hashrate["2021-07-15"] < 0.7 * hashrate["2021-05-15"]  # the China mining ban
    assert 700 < hashrate["2025-06-30"] < 1100


# --- equities -----------------------------------------------------------------------------------


def test_closes_only_on_nyse_sessions(prices: pd.DataFrame, sessions: pd.DatetimeIndex) -> None:
    dates = pd.DatetimeIndex(prices["date"].unique())
    assert dates.isin(sessions).all()
    assert (dates.dayofweek < 5).all()
    holidays = ["2019-07-04", "2020-12-25", "2024-03-29"]
    if pd.Timestamp("2025-01-09") not in sessions:  # day of mourning, if the calendar has it
        holidays.append("2025-01-09")
    assert not dates.isin(pd.DatetimeIndex(holidays)).any()


def test_tickers_trade_exactly_while_listed(
    prices: pd.DataFrame, sessions: pd.DatetimeIndex, universe: pd.DataFrame
) -> None:
    assert set(prices["ticker"]) == set(universe["ticker"])
    for row in universe.itertuples():
        traded = pd.DatetimeIndex(prices.loc[prices["ticker"] == row.ticker, "date"])
        listed = sessions >= row.listed_on
        if not pd.isna(row.delisted_on):
            listed &= sessions < row.delisted_on
        assert traded.equals(sessions[listed]), row.ticker
    sdig = prices.loc[prices["ticker"] == "SDIG", "date"]
    assert sdig.max() == pd.Timestamp("2025-03-13")
    assert prices.loc[prices["ticker"] == "BITF", "date"].min() == pd.Timestamp("2021-06-21")


def test_seed_splits_include_forward_and_reverse(splits: pd.DataFrame) -> None:
    found = {(row.ticker, row.ex_date): row.ratio for row in splits.itertuples()}
    assert found == SEED_SPLITS
    assert (splits["ratio"] > 1).any() and (splits["ratio"] < 1).any()


def test_unadjusted_closes_jump_at_splits_but_adjusted_do_not(prices: pd.DataFrame, splits: pd.DataFrame) -> None:
    adjusted = adjusted_closes(prices, splits)
    for split in splits.itertuples():
        rows = prices.index[prices["ticker"] == split.ticker]
        on = rows[prices.loc[rows, "date"] == split.ex_date][0]
        before = rows[rows.get_loc(on) - 1]
        raw_jump = prices.at[on, "close"] / prices.at[before, "close"]
        assert abs(np.log(raw_jump * split.ratio)) < 0.4, split
        assert abs(np.log(adjusted[on] / adjusted[before])) < 0.4, split
    returns = np.log(adjusted).groupby(prices["ticker"]).diff().abs()
    assert returns.max() < 0.5


def test_price_levels_are_plausible(prices: pd.DataFrame) -> None:
    assert prices["close"].min() >= 0.05
    assert 1 < prices["close"].median() < 60


def test_shares_reported_at_listing_and_quarter_ends(shares: pd.DataFrame, universe: pd.DataFrame) -> None:
    assert (shares["shares"] > 0).all()
    for row in universe.itertuples():
        reports = shares.loc[shares["ticker"] == row.ticker, "as_of"]
        first = max(row.listed_on, FIRST_DAY)
        assert reports.iloc[0] == first, row.ticker
        later = pd.date_range(first + pd.Timedelta(days=1), LAST_DAY, freq="QE")
        if not pd.isna(row.delisted_on):
            later = later[later < row.delisted_on]
        assert reports.iloc[1:].tolist() == list(later), row.ticker


def test_shares_are_on_the_basis_in_force(shares: pd.DataFrame, splits: pd.DataFrame) -> None:
    sdig = shares[shares["ticker"] == "SDIG"].set_index("as_of")["shares"]
    assert 8 < sdig[pd.Timestamp("2023-03-31")] / sdig[pd.Timestamp("2023-06-30")] < 10
    factor = pending_split_factor(shares["ticker"], shares["as_of"], splits)
    adjusted = shares["shares"] * factor  # on today's basis: grows only by dilution
    growth = adjusted.groupby(shares["ticker"]).pct_change().dropna()
    assert growth.between(0.019, 0.081).all()


def test_market_caps_are_plausible(prices: pd.DataFrame, shares: pd.DataFrame) -> None:
    caps = pd.merge_asof(
        shares.sort_values("as_of"),
        prices.sort_values("date"),
        left_on="as_of",
        right_on="date",
        by="ticker",
        direction="forward",
    ).dropna()
    value = caps["shares"] * caps["close"]
    assert value.between(5e6, 1e11).all()
    assert value.median() > 1e8


# --- scaled instances ---------------------------------------------------------------------------


def assert_trades_only_while_listed(prices: pd.DataFrame, universe: pd.DataFrame) -> None:
    window = prices.groupby("ticker")["date"].agg(["min", "max"])
    listing = universe.set_index("ticker").loc[window.index]
    assert (window["min"] >= listing["listed_on"]).all()
    delisted = listing["delisted_on"].notna()
    assert (window.loc[delisted, "max"] < listing.loc[delisted, "delisted_on"]).all()


def test_scaled_instance_adds_synthetic_tickers() -> None:
    scaled = DemoSource(tickers=40, years=2)
    universe = scaled.fetch("miner_universe")
    assert len(universe) == 40 and universe["ticker"].is_unique
    assert set(pd.read_csv(SEED_UNIVERSE)["ticker"]) < set(universe["ticker"])
    synthetic = universe[universe["ticker"].str.startswith("SYN")]
    assert synthetic["ticker"].iloc[0] == "SYN0001" and len(synthetic) == 26
    assert synthetic["name"].iloc[0] == "Synthetic Miner 0001"
    assert (synthetic["exchange"] == "NASDAQ").all()
    chain = scaled.fetch("btc_daily")
    assert (chain["date"].min(), chain["date"].max()) == (FIRST_DAY, pd.Timestamp("2020-12-31"))
    prices = scaled.fetch("equity_prices")
    assert prices["date"].max() <= pd.Timestamp("2020-12-31")
    assert set(prices["ticker"]) <= set(universe["ticker"])
    assert_trades_only_while_listed(prices, universe)


def test_synthetic_tickers_list_delist_and_split_during_the_history() -> None:
    scaled = DemoSource(tickers=60)
    universe = scaled.fetch("miner_universe")
    synthetic = universe[universe["ticker"].str.startswith("SYN")]
    assert (synthetic["listed_on"] > FIRST_DAY).sum() >= 5
    assert 1 <= synthetic["delisted_on"].notna().sum() <= 15
    prices = scaled.fetch("equity_prices")
    assert_trades_only_while_listed(prices, universe)
    splits = scaled.fetch("splits")
    extra = splits[splits["ticker"].str.startswith("SYN")]
    assert (extra["ratio"] > 1).any() and (extra["ratio"] < 1).any()
    traded = set(zip(prices["ticker"], prices["date"]))
    assert all((row.ticker, row.ex_date) in traded for row in extra.itertuples())


def test_seed_tickers_do_not_depend_on_the_number_of_tickers(frames: dict[str, pd.DataFrame]) -> None:
    # operations too: the synthetic miners are scaled to fit beside the seed ones, not the other way
    scaled = DemoSource(tickers=20)
    for name in ("equity_prices", "miner_operations", "miner_balance_sheet"):
        frame = scaled.fetch(name)
        seeded = frame[~frame["ticker"].str.startswith("SYN")].reset_index(drop=True)
        pd.testing.assert_frame_equal(seeded, frames[name])


# --- miner operations and balance sheets --------------------------------------------------------


def network_months(chain: pd.DataFrame) -> pd.DataFrame:
    """Per month: the network's mean daily hashrate and its production (subsidies + fees, BTC),
    the subsidies recomputed from the heights with Python ints."""
    supply = [subsidy_sum_sat(HEIGHT_BEFORE_2019)] + [subsidy_sum_sat(int(h)) for h in chain["block_height"]]
    days = chain.assign(reward=np.diff(supply) / 1e8 + chain["fees_btc"])
    return days.groupby(days["date"].dt.to_period("M").dt.to_timestamp()).agg(
        network_hashrate=("hashrate_ehs", "mean"), network_btc=("reward", "sum")
    )


def with_network(operations: pd.DataFrame, chain: pd.DataFrame) -> pd.DataFrame:
    rows = operations.join(network_months(chain), on="month")
    rows["share"] = rows["operating_hashrate_ehs"] / rows["network_hashrate"]
    rows["realization"] = rows["btc_produced"] / (rows["share"] * rows["network_btc"])
    return rows


@pytest.fixture(scope="module")
def operations(frames: dict[str, pd.DataFrame], chain: pd.DataFrame) -> pd.DataFrame:
    return with_network(frames["miner_operations"], chain)


def test_operations_cover_every_listed_month(operations: pd.DataFrame, universe: pd.DataFrame) -> None:
    assert set(operations["ticker"]) == set(universe["ticker"])
    for row in universe.itertuples():
        first = max(row.listed_on.to_period("M").to_timestamp(), FIRST_DAY)
        last = (
            LAST_DAY
            if pd.isna(row.delisted_on)
            else row.delisted_on.to_period("M").to_timestamp() - pd.DateOffset(months=1)
        )
        months = operations.loc[operations["ticker"] == row.ticker, "month"]
        assert months.tolist() == list(pd.date_range(first, last, freq="MS")), row.ticker
    assert operations.loc[operations["ticker"] == "SDIG", "month"].max() == pd.Timestamp("2025-02-01")  # delisted 03-14
    assert operations.loc[operations["ticker"] == "CORZ", "month"].min() == pd.Timestamp("2024-01-01")  # listed 01-24
    assert operations.drop(columns=["share", "realization"]).notna().all().all()  # every column, every month


def test_production_is_the_operating_share_of_the_networks(operations: pd.DataFrame) -> None:
    # e.g. 28 EH/s of a 596 EH/s network (4.7 %) x 15,050 BTC = 707 BTC at network-average luck
    assert operations["realization"].between(0.75, 1.2).all()
    assert operations["realization"].between(0.85, 1.05).mean() > 0.9
    assert (operations["btc_produced"] <= operations["network_btc"]).all()
    assert (operations["installed_hashrate_ehs"] >= operations["operating_hashrate_ehs"]).all()


def test_the_seed_miners_run_a_quarter_of_the_network_in_mid_2024(operations: pd.DataFrame) -> None:
    june = operations[operations["month"] == pd.Timestamp("2024-06-01")].set_index("ticker")
    assert 0.2 < june["share"].sum() < 0.3
    assert 25 < june.at["MARA", "operating_hashrate_ehs"] < 32 and 15 < june.at["CLSK", "operating_hashrate_ehs"] < 20
    assert (june["share"] < 0.06).all() and (june["operating_hashrate_ehs"] > 1).all()
    by_month = operations.groupby("month")["share"].sum()
    assert by_month.max() < 0.35 and by_month["2019"].max() < 0.05  # a percent or two in 2019
    assert by_month.diff().abs().max() < 0.05  # no jump the gate would warn about


def test_hashrate_grows_in_steps_and_fleets_get_more_efficient(operations: pd.DataFrame) -> None:
    mara = operations[operations["ticker"] == "MARA"]
    installed = mara["installed_hashrate_ehs"].to_numpy()
    assert (np.diff(installed) >= 0).all()  # fleets are added, not removed
    assert 0.3 < (np.diff(installed) == 0).mean() < 0.9  # flat between energizations
    assert installed[-1] > 20 * installed[0]
    efficiency = operations.groupby(operations["month"].dt.year)["fleet_efficiency_j_per_th"].median()
    assert 35 < efficiency[2019] < 50 and 17 < efficiency[2025] < 23
    assert operations["power_cost_usd_per_mwh"].between(25, 65).all()


def test_holdings_accumulate_production_less_sales(operations: pd.DataFrame) -> None:
    for ticker, rows in operations.groupby("ticker"):
        held = rows["btc_held"].to_numpy()
        np.testing.assert_allclose(
            held[1:], held[:-1] + rows["btc_produced"].to_numpy()[1:] - rows["btc_sold"].to_numpy()[1:], atol=1e-7
        )
        assert (held >= 0).all(), ticker
    selling = (operations["btc_sold"] > 0).groupby(operations["ticker"]).mean()  # share of months with a sale
    assert (selling == 0).any()  # some miners hold everything
    assert (selling > 0.9).any() and selling.between(0.01, 0.5).any()  # some sell monthly, some now and then


def test_balance_sheets_at_the_quarter_ends_while_listed_and_one_before(
    frames: dict[str, pd.DataFrame], universe: pd.DataFrame
) -> None:
    sheets = frames["miner_balance_sheet"]
    for row in universe.itertuples():
        quarter_ends = pd.date_range(max(row.listed_on, FIRST_DAY), LAST_DAY, freq="QE")
        if not pd.isna(row.delisted_on):
            quarter_ends = quarter_ends[quarter_ends < row.delisted_on]
        # and the quarter end before the first: the sheet filed before the listing (or the data) starts
        expected = [quarter_ends[0] - pd.offsets.QuarterEnd(), *quarter_ends]
        assert sheets.loc[sheets["ticker"] == row.ticker, "as_of"].tolist() == expected, row.ticker
    operations = frames["miner_operations"]
    first_sheet = sheets.groupby("ticker")["as_of"].min()
    assert (operations["month"] > operations["ticker"].map(first_sheet)).all()  # every reported month has an EV
    june = sheets[sheets["as_of"] == pd.Timestamp("2024-06-30")].set_index("ticker")
    assert june["cash_usd"].between(5e6, 1e9).all() and june["total_debt_usd"].max() < 2e9
    assert (sheets["total_debt_usd"] == 0).any() and sheets["total_debt_usd"].max() > 3e8


def test_scaled_operations_stay_a_minority_of_the_network() -> None:
    scaled = DemoSource(tickers=200, years=5)
    operations = with_network(scaled.fetch("miner_operations"), scaled.fetch("btc_daily"))
    assert operations["ticker"].nunique() > 150
    assert operations.groupby("month")["share"].sum().max() < 0.35
    assert operations["share"].max() < 0.1 and (operations["operating_hashrate_ehs"] > 0).all()
    assert operations["realization"].between(0.75, 1.2).all()
    sheets = scaled.fetch("miner_balance_sheet")
    assert sheets["as_of"].dt.is_quarter_end.all() and sheets["as_of"].max() <= pd.Timestamp("2023-12-31")
