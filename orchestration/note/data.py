"""Reads what the note needs from `published.duckdb`, and nothing else.

The note sits downstream of publishing and must show exactly what readers see, so it opens only the
published file, read-only. Every published column the note uses is named in the queries below, one
or more per table: when a mart's contract renames a column, alias it here (`new_name as old_name`)
and nothing else changes. Aggregation (coverage, latest complete month, previous month, the months
with operations reports) is DuckDB SQL; Python only picks rows apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.core.lake import ALIAS, Lake, LakeError, connect_lake

NOTE_TABLE = "mart_monthly_note"

# Every month the file covers, as runs of consecutive months, and the newest complete month.
COVERAGE_QUERY = f"""
with numbered as (
    select
        month,
        date_diff('month', date '2000-01-01', month) - row_number() over (order by month) as run
    from {NOTE_TABLE}
)
select min(month) as first_month, max(month) as last_month
from numbered
group by run
order by first_month
"""

LATEST_COMPLETE_QUERY = f"select max(month) from {NOTE_TABLE} where not is_partial_month"

# The note month's figures, with the month before it in the file (for saying why a change is missing).
FIGURES_QUERY = f"""
with note as (
    select
        month,
        is_partial_month,
        lag(month) over by_month as previous_month,
        lag(is_partial_month) over by_month as previous_is_partial_month,
        btc_price_avg_usd,
        btc_price_avg_mom,
        btc_price_month_end_usd,
        btc_price_month_end_mom,
        btc_price_close_month_end_usd,
        hashrate_avg_ehs,
        hashrate_avg_mom,
        hashrate_month_end_7d_avg_ehs,
        hashrate_month_end_mom,
        difficulty_avg,
        difficulty_avg_mom,
        difficulty_month_end,
        difficulty_month_end_mom,
        hashprice_usd_per_ehs_day,
        hashprice_mom,
        miner_count,
        members_with_market_cap,
        members_without_market_cap,
        combined_market_cap_usd,
        combined_market_cap_mom,
        combined_market_cap_like_for_like_mom,
        leader_ticker,
        leader_return,
        laggard_ticker,
        laggard_return,
        mcap_to_remaining_btc_ratio,
        mcap_to_remaining_btc_peak,
        mcap_to_remaining_btc_peak_month,
        mcap_to_remaining_btc_avg,
        mcap_to_4y_rewards_ratio,
        mcap_to_4y_rewards_peak,
        mcap_to_4y_rewards_peak_month,
        mcap_to_4y_rewards_avg,
        listed_operations_coverage,
        listed_operating_hashrate_ehs,
        listed_hashrate_share,
        listed_hashrate_share_change,
        listed_hashrate_added_ehs,
        listed_btc_produced,
        listed_btc_held,
        proportional_4y_rewards_value_usd,
        mcap_to_proportional_4y_rewards,
        mcap_to_proportional_4y_rewards_peak,
        mcap_to_proportional_4y_rewards_peak_month,
        mcap_to_proportional_4y_rewards_avg,
        combined_ev_usd,
        ev_per_ehs_usd,
        count(*) filter (where listed_operations_coverage > 0) over () as months_with_operations,
        data_source,
        is_synthetic_data
    from {NOTE_TABLE}
    window by_month as (order by month)
)
select * from note where month = $month
"""

# The series the charts draw, every calendar month from the start of the history up to the note
# month: a month missing from the file is a row of nulls, so a chart shows a gap, not a straight line.
HISTORY_QUERY = f"""
with months as (
    select cast(unnest(generate_series(min(month), $month, interval 1 month)) as date) as month
    from {NOTE_TABLE}
)
select
    month,
    note.combined_market_cap_usd,
    note.btc_price_month_end_usd,
    note.hashrate_avg_ehs,
    note.hashprice_usd_per_ehs_day,
    note.mcap_to_remaining_btc_ratio,
    note.mcap_to_4y_rewards_ratio,
    note.listed_hashrate_share,
    note.mcap_to_proportional_4y_rewards
from months
left join {NOTE_TABLE} as note using (month)
order by month
"""

# Every miner with a row in the month: ranked ones first (best return first), then by market cap.
MINERS_QUERY = """
select
    ticker,
    name,
    close_month_end_usd,
    monthly_return,
    market_cap_usd,
    return_rank,
    listed_in_month,
    delisted_in_month,
    split_in_month
from mart_miner_monthly
where month = $month
order by return_rank nulls last, market_cap_usd desc nulls last, ticker
"""

# The month's members that reported operations, the largest operation first.
OPERATIONS_QUERY = """
select
    ticker,
    operating_hashrate_ehs,
    hashrate_share,
    btc_produced,
    btc_per_ehs_day,
    btc_held,
    ev_per_ehs_usd
from mart_miner_operations_monthly
where month = $month and is_member and has_operations_report
order by operating_hashrate_ehs desc nulls last, ticker
"""

PUBLICATION_QUERY = """
select published_at, run_id, source, is_synthetic, first_month, last_month, gate_result
from publication_log
order by published_at desc
limit 1
"""


class NoteError(RuntimeError):
    """The note cannot be written for the month asked: the message says why and what is available."""


@dataclass(frozen=True)
class Figures:
    """One row of the note mart (see its YAML for each column's definition)."""

    month: date
    is_partial_month: bool
    previous_month: date | None
    previous_is_partial_month: bool | None
    btc_price_avg_usd: float | None
    btc_price_avg_mom: float | None
    btc_price_month_end_usd: float | None
    btc_price_month_end_mom: float | None
    btc_price_close_month_end_usd: float | None
    hashrate_avg_ehs: float | None
    hashrate_avg_mom: float | None
    hashrate_month_end_7d_avg_ehs: float | None
    hashrate_month_end_mom: float | None
    difficulty_avg: float | None
    difficulty_avg_mom: float | None
    difficulty_month_end: float | None
    difficulty_month_end_mom: float | None
    hashprice_usd_per_ehs_day: float | None
    hashprice_mom: float | None
    miner_count: int
    members_with_market_cap: int | None
    members_without_market_cap: str | None  # tickers, ', '-separated
    combined_market_cap_usd: float | None
    combined_market_cap_mom: float | None
    combined_market_cap_like_for_like_mom: float | None
    leader_ticker: str | None
    leader_return: float | None
    laggard_ticker: str | None
    laggard_return: float | None
    mcap_to_remaining_btc_ratio: float | None
    mcap_to_remaining_btc_peak: float | None
    mcap_to_remaining_btc_peak_month: date | None
    mcap_to_remaining_btc_avg: float | None
    mcap_to_4y_rewards_ratio: float | None
    mcap_to_4y_rewards_peak: float | None
    mcap_to_4y_rewards_peak_month: date | None
    mcap_to_4y_rewards_avg: float | None
    listed_operations_coverage: int | None
    listed_operating_hashrate_ehs: float | None
    listed_hashrate_share: float | None
    listed_hashrate_share_change: float | None
    listed_hashrate_added_ehs: float | None
    listed_btc_produced: float | None
    listed_btc_held: float | None
    proportional_4y_rewards_value_usd: float | None
    mcap_to_proportional_4y_rewards: float | None
    mcap_to_proportional_4y_rewards_peak: float | None
    mcap_to_proportional_4y_rewards_peak_month: date | None
    mcap_to_proportional_4y_rewards_avg: float | None
    combined_ev_usd: float | None
    ev_per_ehs_usd: float | None
    months_with_operations: int  # months of the file with at least one member's operations report
    data_source: str
    is_synthetic_data: bool


@dataclass(frozen=True)
class Miner:
    ticker: str
    name: str | None
    close_month_end_usd: float | None
    monthly_return: float | None
    market_cap_usd: float | None
    return_rank: int | None
    listed_in_month: bool
    delisted_in_month: bool
    split_in_month: bool


@dataclass(frozen=True)
class MinerOperations:
    """A member's operations report for the month (mart_miner_operations_monthly)."""

    ticker: str
    operating_hashrate_ehs: float | None
    hashrate_share: float | None
    btc_produced: float | None
    btc_per_ehs_day: float | None
    btc_held: float | None
    ev_per_ehs_usd: float | None


@dataclass(frozen=True)
class Publication:
    """The newest row of publication_log: as of when, from what, and what the gate said."""

    published_at: datetime
    run_id: str
    source: str
    is_synthetic: bool
    first_month: date | None
    last_month: date | None
    gate_result: str


@dataclass(frozen=True)
class Gauge:
    """A valuation gauge: combined market cap over the USD value of some future bitcoin."""

    denominator: str  # what the combined market cap is divided by, in words (no article)
    definition: str  # how the denominator is computed, as the mart's column definition states it
    ratio: float | None
    peak: float | None
    peak_month: date | None
    average: float | None
    history: pd.Series  # the ratio per month up to the note month (index: month)
    subject: str = "Combined market cap"  # what is divided, in words

    @property
    def name(self) -> str:
        return f"{self.subject} / {self.denominator}"


@dataclass(frozen=True)
class Operations:
    """What the month's members reported operating: the section shows only when one of them did."""

    coverage: int  # members with an operations report (0 when none, also when the mart says null)
    member_count: int
    months_with_operations: int  # in the whole file: 0 means no operations were loaded at all
    miners: list[MinerOperations]  # the reporting members, the largest operating hashrate first
    multiple: Gauge  # JPMorgan's multiple against its history
    share_history: pd.Series  # listed_hashrate_share per month up to the note month (index: month)

    @property
    def available(self) -> bool:
        return self.coverage > 0


@dataclass(frozen=True)
class Coverage:
    """The months the published file holds, as runs of consecutive months."""

    runs: list[tuple[date, date]]
    latest_complete: date | None

    def describe(self) -> str:
        return ", ".join(
            f"{first:%Y-%m}" if first == last else f"{first:%Y-%m} .. {last:%Y-%m}" for first, last in self.runs
        )


@dataclass(frozen=True)
class NoteData:
    """Everything one month's note shows."""

    figures: Figures
    miners: list[Miner]
    history: pd.DataFrame  # index: month; the columns of HISTORY_QUERY
    gauges: tuple[Gauge, Gauge]
    operations: Operations
    publication: Publication

    @property
    def month(self) -> date:
        return self.figures.month

    @property
    def is_synthetic(self) -> bool:
        """Either flag is enough: a synthetic number must never go out unmarked."""
        return bool(self.figures.is_synthetic_data or self.publication.is_synthetic)


def parse_month(text: str) -> date:
    """'2024-06' (or a partition key like '2024-06-01') -> date(2024, 6, 1)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-01)?", text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise NoteError(f"not a month: {text!r} (expected YYYY-MM, e.g. 2024-06)")
    return date(int(match[1]), int(match[2]), 1)


def _rows(conn: duckdb.DuckDBPyConnection, query: str, month: date | None = None) -> list[dict]:
    cursor = conn.execute(query, {"month": month} if month is not None else None)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def coverage(conn: duckdb.DuckDBPyConnection) -> Coverage:
    runs = [(row["first_month"], row["last_month"]) for row in _rows(conn, COVERAGE_QUERY)]
    return Coverage(runs=runs, latest_complete=conn.execute(LATEST_COMPLETE_QUERY).fetchone()[0])


def resolve_month(available: Coverage, requested: date | None) -> date:
    """The month asked for, checked against the file; by default the latest complete month."""
    if not available.runs:
        raise NoteError(f"the published {NOTE_TABLE} holds no months")
    if requested is None:
        if available.latest_complete is None:
            raise NoteError(f"no complete month is published yet (months available: {available.describe()})")
        return available.latest_complete
    first = available.runs[0][0]
    if requested < first:
        raise NoteError(
            f"{requested:%Y-%m} is before the history starts ({first:%Y-%m}); months available: {available.describe()}"
        )
    if not any(start <= requested <= end for start, end in available.runs):
        raise NoteError(f"no published data for {requested:%Y-%m}; months available: {available.describe()}")
    return requested


def _gauges(figures: Figures, history: pd.DataFrame) -> tuple[Gauge, Gauge]:
    return (
        Gauge(
            denominator="value of the bitcoin left to mine",
            definition="(20,999,999.9769 BTC, all the subsidy schedule ever issues, minus the supply after "
            "the month-end block) x the month-end bitcoin price (7-day average)",
            ratio=figures.mcap_to_remaining_btc_ratio,
            peak=figures.mcap_to_remaining_btc_peak,
            peak_month=figures.mcap_to_remaining_btc_peak_month,
            average=figures.mcap_to_remaining_btc_avg,
            history=history["mcap_to_remaining_btc_ratio"],
        ),
        Gauge(
            denominator="next four years' block rewards",
            definition="the subsidies (fees left out) of the 210,240 blocks after the month-end block "
            "(4 x 365 days x 144 blocks, halvings included) x the month-end bitcoin price (7-day average)",
            ratio=figures.mcap_to_4y_rewards_ratio,
            peak=figures.mcap_to_4y_rewards_peak,
            peak_month=figures.mcap_to_4y_rewards_peak_month,
            average=figures.mcap_to_4y_rewards_avg,
            history=history["mcap_to_4y_rewards_ratio"],
        ),
    )


def _operations(figures: Figures, miners: list[MinerOperations], history: pd.DataFrame) -> Operations:
    return Operations(
        coverage=figures.listed_operations_coverage or 0,
        member_count=figures.miner_count,
        months_with_operations=figures.months_with_operations,
        miners=miners,
        multiple=Gauge(
            subject="Reporting miners' market cap",
            denominator="proportional share of the next four years' block rewards",
            definition="the share of the network's hashrate the members with an operations report ran "
            "(their operating EH/s over the network's monthly average) x the next four years' block rewards "
            "at the month-end bitcoin price; the market cap counts the same members (JPMorgan's multiple)",
            ratio=figures.mcap_to_proportional_4y_rewards,
            peak=figures.mcap_to_proportional_4y_rewards_peak,
            peak_month=figures.mcap_to_proportional_4y_rewards_peak_month,
            average=figures.mcap_to_proportional_4y_rewards_avg,
            history=history["mcap_to_proportional_4y_rewards"],
        ),
        share_history=history["listed_hashrate_share"],
    )


def _read(conn: duckdb.DuckDBPyConnection, month: date | None) -> NoteData:
    month = resolve_month(coverage(conn), month)
    figures = Figures(**_rows(conn, FIGURES_QUERY, month)[0])
    history = conn.execute(HISTORY_QUERY, {"month": month}).df()
    history["month"] = pd.to_datetime(history["month"])
    history = history.set_index("month")
    publications = _rows(conn, PUBLICATION_QUERY)
    if not publications:
        raise NoteError("publication_log is empty: the file was not written by the publish step")
    operations = [MinerOperations(**row) for row in _rows(conn, OPERATIONS_QUERY, month)]
    return NoteData(
        figures=figures,
        miners=[Miner(**row) for row in _rows(conn, MINERS_QUERY, month)],
        history=history,
        gauges=_gauges(figures, history),
        operations=_operations(figures, operations, history),
        publication=Publication(**publications[0]),
    )


def load(published_db: Path, month: date | None = None) -> NoteData:
    """The note's data for `month` (default: the latest complete month), read-only from the file."""
    if not published_db.exists():
        raise NoteError(f"no published file at {published_db}: run `make run` first")
    with duckdb.connect(str(published_db), read_only=True) as conn:
        return _read_published(conn, month, str(published_db))


def load_from_lake(lake: Lake, snapshot: int, month: date | None = None) -> NoteData:
    """The note's data for `month` as the lake's snapshot `snapshot` holds it (DuckLake time
    travel: the lake attached read-only at that version), by the same queries as from the file."""
    try:
        conn = connect_lake(lake, read_only=True, snapshot=snapshot)
    except LakeError as error:
        raise NoteError(str(error)) from error
    with conn:
        conn.execute(f"use {ALIAS}")
        return _read_published(conn, month, f"snapshot {snapshot} of the lake {lake.describe()}")


def _read_published(conn: duckdb.DuckDBPyConnection, month: date | None, what: str) -> NoteData:
    try:
        return _read(conn, month)
    except (duckdb.BinderException, duckdb.CatalogException) as exc:
        first_line = str(exc).splitlines()[0]
        raise NoteError(
            f"{what} does not have what the note reads ({first_line}); "
            "the table and column names are in orchestration/note/data.py"
        ) from exc
