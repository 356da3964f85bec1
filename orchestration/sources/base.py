"""The one interface every source implements, and the raw datasets it must deliver.

A source hands back a pandas DataFrame per dataset with exactly the columns of `DATASETS`; the raw
loader validates and writes it. Sources never touch DuckDB themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: dict[str, str]  # column -> DuckDB type, in file/table order
    key: tuple[str, ...]
    nullable: frozenset[str] = field(default_factory=frozenset)
    positive: frozenset[str] = field(default_factory=frozenset)  # must be > 0 where not null
    date_column: str | None = None  # the column a date range / month partition filters on
    # Loaded by monthly partition (a range replaces only its months). Not for sparse reference data
    # that a month needs from before the month: the latest shares report may be a quarter old.
    monthly: bool = True
    description: str = ""
    # Most days have no row (events): a month without any is normal, and a month's load may empty it.
    sparse: bool = False
    when_empty: str = ""  # what a load without rows means, when that is not "no data" (logged with it)


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="btc_daily",
            columns={
                "date": "DATE",
                "price_usd": "DOUBLE",
                "hashrate_ehs": "DOUBLE",
                "difficulty": "DOUBLE",
                "block_height": "BIGINT",
                "blocks_mined": "INTEGER",
                "fees_btc": "DOUBLE",
                "supply_btc": "DOUBLE",
            },
            key=("date",),
            nullable=frozenset({"hashrate_ehs"}),
            positive=frozenset({"price_usd", "hashrate_ehs", "difficulty", "block_height"}),
            date_column="date",
            description=(
                "One row per UTC day: bitcoin price (USD), network hashrate (EH/s, may be empty), "
                "block-weighted mean difficulty, height of the day's last block, blocks mined, "
                "fees (BTC) and supply (BTC) at the day's end."
            ),
        ),
        Dataset(
            name="equity_prices",
            columns={"date": "DATE", "ticker": "VARCHAR", "close": "DOUBLE"},
            key=("date", "ticker"),
            positive=frozenset({"close"}),
            date_column="date",
            description="Unadjusted daily closing price (USD) per ticker, trading days only.",
        ),
        Dataset(
            name="splits",
            columns={"ticker": "VARCHAR", "ex_date": "DATE", "ratio": "DOUBLE"},
            key=("ticker", "ex_date"),
            positive=frozenset({"ratio"}),
            date_column="ex_date",
            description="Split events: new shares per old share (2 = 2-for-1, 0.1 = 1-for-10 reverse).",
            sparse=True,
        ),
        Dataset(
            name="shares_outstanding",
            columns={"ticker": "VARCHAR", "as_of": "DATE", "shares": "BIGINT"},
            key=("ticker", "as_of"),
            positive=frozenset({"shares"}),
            date_column="as_of",
            monthly=False,
            description="Shares outstanding as reported, on the basis in force on `as_of`.",
        ),
        Dataset(
            name="miner_universe",
            columns={
                "ticker": "VARCHAR",
                "name": "VARCHAR",
                "exchange": "VARCHAR",
                "listed_on": "DATE",
                "delisted_on": "DATE",
            },
            key=("ticker",),
            nullable=frozenset({"delisted_on"}),
            monthly=False,
            description=(
                "The source's own list of tracked miners. Empty means: use the built-in dbt seed "
                "`miner_universe`."
            ),
            when_empty="none from the source, so the built-in seed seeds/miner_universe.csv applies",
        ),
    )
}


class Source(ABC):
    """Where raw rows come from. One subclass per source (demo, csv, live)."""

    name: str
    synthetic: bool = False
    # Problems found by the latest fetch that do not stop a load (a stale share count, a fallback
    # feed); the raw asset shows them on its materialisation.
    warnings: Sequence[str] = ()

    @abstractmethod
    def fetch(self, dataset: str, start: date | None = None, end: date | None = None) -> pd.DataFrame:
        """Rows of `dataset` (a key of DATASETS) with `date_column` in [start, end] (inclusive;
        None = unbounded), with the dataset's columns. Values may arrive as text (a file source
        returns them untouched): the raw loader validates and casts them."""

    def origin(self, dataset: str) -> str:
        """Where `dataset`'s rows came from, as bad-input errors name it (a file path, an endpoint)."""
        return f"{self.label} source, dataset {dataset}"

    @property
    def label(self) -> str:
        return f"{self.name} (SYNTHETIC)" if self.synthetic else self.name
