"""The raw contract: the datasets every source must deliver, one declaration each (columns and
their types, key, nullable and positive columns, the date column, monthly or whole-table, sparse),
and the error bad input raises. The loader validates against it; sources deliver its columns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class RawDataError(ValueError):
    """Bad input: names the origin, row, column and value."""


# What an error message quotes of a value, a row or a header: at most this many characters (a
# 200 MB field must not be echoed into the run's output, its log and the UI).
QUOTE_LIMIT = 200


def cut(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text`, or its first `limit` characters and how long it is: 'abc… (1,000,000 characters)'."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`value` as an error message quotes it, repr-style ('abc'), cut as cut() does."""
    text = str(value)
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text):,} characters)"


# What a value given as text must look like, beyond DuckDB accepting the cast: DuckDB also reads
# '2019/01/02', '2019-1-2 13:00', '1_000', 'inf' and 'nan', and rounds '2.7' into a BIGINT. The
# loader checks it in SQL, text_values in Python: one table for both.
TEXT_FORMATS = {
    "DATE": ("[0-9]{4}-[0-9]{2}-[0-9]{2}", "an ISO date YYYY-MM-DD"),
    "BIGINT": ("[+-]?[0-9]+", "a whole number"),
    "INTEGER": ("[+-]?[0-9]+", "a whole number"),
    "DOUBLE": ("[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?", "a finite decimal number"),
}

# The range of the whole-number types: a value beyond it is refused with these bounds named.
WHOLE_RANGES = {"BIGINT": (-(2**63), 2**63 - 1), "INTEGER": (-(2**31), 2**31 - 1)}


def out_of_range(sql_type: str) -> str:
    """'out of range for BIGINT (-9,223,372,036,854,775,808 .. 9,223,372,036,854,775,807)'."""
    low, high = WHOLE_RANGES[sql_type]
    return f"out of range for {sql_type} ({low:,} .. {high:,})"


def not_a_valid(sql_type: str, text: str, kind: str | None = None) -> str:
    """Why `text` is not a value of `sql_type`: 'is not a valid DOUBLE (a finite decimal number)',
    or, for a whole number too large for its column, 'is out of range for BIGINT (...)'. `kind`
    names the expected value instead of the type (a month column's 'month (YYYY-MM)')."""
    if sql_type in WHOLE_RANGES and re.fullmatch(TEXT_FORMATS[sql_type][0], text.strip()):
        return f"is {out_of_range(sql_type)}"
    expected = f" ({TEXT_FORMATS[sql_type][1]})" if sql_type in TEXT_FORMATS else ""
    return f"is not a valid {kind or sql_type + expected}"


def missing_columns(origin: str, dataset: Dataset, missing: list[str], header: str | None = None) -> RawDataError:
    """The error for a delivery without some of the dataset's columns; `header`: the file's header
    as read (a CSV source), shown cut so that a user sees what the file holds instead."""
    read = f"; the file's header: {cut(header)}" if header is not None else ""
    return RawDataError(
        f"{origin}: missing column(s) {', '.join(missing)}; expected {', '.join(dataset.columns)}{read}"
    )


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: dict[str, str]  # column -> DuckDB type, in file/table order
    key: tuple[str, ...]
    nullable: frozenset[str] = field(default_factory=frozenset)
    positive: frozenset[str] = field(default_factory=frozenset)  # must be > 0 where not null
    non_negative: frozenset[str] = field(default_factory=frozenset)  # must be >= 0 where not null
    # DATE columns that hold a calendar month: given as 'YYYY-MM' (or its first day), stored as the
    # month's first day.
    months: frozenset[str] = field(default_factory=frozenset)
    date_column: str | None = None  # the column a date range / month partition filters on
    # Loaded by monthly partition (a range replaces only its months). Not for sparse reference data
    # that a month needs from before the month: the latest shares report may be a quarter old.
    monthly: bool = True
    description: str = ""
    # Most days have no row (events): a month without any is normal, and a month's load may empty it.
    sparse: bool = False
    when_empty: str = ""  # what a load without rows means, when that is not "no data" (logged with it)


# raw.load_log, the loads' own log (not a dataset): one row per raw table, its latest load, written
# by the loader in the load's transaction. `source_name` is the raw source's `name` (the
# WAREHOUSE_SOURCE value, see sources/base.py). Declared once here: the loader creates the table
# from it, and tests/test_raw_contract.py checks sources.yml and stg_load_log.sql against it.
LOAD_LOG_COLUMNS: dict[str, str] = {
    "dataset": "VARCHAR",
    "source_name": "VARCHAR",
    "is_synthetic": "BOOLEAN",
    "loaded_at": "TIMESTAMP",
    "row_count": "BIGINT",
    "origin": "VARCHAR",  # where the rows came from, in one line (RawSource.provenance)
}

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
            non_negative=frozenset({"fees_btc"}),
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
                "The source's own list of tracked miners. Empty means: use the built-in dbt seed `miner_universe`."
            ),
            when_empty="none from the source, so the built-in seed seeds/miner_universe.csv applies",
        ),
        Dataset(
            name="miner_operations",
            columns={
                "ticker": "VARCHAR",
                "month": "DATE",
                "operating_hashrate_ehs": "DOUBLE",
                "installed_hashrate_ehs": "DOUBLE",
                "btc_produced": "DOUBLE",
                "btc_held": "DOUBLE",
                "btc_sold": "DOUBLE",
                "fleet_efficiency_j_per_th": "DOUBLE",
                "power_cost_usd_per_mwh": "DOUBLE",
            },
            key=("ticker", "month"),
            nullable=frozenset({"fleet_efficiency_j_per_th", "power_cost_usd_per_mwh"}),
            positive=frozenset({"fleet_efficiency_j_per_th", "power_cost_usd_per_mwh"}),
            non_negative=frozenset(
                {"operating_hashrate_ehs", "installed_hashrate_ehs", "btc_produced", "btc_held", "btc_sold"}
            ),
            months=frozenset({"month"}),
            date_column="month",
            # The analyst's file of the miners' monthly production updates, reloaded whole: a report
            # arrives weeks after its month and is sometimes restated.
            monthly=False,
            description=(
                "The miners' monthly operating updates, one row per ticker and month: average operating "
                "hashrate (EH/s), installed hashrate at month end (EH/s), BTC produced, held at month end "
                "and sold, fleet efficiency (J/TH) and all-in power cost (USD/MWh), the last two may be empty."
            ),
            when_empty="none from the source, so the operations columns of the marts are null",
        ),
        Dataset(
            name="miner_balance_sheet",
            columns={"ticker": "VARCHAR", "as_of": "DATE", "cash_usd": "DOUBLE", "total_debt_usd": "DOUBLE"},
            key=("ticker", "as_of"),
            non_negative=frozenset({"cash_usd", "total_debt_usd"}),
            date_column="as_of",
            monthly=False,
            description=("Cash and total debt (USD) as filed, one row per ticker and balance-sheet date (quarterly)."),
            when_empty="none from the source, so enterprise values are null",
        ),
    )
}
