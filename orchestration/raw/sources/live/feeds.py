"""The small interfaces the live source is composed of, one per kind of data.

Each adapter module implements one of them, so an adapter can be swapped (a paid Coin Metrics key,
another price vendor) without touching the others or `LiveSource`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Protocol

import pandas as pd

from orchestration.raw.sources.live.http import SourceError

Warn = Callable[[str], None]  # collects what the lead surfaces as Dagster metadata


def utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class ChainFeed(Protocol):
    origin: str

    def btc_daily(self, start: date | None, end: date, warn: Warn) -> pd.DataFrame:
        """`btc_daily` rows for the UTC days in [start, end] (start None: from the first day)."""
        ...


@dataclass(frozen=True)
class TickerHistory:
    closes: pd.DataFrame  # date, close: UNADJUSTED closes (USD) of the trading days in the range
    splits: pd.DataFrame  # ex_date, ratio: the split events in the range
    caveat: str | None = None  # a limitation the caller must surface (closes not unadjusted, ...)


class NoHistory(SourceError):
    """The feed has no history at all for this ticker and range, and says so (Yahoo: HTTP 404 "No
    data found, symbol may be delisted" for an acquired or delisted symbol): not a failure of the
    feed, so the live source loads the other tickers and warns that this one's rows are missing."""

    def __init__(self, message: str, ticker: str, start: date, end: date) -> None:
        super().__init__(message)
        self.ticker, self.start, self.end = ticker, start, end


def no_closes() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "close": pd.Series(dtype="float64")})


def no_splits() -> pd.DataFrame:
    return pd.DataFrame({"ex_date": pd.Series(dtype="datetime64[ns]"), "ratio": pd.Series(dtype="float64")})


class PriceFeed(Protocol):
    name: str
    origin: str

    def history(self, ticker: str, start: date, end: date) -> TickerHistory:
        """Closes and splits of `ticker` in [start, end]; raises SourceError when it cannot,
        NoHistory when it knows no history of the ticker at all."""
        ...


class SharesFeed(Protocol):
    origin: str

    def shares(self, ticker: str, start: date | None, end: date, warn: Warn) -> pd.DataFrame:
        """as_of, shares: the figures known for `ticker` that can matter for [start, end] (start
        None: from the beginning), at least every one in the range and the last before it, as
        reported; figures up to `end` must be complete. Empty, with a warning, when it has none."""
        ...
