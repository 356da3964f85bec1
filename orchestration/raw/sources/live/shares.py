"""Shares outstanding for the live source: SEC EDGAR figures, the analyst's overrides, staleness.

Overrides. `shares_overrides.csv` (ticker, as_of, shares) is kept by the analyst for miners whose
filings carry no cover-page figure (foreign private issuers filing 20-F/40-F/6-K) or carry a wrong
one. It follows the csv source's rules for shares_outstanding.csv and is typed by the raw
contract's rules (raw/text_values.py: the loader's checks and wording, without DuckDB, which
sources never touch), so a bad value is reported with the file, row, column and value. Where an override and an
SEC figure share (ticker, as_of), the override wins: it is the analyst's deliberate correction.

Gaps and staleness. A market cap needs a share count in force, so `staleness_warnings` names
* every member month (a month the ticker is listed in, per the universe, inside the range) without
  any figure dated on or before the month's end: the months where its market cap is missing. A
  figure from before the ticker's CIK changed (ciks.csv valid_from) does not count after the
  change: it is another company's count (HUT before the Hut 8 / USBTC merger);
* a miner whose latest figure on or before the end of the range (or its last listed day, if
  earlier) is more than 120 days old.
The data still loads: the warnings are for the lead to surface, not silent missing or stale caps.

Plan. `shares_plan` says, before any request, which tickers get their figures from where (ciks.csv
`shares_from`, the overrides), for a live run to print at its start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from orchestration.core.settings import SHARES_OVERRIDES_FILE as OVERRIDES_FILE
from orchestration.raw.contract import DATASETS
from orchestration.raw.sources.csv_files import read_text_csv
from orchestration.raw.sources.live.sec_edgar import CikRow
from orchestration.raw.text_values import typed_text_rows

STALE_AFTER_DAYS = 120


def read_overrides(path: Path) -> pd.DataFrame:
    """ticker, as_of, shares from the analyst's file, validated and typed like a raw load."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: shares overrides file not found (columns ticker, as_of, shares)")
    dataset = DATASETS["shares_outstanding"]
    typed = typed_text_rows(read_text_csv(path, dataset), dataset, origin=str(path))
    return typed[["ticker", "as_of", "shares"]]


def combine(reported: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """Reported figures and overrides, one row per (ticker, as_of), the override winning."""
    both = pd.concat([reported.assign(_override=False), overrides.assign(_override=True)])
    both["as_of"] = pd.to_datetime(both["as_of"])
    overrides_last = both.sort_values(["ticker", "as_of", "_override"], kind="stable")
    kept = overrides_last.drop_duplicates(["ticker", "as_of"], keep="last")
    return kept.drop(columns="_override").reset_index(drop=True)


def staleness_warnings(
    figures: pd.DataFrame,
    listed: Mapping[str, tuple[date, date]],
    switches: Mapping[str, Sequence[date]] | None = None,
) -> list[str]:
    """Per miner (`listed`: ticker -> its first and last member day in the range): its member
    months without a share figure, then whether its latest figure is stale. `switches`: ticker ->
    the days its CIK changed (figures before a change do not count after it)."""
    messages = []
    for ticker, (first_day, last_day) in listed.items():
        mine = figures.loc[figures["ticker"] == ticker, "as_of"]
        changes = sorted((switches or {}).get(ticker, ()))
        missing = [
            month for month, month_end in member_months(first_day, last_day) if not _covered(mine, changes, month_end)
        ]
        if missing:
            changed = [day for day in changes if day <= last_day]
            why = (
                f" (its CIK changed on {', '.join(map(str, changed))}: earlier figures are another company's)"
                if changed
                else ""
            )
            messages.append(
                f"{ticker}: no shares outstanding figure for member month(s) {month_ranges(missing)}{why}, so no "
                f"market cap for them; add figures to {OVERRIDES_FILE}"
            )
        usable = mine[mine <= pd.Timestamp(last_day)]
        if usable.empty:
            continue  # every month is named above
        latest = usable.max().date()
        age = (last_day - latest).days
        if age > STALE_AFTER_DAYS:
            messages.append(
                f"{ticker}: latest shares outstanding figure is from {latest}, {age} days before "
                f"{last_day} (more than {STALE_AFTER_DAYS}): its market cap is stale; add a recent "
                f"figure to {OVERRIDES_FILE}"
            )
    return messages


def member_months(first_day: date, last_day: date) -> list[tuple[date, date]]:
    """(first day, last member day) of each month from `first_day`'s to `last_day`'s."""
    months = []
    month = first_day.replace(day=1)
    while month <= last_day:
        following = (month + timedelta(days=32)).replace(day=1)
        months.append((month, min(following - timedelta(days=1), last_day)))
        month = following
    return months


def _covered(as_of: pd.Series, changes: Sequence[date], month_end: date) -> bool:
    since = max((day for day in changes if day <= month_end), default=None)
    inside = as_of <= pd.Timestamp(month_end)
    if since is not None:
        inside &= as_of >= pd.Timestamp(since)
    return bool(inside.any())


def month_ranges(months: Sequence[date]) -> str:
    """'2021-06..2023-11, 2024-02' from the first days of months, in order."""
    spans: list[list[date]] = []
    for month in months:
        if spans and (spans[-1][1] + timedelta(days=32)).replace(day=1) == month:
            spans[-1][1] = month
        else:
            spans.append([month, month])
    return ", ".join(f"{a:%Y-%m}" if a == b else f"{a:%Y-%m}..{b:%Y-%m}" for a, b in spans)


def cik_switches(ciks: Sequence[CikRow]) -> dict[str, list[date]]:
    """ticker -> the days a later CIK took over (the valid_from of every row but a ticker's first)."""
    starts: dict[str, list[date | None]] = {}
    for row in ciks:
        starts.setdefault(row.ticker, []).append(row.valid_from)
    return {
        ticker: sorted(days, key=lambda day: day or date.min)[1:] for ticker, days in starts.items() if len(days) > 1
    }


PLAN_SOURCES = {
    "companyfacts": "from SEC companyfacts",
    "filings": "from their filings' XBRL (multi-class)",
}


def shares_plan(ciks: Sequence[CikRow], overrides: pd.DataFrame, tickers: Sequence[str]) -> list[str]:
    """What a live run will ask for, per ticker, before asking: the first line groups the tickers
    by source (ciks.csv `shares_from`), the next ones name CIK changes, the tickers whose overrides
    also apply, and the tickers that will have no figure at all. Pure: no request, no file."""
    overridden = set(overrides["ticker"]) if "ticker" in overrides else set()
    groups: dict[str, list[str]] = {key: [] for key in (*PLAN_SOURCES, "overrides", "nothing")}
    notes = []
    for ticker in sorted(dict.fromkeys(tickers)):
        rows = sorted((row for row in ciks if row.ticker == ticker), key=lambda row: row.valid_from or date.min)
        asked = sorted({row.shares_from for row in rows} - {"none"}, key=list(PLAN_SOURCES).index)
        for source in asked:
            groups[source].append(ticker)
        if not asked:
            groups["overrides" if ticker in overridden else "nothing"].append(ticker)
        if len(rows) > 1:
            notes.append(f"shares_outstanding: {ticker} is {'; '.join(row.describe() for row in rows)}")
        if asked and ticker in overridden:
            notes.append(
                f"shares_outstanding: {ticker} also from {OVERRIDES_FILE} (an override wins on the same as_of)"
            )
    parts = []
    for source, how in PLAN_SOURCES.items():
        names = groups[source]
        if names:
            count = f"{len(names)} ticker{'s' if len(names) != 1 else ''} " if source == "companyfacts" else ""
            listed = f"({', '.join(names)})" if count else ", ".join(names)
            parts.append(f"{count}{how} {listed}" if count else f"{listed} {how}")
    if groups["overrides"]:
        parts.append(f"{', '.join(groups['overrides'])} from overrides only (no SEC cover figure)")
    if groups["nothing"]:
        parts.append(
            f"{', '.join(groups['nothing'])}: no share figures (neither an SEC cover figure nor a row in "
            f"{OVERRIDES_FILE})"
        )
    return [f"shares_outstanding: {'; '.join(parts) if parts else 'no tickers'}", *notes]
