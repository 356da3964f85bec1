"""A deterministic, SYNTHETIC source: a bitcoin chain and miner equities that look like real ones.

The demo source lets the whole pipeline (raw load, dbt models, quality gate, publish) run offline
and lets a benchmark scale it up, so it is shaped by three needs:

* Realism where the models rely on it. The chain is simulated block by block per day: blocks are
  Poisson in the hashrate / difficulty ratio, difficulty retargets only at multiples of 2016 exactly
  like bitcoin (clamped to 4x), subsidies halve every 210,000 blocks, and supply is the exact sum of
  subsidies. Equities trade only on NYSE sessions of their listing period, closes are UNADJUSTED
  around splits and share counts are reported on the basis in force on their date, which is what
  the split-adjustment models have to undo. The miners' monthly operations are drawn against that
  chain: each produces about its operating share of the month's subsidies + fees (so the marts'
  hashrate realization is near 1), holds exactly what it produced less what it sold, and all of
  them together run at most a third of the network, however many tickers there are
  (`_simulate_operations`); balance sheets are quarterly, sized on the fleets.
* Determinism. Everything derives from `seed` through `numpy.random.default_rng([seed, stream,
  ...])`: one stream per chain component and two per ticker (equity, operations; keyed by its index
  in the universe), so over the same history the 14 seed tickers get the same series whatever
  `tickers` is (the synthetic miners' hashrate is scaled to fit beside theirs).
* Speed. The history is generated once per instance and cached; `fetch` only filters. Only the
  chain's block/difficulty recursion and the mean-reverting noise recursions loop over days;
  equities are built as one (session x ticker) matrix, each step vectorised over all tickers, and
  operations as (month x ticker) matrices (holdings and fleet mixes loop over months only).

BTC price and hashrate are log-interpolated between real-looking anchors plus mean-reverting noise
and follow a fixed trend beyond the last anchor, so `years=20` (to 2038) still looks sensible. A
miner's split-adjusted log price is

    first level + beta * (BTC log change) - (beta - 1/2) * (BTC log trend change) - drift * years
    + mean-reverting idiosyncratic noise,

all measured from its first session: beta (1.0-1.8) drives the daily co-movement and amplifies BTC's
cycles around its trend, while the miner keeps only half of BTC's secular trend (dilution eats the
rest, as in reality). Without that term BTC's 30x rise to the power 1.8 would put prices in the
hundreds; with it they stay in a plausible $1-$60 range, even over 20 years. The first level is the
first traded (unadjusted) price, cheap for miners already listed when the history starts (the 2018
bear market) and IPO-like for those listing during it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from orchestration.core.paths import MINER_UNIVERSE_SEED
from orchestration.raw.contract import DATASETS, Dataset
from orchestration.raw.sources.base import RawSource

SEED_UNIVERSE = MINER_UNIVERSE_SEED

CHAIN_ORIGIN = date(2019, 1, 1)  # the chain is always simulated from here, then trimmed
DEFAULT_END = date(2025, 6, 30)
LAST_HEIGHT_BEFORE_ORIGIN = 556_458
INITIAL_DIFFICULTY = 5.6e12  # of the epoch in force on CHAIN_ORIGIN
EPOCH_BLOCKS = 2016
TARGET_EPOCH_SECONDS = EPOCH_BLOCKS * 600
MAX_RETARGET = 4.0
HALVING_INTERVAL = 210_000
INITIAL_SUBSIDY_SAT = 5_000_000_000
SECONDS_PER_DAY = 86_400
DAYS_PER_YEAR = 365.25

HASHRATE_EHS_ANCHORS = (
    ("2019-01-01", 40), ("2019-12-15", 100), ("2020-05-15", 95), ("2020-12-15", 140),
    ("2021-05-15", 170), ("2021-07-15", 90), ("2021-12-15", 180), ("2022-12-15", 250),
    ("2023-12-15", 500), ("2024-04-15", 600), ("2024-05-15", 580), ("2024-12-15", 780),
    ("2025-06-30", 880),
)  # fmt: skip
HASHRATE_GROWTH_BEYOND = 0.25  # per year after the last anchor
HASHRATE_NOISE = (0.9, 0.015)  # AR(1) coefficient and daily innovation of the log hashrate

BTC_USD_ANCHORS = (
    ("2019-01-01", 3_700), ("2019-06-26", 12_000), ("2020-03-13", 5_000), ("2020-12-31", 29_000),
    ("2021-04-14", 62_000), ("2021-07-20", 30_000), ("2021-11-10", 67_000),
    ("2022-06-18", 19_000), ("2022-12-31", 16_500), ("2023-12-31", 42_000),
    ("2024-03-14", 72_000), ("2024-06-30", 62_000), ("2024-12-17", 105_000),
    ("2025-04-08", 77_000), ("2025-06-30", 107_000),
)  # fmt: skip
BTC_GROWTH_BEYOND = 0.15
BTC_NOISE = (0.97, 0.03)  # OU in log space: ~3 % daily moves, reverting over about a month
BTC_TREND_ANCHORS = (BTC_USD_ANCHORS[0], BTC_USD_ANCHORS[-1])  # secular trend, see module docstring

# Mid-year per-block fee levels (BTC), log-interpolated; flat after the last one.
FEE_PER_BLOCK_ANCHORS = (
    ("2019-07-01", 0.25), ("2020-07-01", 0.5), ("2021-07-01", 0.6), ("2022-07-01", 0.1),
    ("2023-07-01", 0.35), ("2024-07-01", 0.3), ("2025-07-01", 0.03),
)  # fmt: skip
FEE_NOISE_SIGMA = 0.3
FEE_SPIKE_YEAR, FEE_SPIKE_PROBABILITY, FEE_SPIKE_RANGE = 2023, 0.05, (3.0, 6.0)  # ordinals waves
FEE_SPIKE_HEIGHT, FEE_SPIKE_FACTOR = 840_000, 10.0  # the 2024 halving day (runes launch)

SEED_SPLITS = (
    ("MARA", "2019-04-08", 0.25),
    ("BTBT", "2021-02-16", 2.0),
    ("SDIG", "2023-05-15", 0.1),  # between the 2023-03-31 shares report and the next, on purpose
    ("IREN", "2024-06-10", 3.0),
)
SYNTHETIC_PREFIX = "SYN"
SYNTHETIC_SPLIT_RATIOS = (2.0, 3.0, 0.5, 0.2)
SYNTHETIC_SPLIT_CHANCE = 0.15  # per possible split, two possible per synthetic ticker

# Synthetic universe: share listed before the history, latest listing point, delisting chance.
SYNTHETIC_PRE_LISTED, SYNTHETIC_LAST_LISTING, SYNTHETIC_DELIST = 0.35, 0.85, 0.1
SESSIONS_PER_YEAR = 252

# Per-ticker parameter ranges, uniform unless said otherwise. First traded price and market cap
# (log-uniform): an IPO during the history, or a miner already listed when it starts (the 2018 bear
# market left those small and cheap).
IPO_PRICE_USD, IPO_MARKET_CAP_USD = (4.0, 20.0), (2e8, 2e9)
LISTED_PRICE_USD, LISTED_MARKET_CAP_USD = (0.5, 5.0), (2e7, 3e8)
BETA = (1.0, 1.8)
IDIOSYNCRATIC_VOL = (0.04, 0.06)
IDIOSYNCRATIC_PHI = 0.98
NEGATIVE_DRIFT = (0.05, 0.15)  # per year
BTC_TREND_SHARE = 0.5  # share of BTC's secular trend a miner keeps (dilution eats the rest)
QUARTERLY_DILUTION = (0.02, 0.08)

# --- miner operations and balance sheets (see _simulate_operations) ---
# Per seed miner: operating EH/s in June 2024 (roughly as reported then; the demo network runs about
# 600 EH/s), what it does with the bitcoin it mines, and its convertible/term debt per installed EH/s.
HOLD, SELL, OCCASIONAL = range(3)
SEED_OPERATIONS = {
    "MARA": (27.0, HOLD, 30e6),
    "CORZ": (19.0, SELL, 35e6),
    "CLSK": (17.0, OCCASIONAL, 25e6),
    "RIOT": (13.0, HOLD, 0.0),
    "IREN": (11.0, SELL, 20e6),
    "BITF": (8.0, SELL, 2e6),
    "CIFR": (8.0, SELL, 10e6),
    "BTDR": (7.5, SELL, 30e6),
    "WULF": (7.5, SELL, 45e6),
    "HUT": (5.0, HOLD, 25e6),
    "HIVE": (5.0, OCCASIONAL, 3e6),
    "CAN": (4.0, OCCASIONAL, 5e6),
    "SDIG": (3.5, SELL, 15e6),
    "BTBT": (2.5, OCCASIONAL, 0.0),
}  # fmt: skip
REFERENCE_MONTH, REFERENCE_NETWORK_EHS = "2024-06-15", 600.0  # when SEED_OPERATIONS' sizes hold; the network then
# The listed miners' combined share of the network relative to June 2024 (log-linear, flat after the
# last anchor): a percent or two in 2019, about a quarter in mid-2024, nearer a third in 2025.
LISTED_SHARE_ANCHORS = (
    ("2019-01-15", 0.1), ("2020-06-15", 0.18), ("2021-05-15", 0.3), ("2022-12-15", 0.6), ("2023-12-15", 0.85),
    ("2024-06-15", 1.0), ("2025-06-15", 1.15),
)  # fmt: skip
SHARE_PATH_EXPONENT = (0.7, 1.3)  # per miner: how much faster than the others it grew
SYNTHETIC_SHARE = (0.002, 0.03)  # a synthetic miner's June 2024 share of the network, log-uniform
SEED_SHARE_CAP, LISTED_SHARE_CAP = 0.30, 0.33  # the most the seed / all miners may run in any month
INSTALLED_HEADROOM = 1.15  # installed over operating once a fleet is energized
ENERGIZE_CHANCE = 0.35  # per month: a new site or batch of machines comes online
UPTIME, UPTIME_NOISE, SUMMER_CURTAILMENT = (0.88, 0.96), 0.02, (0.0, 0.12)  # July-August demand response
REALIZATION, REALIZATION_NOISE, REALIZATION_BOUNDS = (0.92, 1.0), 0.035, (0.75, 1.2)  # pool luck and fees
SYNTHETIC_POLICY_WEIGHTS = (0.3, 0.4, 0.3)  # HOLD, SELL, OCCASIONAL
SOLD_SHARE, SOLD_SHARE_NOISE = (0.6, 1.0), 0.1  # of a SELL miner's production, per miner; monthly
OCCASIONAL_CHANCE, OCCASIONAL_SHARE = 0.1, (0.2, 0.7)  # per month; of what an OCCASIONAL miner holds
# Efficiency (J/TH) of the machines a miner buys, log-linear, improving 7 % a year after the last anchor.
MACHINE_EFFICIENCY_ANCHORS = (
    ("2019-01-01", 38.0), ("2020-06-01", 31.0), ("2022-06-01", 23.0), ("2024-06-01", 16.5), ("2025-06-01", 15.0),
)  # fmt: skip
MACHINE_EFFICIENCY_GAIN_BEYOND = -0.07
EFFICIENCY_SPREAD, INITIAL_FLEET_AGE = (0.95, 1.25), (1.0, 1.3)  # per miner; its first fleet vs new machines
FLEET_REPLACED = 0.01  # per month, of the fleet, by machines bought that month
POWER_COST_USD_PER_MWH, POWER_COST_DRIFT = (28.0, 55.0), 0.015  # starting level, monthly log drift
POWER_COST_BOUNDS = (25.0, 65.0)
CASH_PER_EHS, CASH_NOISE = (4e6, 20e6), 0.35  # USD per installed EH/s, log-uniform; quarterly lognormal
SYNTHETIC_DEBT_PER_EHS, SYNTHETIC_DEBT_FREE = (5e6, 40e6), 0.4
DEBT_ISSUE_CHANCE, DEBT_ISSUE_SIZE = 0.25, (0.8, 1.2)  # per quarter; of the installed fleet's debt capacity

_STREAM_HASHRATE, _STREAM_PRICE, _STREAM_BLOCKS, _STREAM_FEES, _STREAM_UNIVERSE, _STREAM_TICKER = range(6)
_STREAM_OPERATIONS = 6
_PANDAS_DTYPES = {
    "DATE": "datetime64[us]",
    "BIGINT": "int64",
    "INTEGER": "int64",
    "DOUBLE": "float64",
    "VARCHAR": "str",
}


class DemoSource(RawSource):
    """Synthetic chain, equities and miner operations for 2019-01-01..2025-06-30 by default (see module docstring).

    `years` sets the history to start .. start + years - 1 day; `tickers` adds synthetic miners to
    the 14 of the seed file (and then `miner_universe` lists all of them).
    """

    name = "demo"
    synthetic = True
    attribution = "SYNTHETIC demo data generated by this project: no market data, no third-party terms"

    def __init__(
        self,
        seed: int = 20190101,
        start: date = date(2019, 1, 1),
        years: float | None = None,
        tickers: int | None = None,
    ) -> None:
        if pd.Timestamp(start) < pd.Timestamp(CHAIN_ORIGIN):
            raise ValueError(f"the demo chain starts on {CHAIN_ORIGIN}; start={start} is earlier")
        if years is not None and years <= 0:
            raise ValueError(f"years must be positive, got {years}")
        seed_count = len(_seed_universe())
        if tickers is not None and tickers < seed_count:
            raise ValueError(f"tickers must be at least the {seed_count} seed ones, got {tickers}")
        self.seed = seed
        self.start = pd.Timestamp(start)
        self.end = _history_end(self.start, years)
        if self.end < self.start:
            raise ValueError(f"start={start} is after the default end {DEFAULT_END}")
        self.tickers = tickers

    def fetch(self, dataset: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
        spec = DATASETS[dataset]
        frame = self._frames[dataset]
        if spec.date_column is None:
            return frame.copy()
        column = frame[spec.date_column]
        keep = np.ones(len(frame), dtype=bool)
        if start is not None:
            keep &= (column >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            keep &= (column <= pd.Timestamp(end)).to_numpy()
        return frame[keep].reset_index(drop=True)

    @cached_property
    def _frames(self) -> dict[str, pd.DataFrame]:
        chain = _simulate_chain(self.end, self.seed)
        btc_daily = chain[chain["date"] >= self.start]
        sessions = _sessions(self.start, self.end)
        universe = self._universe(sessions)
        prices, splits, shares = _simulate_equities(universe, sessions, self.start, self.end, chain, self.seed)
        reported_universe = universe.iloc[0:0] if self.tickers is None else universe
        operations, balance_sheets = _simulate_operations(universe, chain, self.start, self.end, self.seed)
        frames = {
            "btc_daily": btc_daily,
            "equity_prices": prices,
            "splits": splits,
            "shares_outstanding": shares,
            "miner_universe": reported_universe,
            "miner_operations": operations,
            "miner_balance_sheet": balance_sheets,
        }
        return {name: _conform(frame, DATASETS[name]) for name, frame in frames.items()}

    def _universe(self, sessions: pd.DatetimeIndex) -> pd.DataFrame:
        seed = _seed_universe()
        if self.tickers is None:
            return seed
        extra = _synthetic_universe(self.tickers - len(seed), self.start, sessions, _rng(self.seed, _STREAM_UNIVERSE))
        return pd.concat([seed, extra], ignore_index=True)


# --- helpers shared by chain and equities -------------------------------------------------------


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, *key])


def _history_end(start: pd.Timestamp, years: float | None) -> pd.Timestamp:
    if years is None:
        return pd.Timestamp(DEFAULT_END)
    whole = int(years)
    extra_days = round((years - whole) * DAYS_PER_YEAR)
    return start + pd.DateOffset(years=whole, days=extra_days) - pd.Timedelta(days=1)


def _sessions(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """NYSE sessions in [start, end] (an explicit calendar range, so far-future histories work)."""
    return xcals.get_calendar("XNYS", start=start, end=end).sessions


def _days_since_origin(days: pd.DatetimeIndex) -> np.ndarray:
    return (days - pd.Timestamp(CHAIN_ORIGIN)).days.to_numpy()


def _log_path(days: pd.DatetimeIndex, anchors: tuple[tuple[str, float], ...], annual_growth: float) -> np.ndarray:
    """Log of a path through `anchors` (log-linear between them), growing `annual_growth` per year
    after the last one and flat before the first."""
    x = _days_since_origin(days)
    anchor_x = _days_since_origin(pd.DatetimeIndex([day for day, _ in anchors]))
    anchor_y = np.log([value for _, value in anchors])
    years_beyond = np.maximum(x - anchor_x[-1], 0) / DAYS_PER_YEAR
    return np.interp(x, anchor_x, anchor_y) + years_beyond * np.log1p(annual_growth)


def _ar1(shocks: np.ndarray, phi: float) -> np.ndarray:
    """x[t] = phi * x[t-1] + shocks[t] along axis 0 (one series per column), starting from 0."""
    out = np.empty_like(shocks)
    level = np.zeros(shocks.shape[1:])
    for t, shock in enumerate(shocks):
        level = phi * level + shock
        out[t] = level
    return out


def _conform(frame: pd.DataFrame, spec: Dataset) -> pd.DataFrame:
    dtypes = {column: _PANDAS_DTYPES[kind] for column, kind in spec.columns.items()}
    return frame[list(spec.columns)].astype(dtypes).reset_index(drop=True)


# --- chain ---------------------------------------------------------------------------------------


def _simulate_chain(end: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Every calendar day from CHAIN_ORIGIN to `end`."""
    days = pd.date_range(pd.Timestamp(CHAIN_ORIGIN), end, freq="D")
    hashrate = _noisy_path(
        days,
        HASHRATE_EHS_ANCHORS,
        HASHRATE_GROWTH_BEYOND,
        HASHRATE_NOISE,
        _rng(seed, _STREAM_HASHRATE),
    ).round(3)
    price = _noisy_path(days, BTC_USD_ANCHORS, BTC_GROWTH_BEYOND, BTC_NOISE, _rng(seed, _STREAM_PRICE)).round(2)
    heights, difficulty = _simulate_blocks(hashrate, _rng(seed, _STREAM_BLOCKS))
    blocks = np.diff(heights, prepend=LAST_HEIGHT_BEFORE_ORIGIN)
    return pd.DataFrame(
        {
            "date": days,
            "price_usd": price,
            "hashrate_ehs": hashrate,
            "difficulty": difficulty,
            "block_height": heights,
            "blocks_mined": blocks,
            "fees_btc": _fees_btc(days, blocks, heights, _rng(seed, _STREAM_FEES)),
            "supply_btc": _supply_btc(heights),
        }
    )


def _noisy_path(
    days: pd.DatetimeIndex,
    anchors: tuple[tuple[str, float], ...],
    annual_growth: float,
    noise: tuple[float, float],
    rng: np.random.Generator,
) -> np.ndarray:
    phi, sigma = noise
    deviation = _ar1(rng.normal(0.0, sigma, len(days)), phi)
    return np.exp(_log_path(days, anchors, annual_growth) + deviation)


def _block_rate(hashrate_ehs: float, difficulty: float) -> float:
    """Expected blocks per second."""
    return hashrate_ehs * 1e18 / (difficulty * 2.0**32)


def _retarget(difficulty: float, epoch_seconds: float) -> float:
    ratio = min(max(TARGET_EPOCH_SECONDS / epoch_seconds, 1 / MAX_RETARGET), MAX_RETARGET)
    return difficulty * ratio


def _simulate_blocks(hashrate_ehs: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Height of each day's last block and the day's block-weighted mean difficulty.

    Blocks are Poisson in the day's hashrate / difficulty. When the draw crosses the next multiple
    of 2016, the epoch's remaining blocks are mined first, the boundary's time of day is estimated
    linearly from the draw, difficulty retargets on the epoch's duration and the rest of the day is
    drawn again at the new difficulty.
    """
    heights = np.empty(len(hashrate_ehs), dtype=np.int64)
    difficulty = np.empty(len(hashrate_ehs))
    height, current = LAST_HEIGHT_BEFORE_ORIGIN, INITIAL_DIFFICULTY
    next_epoch = (height // EPOCH_BLOCKS + 1) * EPOCH_BLOCKS  # first height at the next difficulty
    mined_in_epoch = height - (next_epoch - EPOCH_BLOCKS) + 1
    epoch_start = -mined_in_epoch / _block_rate(hashrate_ehs[0], current)  # seconds from origin
    for day, hashrate in enumerate(hashrate_ehs):
        elapsed, segments = 0.0, []  # segments: (blocks, difficulty) mined today
        while True:
            remaining = SECONDS_PER_DAY - elapsed
            drawn = int(rng.poisson(_block_rate(hashrate, current) * remaining))
            left_in_epoch = next_epoch - 1 - height
            if drawn <= left_in_epoch:
                segments.append((drawn, current))
                height += drawn
                break
            segments.append((left_in_epoch, current))
            height += left_in_epoch
            elapsed += remaining * left_in_epoch / drawn
            boundary = day * SECONDS_PER_DAY + elapsed
            current = _retarget(current, boundary - epoch_start)
            epoch_start, next_epoch = boundary, next_epoch + EPOCH_BLOCKS
        heights[day] = height
        difficulty[day] = _block_weighted_difficulty(segments, current)
    return heights, difficulty


def _block_weighted_difficulty(segments: list[tuple[int, float]], current: float) -> float:
    """Exact epoch difficulty unless the day's blocks span two epochs (then the weighted mean)."""
    mined = [(blocks, level) for blocks, level in segments if blocks]
    if len(mined) <= 1:
        return mined[0][1] if mined else current
    return sum(blocks * level for blocks, level in mined) / sum(blocks for blocks, _ in mined)


def _supply_btc(heights: np.ndarray) -> np.ndarray:
    """Exact sum of the subsidies of blocks 0..height (integer satoshi per era), in BTC."""
    satoshi = np.zeros(len(heights), dtype=np.int64)
    for era in range(int(heights.max()) // HALVING_INTERVAL + 1):
        blocks = np.clip(heights + 1 - era * HALVING_INTERVAL, 0, HALVING_INTERVAL)
        satoshi += blocks * (INITIAL_SUBSIDY_SAT >> era)
    return satoshi / 1e8


def _fees_btc(days: pd.DatetimeIndex, blocks: np.ndarray, heights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    per_block = np.exp(_log_path(days, FEE_PER_BLOCK_ANCHORS, 0.0))
    noise = rng.lognormal(0.0, FEE_NOISE_SIGMA, len(days))
    spiking = (days.year == FEE_SPIKE_YEAR) & (rng.random(len(days)) < FEE_SPIKE_PROBABILITY)
    spikes = np.where(spiking, rng.uniform(*FEE_SPIKE_RANGE, len(days)), 1.0)
    halving_day = (heights - blocks < FEE_SPIKE_HEIGHT) & (heights >= FEE_SPIKE_HEIGHT)
    spikes[halving_day] *= FEE_SPIKE_FACTOR
    return (per_block * blocks * noise * spikes).round(8)


# --- universe ------------------------------------------------------------------------------------


def _seed_universe() -> pd.DataFrame:
    frame = pd.read_csv(SEED_UNIVERSE, dtype=str, keep_default_na=False)
    for column in ("listed_on", "delisted_on"):
        frame[column] = pd.to_datetime(frame[column].replace("", None))
    return frame


def _synthetic_universe(
    count: int, start: pd.Timestamp, sessions: pd.DatetimeIndex, rng: np.random.Generator
) -> pd.DataFrame:
    """`count` SYN tickers: some listed before the history, the rest listing during its first 85 %,
    and about one in ten delisting at least a year after it starts trading."""
    n = len(sessions)
    numbers = [f"{i:04d}" for i in range(1, count + 1)]
    pre_listed = rng.random(count) < SYNTHETIC_PRE_LISTED
    days_before = rng.integers(30, 3650, count)
    listing_session = rng.integers(0, max(int(n * SYNTHETIC_LAST_LISTING), 1), count)
    delists = rng.random(count) < SYNTHETIC_DELIST
    delist_point = rng.random(count)

    first_session = np.where(pre_listed, 0, listing_session)
    listed_on = np.where(pre_listed, start - pd.to_timedelta(days_before, unit="D"), sessions[listing_session])
    earliest_delisting = first_session + SESSIONS_PER_YEAR
    delists &= earliest_delisting < n
    delist_session = earliest_delisting + (delist_point * (n - earliest_delisting)).astype(int)
    delist_session = np.minimum(delist_session, n - 1)
    delisted_on = np.where(delists, sessions[delist_session], pd.NaT)
    return pd.DataFrame(
        {
            "ticker": [f"{SYNTHETIC_PREFIX}{number}" for number in numbers],
            "name": [f"Synthetic Miner {number}" for number in numbers],
            "exchange": "NASDAQ",
            "listed_on": pd.to_datetime(listed_on),
            "delisted_on": pd.to_datetime(delisted_on),
        }
    )


# --- equities ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ticker:
    """One miner's fixed parameters and its trading window in the history's sessions."""

    symbol: str
    first_report: pd.Timestamp  # listing date, or the history's first day if listed earlier
    delisted_on: pd.Timestamp  # NaT while listed
    first: int  # index of its first session
    stop: int  # one past its last session
    log_first_close: float  # the first traded (unadjusted) price; levels are sensible on that basis
    beta: float
    drift: float  # per year, negative
    market_cap: float  # USD, at the first session
    shocks: np.ndarray  # idiosyncratic innovations, one per history session
    dilution: np.ndarray  # growth of adjusted shares at each report after the first
    splits: tuple[tuple[pd.Timestamp, float], ...]  # (ex_date, ratio), all after the first session

    @property
    def log_first_adjusted(self) -> float:
        return self.log_first_close - sum(np.log(ratio) for _, ratio in self.splits)


def _simulate_equities(
    universe: pd.DataFrame,
    sessions: pd.DatetimeIndex,
    start: pd.Timestamp,
    end: pd.Timestamp,
    chain: pd.DataFrame,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(equity_prices, splits, shares_outstanding), prices sorted by (date, ticker)."""
    quarter_ends = pd.date_range(start, end, freq="QE")
    tickers = [
        _draw_ticker(row, sessions, start, len(quarter_ends), _rng(seed, _STREAM_TICKER, index))
        for index, row in enumerate(universe.itertuples(index=False))
    ]
    tickers.sort(key=lambda ticker: ticker.symbol)  # column order = key order within a date
    log_adjusted = _adjusted_log_prices(tickers, sessions, chain)
    factor = np.ones_like(log_adjusted)
    for column, ticker in enumerate(tickers):
        factor[:, column] = _split_factor(sessions, ticker.splits)
    closes = np.maximum((np.exp(log_adjusted) * factor).round(2), 0.01)

    position = np.arange(len(sessions))[:, None]
    trading = (position >= [t.first for t in tickers]) & (position < [t.stop for t in tickers])
    rows, columns = np.nonzero(trading)
    symbols = np.array([t.symbol for t in tickers], dtype=object)
    prices = pd.DataFrame({"date": sessions[rows], "ticker": symbols[columns], "close": closes[rows, columns]})
    splits = pd.DataFrame(
        [(t.symbol, ex_date, ratio) for t in tickers for ex_date, ratio in t.splits],
        columns=["ticker", "ex_date", "ratio"],
    ).sort_values(["ticker", "ex_date"])
    shares = pd.concat(
        [
            _shares_reports(ticker, quarter_ends, end, np.exp(log_adjusted[ticker.first, column]))
            for column, ticker in enumerate(tickers)
            if ticker.first < ticker.stop
        ]
    )
    return prices, splits, shares


def _draw_ticker(
    row: Any,
    sessions: pd.DatetimeIndex,
    start: pd.Timestamp,
    quarters: int,
    rng: np.random.Generator,
) -> _Ticker:
    """`row` is a `miner_universe` row (from itertuples); `quarters` the history's quarter ends."""
    first = int(sessions.searchsorted(row.listed_on))
    delisted = not pd.isna(row.delisted_on)
    stop = int(sessions.searchsorted(row.delisted_on)) if delisted else len(sessions)
    ipo = row.listed_on > start
    price_range = IPO_PRICE_USD if ipo else LISTED_PRICE_USD
    cap_range = IPO_MARKET_CAP_USD if ipo else LISTED_MARKET_CAP_USD
    return _Ticker(
        symbol=row.ticker,
        first_report=max(row.listed_on, start),
        delisted_on=row.delisted_on,
        first=first,
        stop=stop,
        log_first_close=rng.uniform(*np.log(price_range)),
        beta=rng.uniform(*BETA),
        drift=-rng.uniform(*NEGATIVE_DRIFT),
        market_cap=np.exp(rng.uniform(*np.log(cap_range))),
        shocks=rng.normal(0.0, rng.uniform(*IDIOSYNCRATIC_VOL), len(sessions)),
        dilution=rng.uniform(*QUARTERLY_DILUTION, quarters),
        splits=_ticker_splits(row, sessions, first, stop, rng),
    )


def _ticker_splits(
    row: Any, sessions: pd.DatetimeIndex, first: int, stop: int, rng: np.random.Generator
) -> tuple[tuple[pd.Timestamp, float], ...]:
    """The fixed splits of a seed ticker inside its trading window, or a few random ones (on
    sessions after its first) for a synthetic ticker."""
    if not row.ticker.startswith(SYNTHETIC_PREFIX):
        window = sessions[first + 1 : stop]
        return tuple(
            (pd.Timestamp(ex_date), ratio)
            for ticker, ex_date, ratio in SEED_SPLITS
            if ticker == row.ticker and pd.Timestamp(ex_date) in window
        )
    candidates = np.arange(first + 1, stop)
    count = min(rng.binomial(2, SYNTHETIC_SPLIT_CHANCE), len(candidates))
    positions = np.sort(rng.choice(candidates, count, replace=False))
    return tuple((sessions[p], float(rng.choice(SYNTHETIC_SPLIT_RATIOS))) for p in positions)


def _adjusted_log_prices(tickers: list[_Ticker], sessions: pd.DatetimeIndex, chain: pd.DataFrame) -> np.ndarray:
    """(session x ticker) log of the split-adjusted price (see the module docstring), measured from
    each ticker's first session (clipped into the history for tickers that never trade in it)."""
    btc = np.log(chain["price_usd"].to_numpy()[_days_since_origin(sessions)])
    trend = _log_path(sessions, BTC_TREND_ANCHORS, BTC_GROWTH_BEYOND)
    years = _days_since_origin(sessions) / DAYS_PER_YEAR
    first = np.minimum([t.first for t in tickers], len(sessions) - 1)
    beta = np.array([t.beta for t in tickers])
    market = (
        beta * (btc[:, None] - btc[first])
        - (beta - BTC_TREND_SHARE) * (trend[:, None] - trend[first])
        + np.array([t.drift for t in tickers]) * (years[:, None] - years[first])
    )
    noise = _ar1(np.column_stack([t.shocks for t in tickers]), IDIOSYNCRATIC_PHI)
    return np.array([t.log_first_adjusted for t in tickers]) + market + noise


def _split_factor(dates: pd.DatetimeIndex, splits: tuple[tuple[pd.Timestamp, float], ...]) -> np.ndarray:
    """Product of the ratios of splits still to come (ex_date > date): unadjusted / adjusted."""
    factor = np.ones(len(dates))
    for ex_date, ratio in splits:
        factor[dates < ex_date] *= ratio
    return factor


def _shares_reports(
    ticker: _Ticker, quarter_ends: pd.DatetimeIndex, end: pd.Timestamp, first_price: float
) -> pd.DataFrame:
    """Reports at the first report date and each later quarter end while listed, diluting each
    quarter, on the share basis in force on the report date."""
    later = quarter_ends[quarter_ends > ticker.first_report]
    as_of = pd.DatetimeIndex([ticker.first_report]).append(later)
    as_of = as_of[as_of <= end]
    if not pd.isna(ticker.delisted_on):
        as_of = as_of[as_of < ticker.delisted_on]
    growth = np.concatenate([[1.0], np.cumprod(1 + ticker.dilution[: len(as_of) - 1])])
    adjusted = ticker.market_cap / first_price * growth
    shares = np.rint(adjusted / _split_factor(as_of, ticker.splits)).astype(np.int64)
    return pd.DataFrame({"ticker": ticker.symbol, "as_of": as_of, "shares": shares})


# --- miner operations and balance sheets ---------------------------------------------------------


@dataclass(frozen=True)
class _Operators:
    """The miners' fixed operating parameters (one value per ticker) and monthly draws (month x
    ticker), columns in key order."""

    share: np.ndarray  # of the network in June 2024, before the universe is scaled to fit
    exponent: np.ndarray  # its share follows the listed miners' path to this power
    policy: np.ndarray  # HOLD, SELL or OCCASIONAL
    sold_share: np.ndarray  # of production, for a SELL miner
    debt_per_ehs: np.ndarray  # USD per installed EH/s at June 2024 machine costs
    cash_per_ehs: np.ndarray
    machines: np.ndarray  # its machines' J/TH relative to the market's
    initial_fleet: np.ndarray  # its first fleet's J/TH relative to its new machines
    initial_holdings: np.ndarray  # BTC held when its rows start, in months of its first production
    power_cost: np.ndarray  # USD/MWh in the history's first month
    uptime: np.ndarray
    curtailment: np.ndarray  # uptime lost in July and August
    realization: np.ndarray  # its production per operating EH/s relative to the network's, on average
    energize: np.ndarray  # monthly uniforms: a fleet comes online below ENERGIZE_CHANCE
    ramp: np.ndarray  # how far into the month the new machines run
    sell_event: np.ndarray  # an OCCASIONAL miner sells below OCCASIONAL_CHANCE
    sell_share: np.ndarray
    debt_issue: np.ndarray  # at a quarter end: debt is issued below DEBT_ISSUE_CHANCE
    debt_issue_size: np.ndarray
    uptime_noise: np.ndarray  # monthly normals
    realization_noise: np.ndarray
    power_drift: np.ndarray
    sold_noise: np.ndarray
    cash_noise: np.ndarray


_SCALARS, _MONTHLY_UNIFORMS, _MONTHLY_NORMALS = 14, 6, 5


def _draw_operators(symbols: np.ndarray, keys: np.ndarray, months: int, seed: int) -> _Operators:
    """Three draws per ticker from its own stream (keyed by its index in the universe, like its
    equity), so a miner's parameters do not depend on how many others there are; every ticker
    draws the same amounts, and the seed miners' fixed figures (SEED_OPERATIONS) only replace draws."""
    scalars = np.empty((_SCALARS, len(symbols)))
    uniforms = np.empty((_MONTHLY_UNIFORMS, months, len(symbols)))
    normals = np.empty((_MONTHLY_NORMALS, months, len(symbols)))
    for column, key in enumerate(keys):
        rng = _rng(seed, _STREAM_OPERATIONS, int(key))
        scalars[:, column] = rng.random(_SCALARS)
        uniforms[:, :, column] = rng.random((_MONTHLY_UNIFORMS, months))
        normals[:, :, column] = rng.standard_normal((_MONTHLY_NORMALS, months))

    def between(u: np.ndarray, bounds: tuple[float, float], log: bool = False) -> np.ndarray:
        low, high = np.log(bounds) if log else bounds
        value = low + (high - low) * u
        return np.exp(value) if log else value

    share, exponent, policy, sold, debt_free, debt, cash, machines, fleet, held, power, uptime, curtail, real = scalars
    share = between(share, SYNTHETIC_SHARE, log=True)
    policy = np.searchsorted(np.cumsum(SYNTHETIC_POLICY_WEIGHTS), policy, side="right")
    debt_per_ehs = np.where(debt_free < SYNTHETIC_DEBT_FREE, 0.0, between(debt, SYNTHETIC_DEBT_PER_EHS, log=True))
    for column, symbol in enumerate(symbols):
        if symbol in SEED_OPERATIONS:
            ehs, policy[column], debt_per_ehs[column] = SEED_OPERATIONS[symbol]
            share[column] = ehs / REFERENCE_NETWORK_EHS
    energize, ramp, sell_event, sell_share, debt_issue, debt_issue_size = uniforms
    uptime_noise, realization_noise, power_drift, sold_noise, cash_noise = normals
    return _Operators(
        share=share,
        exponent=between(exponent, SHARE_PATH_EXPONENT),
        policy=policy,
        sold_share=between(sold, SOLD_SHARE),
        debt_per_ehs=debt_per_ehs,
        cash_per_ehs=between(cash, CASH_PER_EHS, log=True),
        machines=between(machines, EFFICIENCY_SPREAD),
        initial_fleet=between(fleet, INITIAL_FLEET_AGE),
        initial_holdings=between(held, (0.0, 6.0)),
        power_cost=between(power, POWER_COST_USD_PER_MWH),
        uptime=between(uptime, UPTIME),
        curtailment=between(curtail, SUMMER_CURTAILMENT),
        realization=between(real, REALIZATION),
        energize=energize,
        ramp=ramp,
        sell_event=sell_event,
        sell_share=between(sell_share, OCCASIONAL_SHARE),
        debt_issue=debt_issue,
        debt_issue_size=between(debt_issue_size, DEBT_ISSUE_SIZE),
        uptime_noise=UPTIME_NOISE * uptime_noise,
        realization_noise=REALIZATION_NOISE * realization_noise,
        power_drift=POWER_COST_DRIFT * power_drift,
        sold_noise=SOLD_SHARE_NOISE * sold_noise,
        cash_noise=CASH_NOISE * cash_noise,
    )


def _machine_efficiency(days: pd.DatetimeIndex) -> np.ndarray:
    """J/TH of the machines miners buy on `days`: also what a fleet's dollars per EH/s follow."""
    return np.exp(_log_path(days, MACHINE_EFFICIENCY_ANCHORS, MACHINE_EFFICIENCY_GAIN_BEYOND))


def _network_months(chain: pd.DataFrame, months: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Per month (first days): the network's mean daily hashrate (EH/s) and the BTC all miners
    earned (subsidies + fees), from the whole chain (from CHAIN_ORIGIN), as the chain facts sum them."""
    before_origin = _supply_btc(np.array([LAST_HEIGHT_BEFORE_ORIGIN]))[0]
    subsidy = np.diff(chain["supply_btc"].to_numpy(), prepend=before_origin)
    by_month = pd.DataFrame(
        {"hashrate": chain["hashrate_ehs"].to_numpy(), "reward": subsidy + chain["fees_btc"].to_numpy()},
        index=chain["date"].dt.to_period("M").dt.to_timestamp(),
    ).groupby(level=0)
    return by_month["hashrate"].mean().reindex(months).to_numpy(), by_month["reward"].sum().reindex(months).to_numpy()


def _simulate_operations(
    universe: pd.DataFrame, chain: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(miner_operations, miner_balance_sheet) for every ticker while listed, consistent with `chain`.

    Built as (month x ticker) matrices. Each miner's installed hashrate steps up, in the months a
    fleet is energized, to its target: its share path (June 2024 size x the listed miners' path,
    LISTED_SHARE_ANCHORS, to its own power) x the network, with headroom; it never falls (the 2021
    China ban left the US fleets running, so their share jumped). Operating hashrate is the month's
    average: last month's fleet plus part of the new machines, times uptime (summer curtailment).
    The whole universe is then scaled so the seed miners run at most SEED_SHARE_CAP of the network
    and all miners LISTED_SHARE_CAP in any month, whatever `tickers`: one factor per group, so each
    miner's path keeps its shape. Production is operating share x the network's subsidies + fees x
    a realization factor (pool luck and fees, within REALIZATION_BOUNDS), in satoshi, so holdings
    are exact: held = previous held + produced - sold. Rows: each listed ticker's complete months,
    from its listing month through the month before its delisting; balance sheets at the quarter
    ends it was listed on.
    """
    months = pd.date_range(start.to_period("M").to_timestamp(), end, freq="MS")  # including partial ones
    complete = (months >= start) & (months + pd.offsets.MonthEnd(0) <= end)
    universe = universe.reset_index(drop=True)
    order = np.argsort(universe["ticker"].to_numpy(), kind="stable")  # columns in key order
    rows = universe.iloc[order]
    symbols = rows["ticker"].to_numpy(dtype=object)
    ops = _draw_operators(symbols, order, len(months), seed)

    position = np.arange(len(months))[:, None]
    listed_month = rows["listed_on"].dt.to_period("M").dt.to_timestamp()
    delisted_month = rows["delisted_on"].dt.to_period("M").dt.to_timestamp()
    first = months.searchsorted(listed_month)
    stop = np.where(delisted_month.notna(), months.searchsorted(delisted_month.fillna(months[0])), len(months))
    listed = (position >= first) & (position < stop)

    hashrate, reward = _network_months(chain, months)
    middle = months + pd.Timedelta(days=14)
    listed_path = np.exp(_log_path(middle, LISTED_SHARE_ANCHORS, 0.0))[:, None]
    target = ops.share * listed_path**ops.exponent * hashrate[:, None] * INSTALLED_HEADROOM
    steps = listed & ((ops.energize < ENERGIZE_CHANCE) | (position == first))
    installed = np.fmax.accumulate(np.where(steps, target, np.nan), axis=0)  # carried forward, never lower
    previous = np.vstack([installed[:1], installed[:-1]])
    previous = np.where(np.isnan(previous), installed, previous)
    summer = np.isin(months.month, (7, 8))[:, None]
    uptime = np.clip(ops.uptime - ops.curtailment * summer + ops.uptime_noise, 0.6, 0.99)
    operating = uptime * (previous + ops.ramp * (installed - previous))

    synthetic = np.array([s.startswith(SYNTHETIC_PREFIX) for s in symbols], dtype=bool)
    shares = np.where(listed, operating, 0.0) / hashrate[:, None]
    seed_sum, synthetic_sum = shares[:, ~synthetic].sum(axis=1), shares[:, synthetic].sum(axis=1)
    seed_scale = min(1.0, SEED_SHARE_CAP / seed_sum.max()) if seed_sum.max() > 0 else 1.0
    room = (LISTED_SHARE_CAP - seed_sum * seed_scale)[synthetic_sum > 0] / synthetic_sum[synthetic_sum > 0]
    synthetic_scale = min(1.0, room.min()) if len(room) else 1.0
    scale = np.where(synthetic, synthetic_scale, seed_scale)
    fleet = np.where(listed, installed, 0.0)  # unscaled and unrounded: what the fleets' mixes weigh
    efficiency = _fleet_efficiency(middle, fleet, np.where(listed, previous, 0.0), first, ops)
    operating = np.where(listed, np.maximum((operating * scale).round(4), 1e-4), 0.0)
    installed = np.where(listed, np.maximum((installed * scale).round(4), operating), 0.0)

    realization = np.clip(ops.realization + ops.realization_noise, *REALIZATION_BOUNDS)
    produced = np.rint(operating / hashrate[:, None] * reward[:, None] * realization * 1e8)  # satoshi
    held, sold = _holdings(produced, listed, first, ops)
    power = np.clip(ops.power_cost * np.exp(np.cumsum(ops.power_drift, axis=0)), *POWER_COST_BOUNDS)

    column, row = np.nonzero((listed & complete[:, None]).T)  # ticker-major: sorted by (ticker, month)
    operations = pd.DataFrame(
        {
            "ticker": symbols[column],
            "month": months[row],
            "operating_hashrate_ehs": operating[row, column],
            "installed_hashrate_ehs": installed[row, column],
            "btc_produced": produced[row, column] / 1e8,
            "btc_held": held[row, column] / 1e8,
            "btc_sold": sold[row, column] / 1e8,
            "fleet_efficiency_j_per_th": efficiency[row, column].round(2),
            "power_cost_usd_per_mwh": power[row, column].round(2),
        }
    )
    # Dollars per EH/s fall as machines improve: the balance sheets scale with the fleet's cost.
    machine_cost = _machine_efficiency(months) / _machine_efficiency(pd.DatetimeIndex([REFERENCE_MONTH]))
    fleet_cost = installed * machine_cost[:, None]
    return operations, _balance_sheets(rows, symbols, months, fleet_cost, ops, start, end)


def _holdings(
    produced: np.ndarray, listed: np.ndarray, first: np.ndarray, ops: _Operators
) -> tuple[np.ndarray, np.ndarray]:
    """(held at month end, sold) in satoshi: HOLD miners never sell, SELL miners sell most of each
    month's production, OCCASIONAL ones now and then a chunk of what they hold. Month by month
    (what a miner can sell depends on what it holds), each step over all tickers at once."""
    held, sold = np.zeros_like(produced), np.zeros_like(produced)
    level = np.zeros(produced.shape[1])
    for month in range(len(produced)):
        starting = first == month
        level[starting] = np.rint(ops.initial_holdings[starting] * produced[month, starting])
        available = level + produced[month]
        share = np.clip(ops.sold_share + ops.sold_noise[month], 0.0, 1.0)
        selling = np.where(ops.policy == SELL, share * produced[month], 0.0)
        chunk = (ops.policy == OCCASIONAL) & (ops.sell_event[month] < OCCASIONAL_CHANCE)
        selling = np.where(chunk, ops.sell_share[month] * available, selling)
        sold[month] = np.where(listed[month], np.floor(np.minimum(selling, available)), 0.0)
        level = np.where(listed[month], available - sold[month], 0.0)
        held[month] = level
    return held, sold


def _fleet_efficiency(
    middle: pd.DatetimeIndex, installed: np.ndarray, previous: np.ndarray, first: np.ndarray, ops: _Operators
) -> np.ndarray:
    """J/TH of each fleet: the installed-weighted mean of its machines. A first fleet is older than
    the market's new machines; each month new capacity and FLEET_REPLACED of the old come at the
    month's machine efficiency, so fleets improve in steps as they grow, and slowly in between."""
    machines = _machine_efficiency(middle)[:, None] * ops.machines
    out = np.full_like(installed, np.nan)
    fleet = np.full(installed.shape[1], np.nan)
    for month in range(len(installed)):
        starting = first == month
        fleet[starting] = machines[month, starting] * ops.initial_fleet[starting]
        kept = np.minimum(previous[month] * (1 - FLEET_REPLACED), installed[month])
        with np.errstate(invalid="ignore", divide="ignore"):
            mixed = (fleet * kept + machines[month] * (installed[month] - kept)) / installed[month]
        fleet = np.where(installed[month] > 0, mixed, fleet)
        out[month] = fleet
    return out


def _balance_sheets(
    rows: pd.DataFrame,
    symbols: np.ndarray,
    months: pd.DatetimeIndex,
    fleet_cost: np.ndarray,
    ops: _Operators,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Cash and total debt at each quarter end in [start, end] a ticker is listed on (and the one
    before its first), sized on its
    installed fleet (`fleet_cost`: EH/s x the machines' cost per EH/s relative to June 2024's): cash
    varies quarter to quarter; debt (convertible notes, term loans) is issued now and then, sized on
    the fleet then, and stays outstanding (a larger issue refinances the earlier ones)."""
    quarter_ends = pd.date_range(start, end, freq="QE")
    at = months.searchsorted(quarter_ends.to_period("M").to_timestamp())
    ends = quarter_ends.to_numpy()[:, None]
    listed_on, delisted_on = rows["listed_on"].to_numpy(), rows["delisted_on"].to_numpy()
    listed = (listed_on <= ends) & (np.isnat(delisted_on) | (ends < delisted_on))
    fleet = fleet_cost[at]
    cash = fleet * ops.cash_per_ehs * np.exp(ops.cash_noise[at])
    issues = listed & (ops.debt_issue[at] < DEBT_ISSUE_CHANCE)
    debt = np.fmax.accumulate(np.where(issues, fleet * ops.debt_per_ehs * ops.debt_issue_size[at], np.nan), axis=0)
    column, row = np.nonzero(listed.T)
    sheets = pd.DataFrame(
        {
            "ticker": symbols[column],
            "as_of": quarter_ends[row],
            "cash_usd": cash[row, column].round(-3),
            "total_debt_usd": np.nan_to_num(debt[row, column]).round(-3),  # none before the first issue
        }
    )
    # A company lists with a balance sheet already filed (the prospectus, or the last 10-Q before the
    # data starts): its first sheet is also dated the quarter end before, so every month it reports
    # operations for has an enterprise value.
    first = sheets.drop_duplicates("ticker").assign(as_of=lambda f: f["as_of"] - pd.offsets.QuarterEnd())
    return pd.concat([first, sheets]).sort_values(["ticker", "as_of"], kind="stable").reset_index(drop=True)
