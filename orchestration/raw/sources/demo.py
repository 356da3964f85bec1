"""A deterministic, SYNTHETIC source: a bitcoin chain and miner equities that look like real ones.

The demo source lets the whole pipeline (raw load, dbt models, quality gate, publish) run offline
and lets a benchmark scale it up, so it is shaped by three needs:

* Realism where the models rely on it. The chain is simulated block by block per day: blocks are
  Poisson in the hashrate / difficulty ratio, difficulty retargets only at multiples of 2016 exactly
  like bitcoin (clamped to 4x), subsidies halve every 210,000 blocks, and supply is the exact sum of
  subsidies. Equities trade only on NYSE sessions of their listing period, closes are UNADJUSTED
  around splits and share counts are reported on the basis in force on their date, which is what
  the split-adjustment models have to undo.
* Determinism. Everything derives from `seed` through `numpy.random.default_rng([seed, stream,
  ...])`: one stream per chain component and one per ticker (keyed by its index in the universe),
  so over the same history the 14 seed tickers get the same series whatever `tickers` is.
* Speed. The history is generated once per instance and cached; `fetch` only filters. Only the
  chain's block/difficulty recursion and the mean-reverting noise recursions loop over days;
  equities are built as one (session x ticker) matrix, each step vectorised over all tickers.

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
from orchestration.raw.sources.base import Source

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

_STREAM_HASHRATE, _STREAM_PRICE, _STREAM_BLOCKS, _STREAM_FEES, _STREAM_UNIVERSE, _STREAM_TICKER = range(6)
_PANDAS_DTYPES = {
    "DATE": "datetime64[us]",
    "BIGINT": "int64",
    "INTEGER": "int64",
    "DOUBLE": "float64",
    "VARCHAR": "str",
}


class DemoSource(Source):
    """Synthetic chain and equities for 2019-01-01..2025-06-30 by default (see module docstring).

    `years` sets the history to start .. start + years - 1 day; `tickers` adds synthetic miners to
    the 14 of the seed file (and then `miner_universe` lists all of them).
    """

    name = "demo"
    synthetic = True

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
        frames = {
            "btc_daily": btc_daily,
            "equity_prices": prices,
            "splits": splits,
            "shares_outstanding": shares,
            "miner_universe": reported_universe,
            "miner_operations": pd.DataFrame(columns=list(DATASETS["miner_operations"].columns)),
            "miner_balance_sheet": pd.DataFrame(columns=list(DATASETS["miner_balance_sheet"].columns)),
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
